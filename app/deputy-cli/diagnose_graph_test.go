package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// TestDemoProtocolBoth: `demo --scenario exo-demo --protocol both` shows a realistic
// migration table, in JSON and for people.
func TestDemoProtocolBoth(t *testing.T) {
	code, out, errs := cli(t, nil, "", "demo", "--scenario", "exo-demo", "--protocol", "both", "--json", "--progress", "none")
	if code != exitFailed {
		t.Fatalf("exit %d (the demo has blockers: want 1)\n%s", code, errs)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	mg := r.Migration
	if r.Profile.Protocol != "both" || mg == nil || mg.BothReady == 0 || mg.EWSOnly == 0 || mg.GraphOnly == 0 || mg.Neither == 0 {
		t.Fatalf("profile %+v migration %+v", r.Profile, mg)
	}
	per := map[string]int{}
	for _, m := range r.Mailboxes {
		per[m.Protocol]++
	}
	if per[result.EWS] == 0 || per[result.EWS] != per[result.Graph] || per[""] != 0 {
		t.Errorf("entries per protocol %v", per)
	}
	if mg.BothReady+mg.EWSOnly+mg.GraphOnly+mg.Neither+mg.Untested != len(mg.Addresses) {
		t.Errorf("counts do not add up: %+v", mg)
	}

	code, human, _ := cli(t, nil, "", "demo", "--scenario", "exo-demo", "--protocol", "both", "--progress", "none")
	if code != exitFailed {
		t.Fatalf("exit %d", code)
	}
	if want := fmt.Sprintf("— %d mailboxes", len(mg.Addresses)); !strings.Contains(human, want+" (") || !strings.Contains(human, "each through EWS and Graph") {
		t.Errorf("summary line should count each address once (%q):\n%s", want, human[strings.LastIndex(human, "\n✘"):])
	}
	head := strings.SplitN(human, "\n\n", 2)[0]
	if !strings.Contains(head, "Migration EWS → Microsoft Graph") || !strings.Contains(head, "EWS only (blockers)") {
		t.Errorf("no migration counts at the top:\n%s", head)
	}
	for _, a := range mg.Addresses {
		if a.Verdict == impersonation.VerdictEWSOnly && !strings.Contains(human, a.Address+" ") {
			t.Errorf("EWS-only %s not listed", a.Address)
		}
	}
	if !strings.Contains(human, "fix before EWS ends on 1 April 2027") || !strings.Contains(human, "Test-ApplicationAccessPolicy -Identity") {
		t.Errorf("blocker section or its fix missing:\n%s", human)
	}
}

// TestDiagnoseGraphAgainstSim: diagnose --protocol graph against `sim --scenario
// exo-demo`, the client secret from stdin; neither the secret nor a token in the output.
func TestDiagnoseGraphAgainstSim(t *testing.T) {
	s := startEXOSim(t)
	args := []string{"diagnose", "--auth", "oauth-app-secret", "--password-stdin", "--tenant", s.Tenant, "--client-id", s.ClientID,
		"--authority", s.Authority, "--pin-sha256", s.SHA256, "--protocol", "graph", "--rooms", "--write-test", "--json", "--trace", "--progress", "none",
		"anna.berg@fabrikam.test", "mia.wong@fabrikam.test", "tom.hall@fabrikam.test"}
	code, out, errs := cli(t, nil, s.ClientSecret+"\n", args...)
	if code != exitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, errs, out)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range r.Mailboxes {
		if m.Protocol != result.Graph {
			t.Errorf("%s: protocol %q", m.Address, m.Protocol)
		}
		got[m.Address] = string(m.Class) + "/" + m.Code
	}
	for a, w := range map[string]string{"anna.berg@fabrikam.test": "ok/", "mia.wong@fabrikam.test": "impersonation-denied/ErrorAccessDenied",
		"tom.hall@fabrikam.test": "no-mailbox/MailboxNotEnabledForRESTAPI", "room-atlas@fabrikam.test": "ok/"} {
		if got[a] != w {
			t.Errorf("%s: %s, want %s", a, got[a], w)
		}
	}
	if strings.Contains(out, s.ClientSecret) || strings.Contains(errs, s.ClientSecret) || strings.Contains(out, "eyJ") {
		t.Error("a secret or a token reached the output")
	}
	for _, bad := range [][]string{
		{"--protocol", "graph", "--auth", "basic", "--user", "u@fabrikam.test"},
		{"--protocol", "rest"},
	} {
		a := append([]string{"diagnose", "--url", s.URL, "--pin-sha256", s.SHA256, "anna.berg@fabrikam.test"}, bad...)
		if code, _, errs := cli(t, map[string]string{"DEPUTY_PASSWORD": "x"}, "", a...); code != exitUsage || !strings.Contains(errs, "--protocol") {
			t.Errorf("%v: exit %d, %s", bad, code, errs)
		}
	}
	if code, _, _ := cli(t, nil, "", "demo", "--protocol", "graph"); code != exitUsage {
		t.Errorf("on-premises demo with Graph: exit %d", code)
	}
}

// TestHumanHeaderNamesWhatWasTested: a Graph-only run does not show an EWS URL it never
// used; a both run names both.
func TestHumanHeaderNamesWhatWasTested(t *testing.T) {
	const ews = "https://outlook.office365.com/EWS/Exchange.asmx"
	tests := []struct {
		protocol, want, not string
	}{
		{"", ews + " (Exchange Online", "Graph"},
		{impersonation.ProtocolEWS, ews + " (Exchange Online", "Graph"},
		{impersonation.ProtocolGraph, "— Microsoft Graph (Exchange Online", ews},
		{impersonation.ProtocolBoth, ews + " and Microsoft Graph (", ""},
	}
	for _, tt := range tests {
		var b strings.Builder
		printHuman(&b, &result.Result{Profile: result.Profile{Environment: result.EXO, EWSURL: ews, Auth: "oauth-app-cert", Protocol: tt.protocol}})
		head, _, _ := strings.Cut(b.String(), "\n")
		if !strings.Contains(head, tt.want) || (tt.not != "" && strings.Contains(head, tt.not)) {
			t.Errorf("protocol %q: header %q, want %q without %q", tt.protocol, head, tt.want, tt.not)
		}
	}
}
