package ews_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"deputy/internal/ews"
	"deputy/internal/exchangesim"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// TestAgainstSimulator: this client and the simulated Exchange are independent
// implementations of the same documents; every demo mailbox must be classified as the
// simulator says it answers. A disagreement is a bug in one of the two.
func TestAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	sc := exchangesim.Demo(0)
	srv, err := exchangesim.Start(sc, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hc, err := transport.NewClient(transport.Options{
		TLS:     transport.TLSOptions{PinSHA256: srv.SHA256},
		Auth:    transport.Auth{Scheme: "basic", User: srv.User, Password: srv.Password},
		Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &ews.Client{URL: srv.URL, HTTP: hc, Version: ews.NewVersion("")}
	targets := sc.Targets()
	if len(targets) < 10 {
		t.Fatalf("demo has %d targets", len(targets))
	}
	seen := map[result.Class]int{}
	for _, addr := range targets {
		want := sc.ExpectClass(addr)
		t.Run(addr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			var err error
			for try := 0; try < 3; try++ { // the demo throttles one mailbox once
				_, err = c.GetFolder(ctx, addr, "msgfolderroot", "calendar")
				var e *ews.Error
				if !errors.As(err, &e) || e.Class != result.Throttled || sc.Expect(addr) == "ErrorServerBusy" {
					break
				}
			}
			got := result.OK
			var e *ews.Error
			if err != nil {
				if !errors.As(err, &e) {
					t.Fatalf("error %T %v is not *ews.Error", err, err)
				}
				got = e.Class
			}
			seen[got]++
			if string(got) != want {
				t.Errorf("class %s, simulator says %s (%v)", got, want, err)
			}
			if code := sc.Expect(addr); code != "" && code != "NoError" && (e == nil || e.Code != code) {
				t.Errorf("code %v, simulator says %s", err, code)
			}
		})
	}
	t.Logf("classes seen: %v; server %s", seen, c.ServerVersion())
	if len(seen) < 12 {
		t.Errorf("only %d classes seen; the demo covers every class", len(seen))
	}
	// The mailbox on a legacy server answered version errors; the others keep the schema.
	if v := c.Version.Get(); v != ews.DefaultVersion {
		t.Errorf("shared version moved to %s because of one mailbox", v)
	}
}

func simClient(t *testing.T, srv *exchangesim.Server, scheme string, v *ews.Version) *ews.Client {
	t.Helper()
	user := srv.User
	if scheme == "ntlm" {
		user = srv.Domain + `\` + strings.Split(srv.User, "@")[0]
	}
	auth := transport.Auth{Scheme: scheme, User: user, Password: srv.Password}
	if scheme == "" {
		auth = transport.Auth{}
	}
	hc, err := transport.NewClient(transport.Options{
		TLS:     transport.TLSOptions{PinSHA256: srv.SHA256},
		Auth:    auth,
		Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &ews.Client{URL: srv.URL, HTTP: hc, Version: v}
}

// TestSimulatorRoomsWriteAuth: rooms, the write test, the unauthenticated probe and NTLM
// connection reuse against the simulator.
func TestSimulatorRoomsWriteAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the simulator")
	}
	sc := exchangesim.Demo(0)
	srv, err := exchangesim.Start(sc, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	c := simClient(t, srv, "basic", ews.NewVersion(""))

	lists, err := c.GetRoomLists(ctx)
	if err != nil || len(lists) != len(sc.RoomLists) {
		t.Fatalf("GetRoomLists = %v, %v; scenario has %d lists", lists, err, len(sc.RoomLists))
	}
	var rooms []ews.Address
	for i, l := range lists {
		rs, err := c.GetRooms(ctx, l.Email)
		if err != nil || len(rs) != len(sc.RoomLists[i].Rooms) {
			t.Fatalf("GetRooms(%s) = %v, %v", l.Email, rs, err)
		}
		rooms = append(rooms, rs...)
	}
	for _, r := range rooms {
		_, err := c.GetFolder(ctx, r.Email, "calendar")
		got, want := classOf(err), sc.ExpectClass(r.Email)
		if string(got) != want {
			t.Errorf("room %s: class %s, simulator says %s (%v)", r.Email, got, want, err)
		}
	}
	if _, err := c.GetRooms(ctx, "nolist@fabrikam.test"); err == nil {
		t.Error("GetRooms of an unknown list succeeded")
	}

	// Write test: nothing left behind.
	target := sc.Targets()[0]
	now := time.Now()
	id, err := c.CreateCalendarItem(ctx, target, ews.CalendarItem{Subject: "Deputy test", Body: "x", Start: now, End: now.Add(15 * time.Minute)})
	if err != nil || srv.Items(target) != 1 {
		t.Fatalf("CreateCalendarItem = %v, %v; items %d", id, err, srv.Items(target))
	}
	if err := c.DeleteItem(ctx, target, id); err != nil || srv.LeftItems() != 0 {
		t.Fatalf("DeleteItem: %v; %d items left", err, srv.LeftItems())
	}
	if err := c.ConvertId(ctx); err != nil {
		t.Errorf("ConvertId: %v", err)
	}

	// Unauthenticated: 401 naming the schemes.
	_, err = simClient(t, srv, "", nil).GetFolder(ctx, "")
	var e *ews.Error
	if !errors.As(err, &e) || e.Class != result.AuthFailed || len(e.AuthSchemes) == 0 {
		t.Fatalf("unauthenticated: %v", err)
	}

	// NTLM: one handshake for many requests — the client drains and reuses the connection.
	srv.ResetCounters()
	nc := simClient(t, srv, "ntlm", ews.NewVersion(""))
	for i, addr := range sc.Targets()[:10] {
		if _, err := nc.GetFolder(ctx, addr, "msgfolderroot"); classOf(err) != result.Class(sc.ExpectClass(addr)) {
			t.Fatalf("NTLM request %d (%s): %v", i, addr, err)
		}
	}
	if cnt := srv.Counters(); cnt.NTLMHandshakes != 1 || cnt.Conns != 1 {
		t.Errorf("10 NTLM requests took %d handshakes on %d connections, want 1 and 1", cnt.NTLMHandshakes, cnt.Conns)
	}
}

func classOf(err error) result.Class {
	if err == nil {
		return result.OK
	}
	var e *ews.Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}
