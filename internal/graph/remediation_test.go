package graph_test

import (
	"strings"
	"testing"

	"deputy/internal/graph"
	"deputy/internal/result"
	"deputy/internal/setup"
)

const spObjectID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

// TestRemediationPointsToScript: every fix that sets up RBAC for Applications names the
// deputy-cli command that writes the whole set-up, with this app's values, and still
// carries the inline commands.
func TestRemediationPointsToScript(t *testing.T) {
	base := graph.Situation{AppID: appID, SPObjectID: spObjectID, Mailbox: "adele@contoso.com", ScopeGroup: "Graph Users", Tenant: tenantID}
	pointer := "# the whole set-up as one script"
	cmd := "deputy-cli script --kind exo-graph-rbac-apps --app-id '" + appID + "' --sp-object-id '" + spObjectID + "'"
	for _, tc := range []struct {
		name    string
		class   result.Class
		sit     func(graph.Situation) graph.Situation
		want    []string
		pointer bool
	}{
		{"out of scope", result.ImpersonationDenied, func(s graph.Situation) graph.Situation { return s },
			[]string{cmd + " --scope-group 'Graph Users' --verify-mailbox 'adele@contoso.com'", "New-ManagementRoleAssignment -App '" + appID + "'"}, true},
		{"access policy", result.ImpersonationDenied, func(s graph.Situation) graph.Situation { s.AccessPolicy = true; return s },
			[]string{cmd, "Test-ApplicationAccessPolicy -Identity 'adele@contoso.com'"}, true},
		{"no grant at all", result.AccessDenied, func(s graph.Situation) graph.Situation { return s },
			[]string{cmd, "-Role 'Application Calendars.ReadWrite' -CustomResourceScope 'Graph-Calendar-App-Scope'"}, true},
		{"read-only grant", result.AccessDenied, func(s graph.Situation) graph.Situation { s.Write = true; return s },
			[]string{cmd + " --scope-group 'Graph Users' --graph-role 'Calendars.ReadWrite'", "New-ManagementRoleAssignment -App"}, true},
		{"no IDs known: placeholders", result.AccessDenied, func(graph.Situation) graph.Situation { return graph.Situation{} },
			[]string{"--app-id '<application (client) ID>' --sp-object-id '<object ID from Entra ID > Enterprise applications>'"}, true},
		{"hybrid mailbox: not an RBAC problem", result.NoMailbox, func(s graph.Situation) graph.Situation { return s }, nil, false},
		{"throttled", result.Throttled, func(s graph.Situation) graph.Situation { return s }, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := graph.Remediation(tc.class, "ErrorAccessDenied", tc.sit(base))
			if strings.Contains(got, pointer) != tc.pointer {
				t.Fatalf("pointer present = %v, want %v:\n%s", !tc.pointer, tc.pointer, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
}

// TestRemediationMatchesScript: the names the inline commands use are the ones the
// generated script creates, so a fix and the script never describe two set-ups.
func TestRemediationMatchesScript(t *testing.T) {
	sc, err := setup.Generate(setup.EXOGraphRBACApps, setup.Input{AppID: appID, SPObjectID: spObjectID, ScopeGroup: "Graph Users"}, false)
	if err != nil {
		t.Fatal(err)
	}
	fix := graph.Remediation(result.AccessDenied, "", graph.Situation{AppID: appID, SPObjectID: spObjectID, ScopeGroup: "Graph Users"})
	for _, name := range []string{graph.GraphScopeName, graph.GraphAppRole} {
		if !strings.Contains(sc.Text, setup.Quote(name)) || !strings.Contains(fix, setup.Quote(name)) {
			t.Errorf("%q is not used by both the script and the remediation", name)
		}
	}
	if _, err := setup.ParseGraphRole(graph.GraphAppRole); err != nil {
		t.Errorf("remediation role %q is not one the script accepts: %v", graph.GraphAppRole, err)
	}
}

// TestRemediationHostileSituation: hostile values never add a line or leave their literal;
// the script pointer stays one comment line.
func TestRemediationHostileSituation(t *testing.T) {
	hostile := []string{
		"x'\n; Remove-Mailbox -Identity * #",
		"o’Brien’; Invoke-Expression evil ‘",
		"a\r\nStop-Computer",
		"x\u2028Set-Content evil",
	}
	for _, class := range []result.Class{result.ImpersonationDenied, result.AccessDenied} {
		for _, write := range []bool{false, true} {
			benign := graph.Remediation(class, "", graph.Situation{AppID: "v", SPObjectID: "v", ScopeGroup: "v", Mailbox: "v@x.test", Write: write})
			for _, h := range hostile {
				got := graph.Remediation(class, "", graph.Situation{AppID: h, SPObjectID: h, ScopeGroup: h, Mailbox: h, Write: write})
				if n, m := strings.Count(got, "\n"), strings.Count(benign, "\n"); n != m {
					t.Errorf("%s write=%v %q: %d lines, want %d:\n%s", class, write, h, n+1, m+1, got)
				}
				for _, line := range strings.Split(got, "\n")[1:] {
					if strings.Contains(line, "deputy-cli script") && !strings.HasPrefix(line, "# ") {
						t.Errorf("script pointer is not a comment: %q", line)
					}
					if strings.Contains(line, "--app-id") && !strings.Contains(line, "--app-id "+setup.Quote(h)) {
						t.Errorf("app ID not quoted in %q", line)
					}
				}
			}
		}
	}
}
