package result

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONHasTheSchemaFields: the fields deputy.diagnostics/v1 lists are present even
// when empty, so strict readers find them; evidence is an array, never null.
func TestJSONHasTheSchemaFields(t *testing.T) {
	b, err := json.Marshal(Result{
		Schema: Schema,
		Checks: []Check{{ID: CheckTLS, Title: "TLS", Status: Pass, Summary: "ok"}},
		Mailboxes: []Mailbox{{Address: "a@contoso.com", Kind: KindUser, Status: Pass, Class: OK,
			Read: Pass, Write: Skip}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Checks    []map[string]json.RawMessage `json:"checks"`
		Mailboxes []map[string]json.RawMessage `json:"mailboxes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "title", "status", "summary", "remediation", "evidence"} {
		if _, ok := doc.Checks[0][k]; !ok {
			t.Errorf("check lacks %q: %s", k, b)
		}
	}
	if ev := string(doc.Checks[0]["evidence"]); ev != "[]" {
		t.Errorf("evidence = %s, want []", ev)
	}
	for _, k := range strings.Fields("address kind status class code message read write latencyMs attempts backoffMs") {
		if _, ok := doc.Mailboxes[0][k]; !ok {
			t.Errorf("mailbox lacks %q: %s", k, b)
		}
	}
}

func TestKindSplit(t *testing.T) {
	mb := func(kind string) Mailbox { return Mailbox{Kind: kind} }
	tests := []struct {
		mbx  []Mailbox
		want string
	}{
		{nil, ""},
		{[]Mailbox{mb(KindUser), mb(KindUser)}, ""},
		{[]Mailbox{mb(KindUser), mb(KindRoom), mb(KindUser), mb(KindRoom)}, " (2 users, 2 rooms)"},
	}
	for _, tt := range tests {
		if got := (&Result{Mailboxes: tt.mbx}).KindSplit(); got != tt.want {
			t.Errorf("%d mailboxes: %q, want %q", len(tt.mbx), got, tt.want)
		}
	}
}

// TestAddressesCountsEachMailboxOnce: with both protocols each address has two rows;
// Addresses counts it once and tallies each protocol apart.
func TestAddressesCountsEachMailboxOnce(t *testing.T) {
	row := func(a, kind, proto string, st Status) Mailbox {
		return Mailbox{Address: a, Kind: kind, Protocol: proto, Status: st}
	}
	r := &Result{Mailboxes: []Mailbox{
		row("a@x.test", KindUser, EWS, Pass), row("A@x.test", KindUser, Graph, Fail),
		row("room@x.test", KindRoom, EWS, Pass), row("room@x.test", KindRoom, Graph, Pass),
		row("b@x.test", KindUser, EWS, Warn),
	}}
	n, kinds, ews, graph := r.Addresses()
	if n != 3 || kinds != " (2 users, 1 room)" {
		t.Errorf("addresses %d %q, want 3 (2 users, 1 room)", n, kinds)
	}
	if ews != (Summary{Mailboxes: 3, Passed: 2, Warned: 1}) || graph != (Summary{Mailboxes: 2, Passed: 1, Failed: 1}) {
		t.Errorf("ews %+v graph %+v", ews, graph)
	}
	if all := ews.Plus(graph); all.Mailboxes != 5 || all.Passed != 3 {
		t.Errorf("plus: %+v", all)
	}
}
