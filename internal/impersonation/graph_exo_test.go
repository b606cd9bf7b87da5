package impersonation_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// exoBoth is the exo-demo with its Graph side, diagnosed with --protocol both: EWS and
// Graph tokens both through MSAL (internal/oauth) from the fake Entra ID.
func exoBoth(t *testing.T) (impersonation.Config, *graphsim.Sim, *oauth.Source) {
	t.Helper()
	x, err := exchangesim.EXODemo()
	if err != nil {
		t.Fatal(err)
	}
	graphsim.PrepareEXODemo(x)
	s, err := exchangesim.StartEXO(x, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sim, err := graphsim.MountEXO(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	source := func(resource string) *oauth.Source {
		src, err := oauth.NewSource(oauth.Config{Mode: oauth.ModeAppSecret, Authority: s.Authority, HTTPClient: hc, Tenant: s.Tenant,
			ClientID: x.ClientID, Secret: x.ClientSecret, Resource: resource})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	gsrc := source(oauth.ResourceGraph)
	return impersonation.Config{
		Profile:    result.Profile{Name: "exo-demo"},
		Protocol:   impersonation.ProtocolBoth,
		URL:        s.URL,
		OAuth:      source(oauth.ResourceEWS),
		GraphURL:   s.Authority,
		GraphToken: gsrc.Token,
		TLS:        transport.TLSOptions{PinSHA256: s.SHA256},
		Mailboxes:  x.Targets(),
		CheckRooms: true,
		WriteTest:  true,
		Trace:      true,
		Timeout:    5 * time.Second,
		Now:        func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
	}, sim, gsrc
}

// TestEXOMigrationBoth: the exo-demo with --protocol both gives every verdict, each for
// the reason the scenario sets up, and no token of either resource in the output.
func TestEXOMigrationBoth(t *testing.T) {
	cfg, sim, gsrc := exoBoth(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{result.CheckToken, impersonation.CheckGraphToken, result.CheckImpersonation,
		impersonation.CheckGraphImpersonation, impersonation.CheckGraphWrite, impersonation.CheckGraphRooms} {
		check(t, r, id)
	}
	if c := check(t, r, impersonation.CheckGraphToken); c.Status != result.Warn || c.Code != "no-calendar-role" {
		t.Errorf("graph-token: %s %s %s", c.Status, c.Code, c.Summary)
	}
	mg := r.Migration
	if mg == nil {
		t.Fatal("no migration view")
	}
	verdict := map[string]string{}
	for _, a := range mg.Addresses {
		verdict[strings.SplitN(a.Address, "@", 2)[0]] = a.Verdict + "/" + string(a.EWS) + "/" + string(a.Graph)
	}
	for local, want := range map[string]string{
		"anna.berg":      "both-ready/ok/ok",
		"mia.wong":       "ews-only/ok/impersonation-denied", // outside the Graph RBAC scope
		"luca.rossi":     "ews-only/ok/impersonation-denied", // [RAOP]
		"oslo.frontdesk": "ews-only/ok/no-mailbox",           // on-premises in the hybrid
		"ceo":            "graph-only/impersonation-denied/ok",
		"gone.user":      "neither/mailbox-not-found/mailbox-not-found",
	} {
		if verdict[local] != want {
			t.Errorf("%s: %s, want %s", local, verdict[local], want)
		}
	}
	// Every address was checked by both protocols: none is left untested.
	if v := verdict["room-board"]; !strings.HasPrefix(v, "graph-only/") {
		t.Errorf("room-board: %s, want graph-only", v)
	}
	if mg.BothReady == 0 || mg.EWSOnly != 4 || mg.GraphOnly < 3 || mg.Neither == 0 || mg.Untested != 0 ||
		mg.BothReady+mg.EWSOnly+mg.GraphOnly+mg.Neither+mg.Untested != len(mg.Addresses) {
		t.Errorf("counts: %d both, %d ews-only, %d graph-only, %d neither, %d untested of %d", mg.BothReady, mg.EWSOnly, mg.GraphOnly, mg.Neither, mg.Untested, len(mg.Addresses))
	}
	if sim.LeftEvents() != 0 || sim.Counters().EventsDeleted == 0 {
		t.Errorf("write test: %d left, %d deleted", sim.LeftEvents(), sim.Counters().EventsDeleted)
	}
	js, _ := json.Marshal(r)
	gt, _ := gsrc.Token(ctx)
	et, _ := cfg.OAuth.Token(ctx)
	for name, tok := range map[string]string{"graph": gt, "ews": et} {
		if tok == "" || strings.Contains(string(js), tok) || strings.Contains(string(js), tok[strings.LastIndexByte(tok, '.')+1:]) {
			t.Errorf("%s token in the result (or no token at all)", name)
		}
	}
}
