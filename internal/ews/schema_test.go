package ews

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const strictXSD = "testdata/ews-schema/ews-envelope-strict.xsd"

// oddAddresses exercise escaping in the impersonation header (and X-AnchorMailbox).
var oddAddresses = []string{
	"",
	"alice@contoso.com",
	"o'brien&co<x>@contoso.com",
	`"quoted>name"@contoso.com`,
	"jürgen.müller@bücher.example",
	"a]]>b@contoso.com",
}

func xmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils; `make test` does): cannot validate requests against Microsoft's schema")
	}
	return p
}

// validate runs xmllint on files at once and returns per-file failures.
func validate(t *testing.T, lint string, files []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--noout", "--schema", strictXSD}, files...)
	out, err := exec.CommandContext(ctx, lint, args...).CombinedOutput()
	return string(out), err
}

// TestRequestsValidateAgainstSchema sends every request kind through the Client to a
// real HTTPS server, captures the bytes on the wire and validates them with xmllint
// against Microsoft's messages.xsd/types.xsd inside a closed SOAP envelope.
func TestRequestsValidateAgainstSchema(t *testing.T) {
	lint := xmllint(t)
	rs := newReplayServer(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	for _, version := range []string{"Exchange2013_SP1", "Exchange2010"} {
		c := rs.client()
		c.Version = NewVersion(version)
		for _, as := range oddAddresses {
			if _, err := c.GetFolder(ctx, as, "msgfolderroot", "calendar"); err != nil {
				t.Fatalf("GetFolder(%q): %v", as, err)
			}
			it := CalendarItem{Subject: "Deputy write test <&> 'probe' (safe to delete)", Body: "Created by Deputy & deleted at once.\n\"ok\"",
				Start: start, End: start.Add(15 * time.Minute)}
			if _, err := c.CreateCalendarItem(ctx, as, it); err != nil {
				t.Fatalf("CreateCalendarItem(%q): %v", as, err)
			}
			if err := c.DeleteItem(ctx, as, ItemID{ID: "AAMkA<&>'\"=", ChangeKey: "DwAAA&"}); err != nil {
				t.Fatalf("DeleteItem(%q): %v", as, err)
			}
			if err := c.DeleteItem(ctx, as, ItemID{ID: "AAMkA"}); err != nil {
				t.Fatalf("DeleteItem without ChangeKey (%q): %v", as, err)
			}
			if _, err := c.GetRoomListsAs(ctx, as); err != nil {
				t.Fatalf("GetRoomListsAs(%q): %v", as, err)
			}
			if _, err := c.GetRoomsAs(ctx, as, "RoomList@contoso.com"); err != nil {
				t.Fatalf("GetRoomsAs(%q): %v", as, err)
			}
		}
		if _, err := c.GetRoomLists(ctx); err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"RoomList@contoso.com", "rooms&'<x>@contoso.com"} {
			if _, err := c.GetRooms(ctx, list); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.ConvertId(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.ConvertId(ctx, "o'brien&co<x>@contoso.com"); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rs.requests()
	dir := t.TempDir()
	var files []string
	kinds := map[string]int{}
	for i, r := range reqs {
		f := filepath.Join(dir, fmt.Sprintf("req-%03d-%s.xml", i, operation(r.Body)))
		if err := os.WriteFile(f, r.Body, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		kinds[operation(r.Body)]++
	}
	for _, op := range []string{"GetFolder", "CreateItem", "DeleteItem", "GetRoomLists", "GetRooms", "ConvertId"} {
		if kinds[op] == 0 {
			t.Errorf("no %s request captured", op)
		}
	}
	out, err := validate(t, lint, files)
	if err != nil {
		t.Fatalf("requests do not validate against the EWS schema: %v\n%s", err, out)
	}
	if n := strings.Count(out, " validates"); n != len(files) {
		t.Fatalf("xmllint confirmed %d of %d files:\n%s", n, len(files), out)
	}
	t.Logf("%d requests (%v) validate against %s", len(files), kinds, strictXSD)
}

// TestSchemaRejectsInvalid proves the validation above can fail: requests with one
// realistic mistake each must be rejected.
func TestSchemaRejectsInvalid(t *testing.T) {
	lint := xmllint(t)
	good := envelope("Exchange2013_SP1", "alice@contoso.com", createCalendarItemBody(CalendarItem{
		Subject: "x", Start: time.Unix(0, 0), End: time.Unix(60, 0)}))
	mutations := []struct{ name, from, to string }{
		{"end before start in the sequence", "<t:Start>1970-01-01T00:00:00Z</t:Start><t:End>1970-01-01T00:01:00Z</t:End>",
			"<t:End>1970-01-01T00:01:00Z</t:End><t:Start>1970-01-01T00:00:00Z</t:Start>"},
		{"unknown version", `Version="Exchange2013_SP1"`, `Version="Exchange2099"`},
		{"https soap namespace (docs quirk)", `xmlns:soap="http://`, `xmlns:soap="https://`},
		{"empty impersonation", "<t:SmtpAddress>alice@contoso.com</t:SmtpAddress>", ""},
		{"invalid SendMeetingInvitations value", `SendMeetingInvitations="SendToNone"`, `SendMeetingInvitations="Never"`},
	}
	// One xmllint run for all files: loading the schema dominates (≈0.3 s a run).
	dir := t.TempDir()
	good0 := filepath.Join(dir, "good.xml")
	os.WriteFile(good0, good, 0o600)
	files := []string{good0}
	for i, m := range mutations {
		bad := strings.Replace(string(good), m.from, m.to, 1)
		if bad == string(good) {
			t.Fatalf("mutation %q did not apply", m.from)
		}
		f := filepath.Join(dir, fmt.Sprintf("bad%d.xml", i))
		os.WriteFile(f, []byte(bad), 0o600)
		files = append(files, f)
	}
	out, err := validate(t, lint, files)
	if err == nil {
		t.Fatalf("xmllint accepted every file:\n%s", out)
	}
	// The unmutated original passes, so each rejection is about its mutation.
	if !strings.Contains(out, good0+" validates") {
		t.Fatalf("original rejected:\n%s", out)
	}
	for i, m := range mutations {
		if !strings.Contains(out, files[i+1]+" fails to validate") {
			t.Errorf("invalid request (%s) accepted:\n%s", m.name, out)
		}
	}
}
