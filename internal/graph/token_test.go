package graph_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"deputy/internal/graph"
	"deputy/internal/result"
)

func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + "." + enc([]byte("signature-not-checked-for-display"))
}

func TestCheckToken(t *testing.T) {
	now := time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC)
	claims := func(aud string, roles ...string) map[string]any {
		return map[string]any{"aud": aud, "tid": tenantID, "appid": appID, "roles": roles, "exp": now.Add(time.Hour).Unix(), "idtyp": "app"}
	}
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		rooms    bool
		status   result.Status
		code     string
		perm     graph.Permission
		rbacOnly bool
		want     []string // substrings of summary + remediation
	}{
		{"readwrite", claims(graph.Resource, "Calendars.ReadWrite"), false, result.Pass, "", graph.PermReadWrite, false, []string{"create, update and delete", "tenant-wide"}},
		{"readwrite by app id audience", claims(graph.ResourceAppID, "Calendars.ReadWrite", "Place.Read.All"), true, result.Pass, "", graph.PermReadWrite, false, nil},
		{"read only", claims(graph.Resource, "Calendars.Read"), false, result.Warn, "read-only-role", graph.PermRead, false, []string{"read every event in full; no changes", "Calendars.ReadWrite → Grant admin consent", "/adminconsent?client_id=" + appID}},
		{"read basic", claims(graph.Resource, "Calendars.ReadBasic"), false, result.Warn, "read-only-role", graph.PermReadBasic, false, []string{"free/busy and each event's subject"}},
		{"rooms without Place.Read.All", claims(graph.Resource, "Calendars.ReadWrite"), true, result.Warn, "no-place-role", graph.PermReadWrite, false, []string{"Place.Read.All → Grant admin consent"}},
		{"no roles: RBAC for Applications only", claims(graph.Resource), false, result.Warn, "no-calendar-role", graph.PermNone, true, []string{"RBAC for Applications", "New-ManagementRoleAssignment -App '" + appID + "' -Role 'Application Calendars.ReadWrite' -CustomResourceScope", "grants the app EVERY mailbox"}},
		{"wrong audience", claims("https://outlook.office365.com", "full_access_as_app"), false, result.Fail, "wrong-audience", graph.PermNone, false, []string{"not Microsoft Graph", graph.Scope}},
		{"delegated", map[string]any{"aud": graph.Resource, "scp": "Calendars.ReadWrite", "tid": tenantID}, false, result.Fail, "delegated-token", graph.PermNone, false, []string{"app-only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := jwt(t, tc.claims)
			c := graph.CheckToken(tok, tc.rooms, graph.Situation{AppName: "Deputy"}, now)
			if c.Status != tc.status || c.Code != tc.code || c.Permission != tc.perm || c.RBACOnly != tc.rbacOnly {
				t.Errorf("got %s %q %v rbacOnly=%v; want %s %q %v %v (%s)", c.Status, c.Code, c.Permission, c.RBACOnly, tc.status, tc.code, tc.perm, tc.rbacOnly, c.Summary)
			}
			all := c.Summary + "\n" + c.Remediation
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in:\n%s", w, all)
				}
			}
			if strings.Contains(all+strings.Join(c.Evidence, "\n"), tok) {
				t.Error("the token is quoted")
			}
		})
	}
	if c := graph.CheckToken("not-a-jwt", false, graph.Situation{}, now); c.Status != result.Fail || c.Class != result.AuthFailed {
		t.Errorf("malformed token: %+v", c)
	}
}

// TestRemediationQuoting: every value is one single-quoted PowerShell literal with ' doubled.
func TestRemediationQuoting(t *testing.T) {
	s := graph.Situation{AppID: appID, Mailbox: "o'brien@fabrikam.test", ScopeGroup: "CN=Graph Users,OU=O'Neil", Tenant: tenantID}
	for _, tc := range []struct {
		class result.Class
		sit   func(graph.Situation) graph.Situation
		want  []string
	}{
		{result.ImpersonationDenied, func(s graph.Situation) graph.Situation { s.AccessPolicy = true; return s },
			[]string{"Test-ApplicationAccessPolicy -Identity 'o''brien@fabrikam.test' -AppId '" + appID + "'", "30 minutes to a few hours"}},
		{result.ImpersonationDenied, func(s graph.Situation) graph.Situation { s.RBACOnly = true; return s },
			[]string{"Test-ServicePrincipalAuthorization -Identity '" + appID + "' -Resource 'o''brien@fabrikam.test'", "-RecipientRestrictionFilter 'MemberOfGroup -eq ''CN=Graph Users,OU=O''''Neil'''", "EVERY mailbox"}},
		{result.AccessDenied, func(s graph.Situation) graph.Situation { return s },
			[]string{"-Role 'Application Calendars.ReadWrite' -CustomResourceScope 'Graph-Calendar-App-Scope'", "/adminconsent?client_id="}},
		{result.AccessDenied, func(s graph.Situation) graph.Situation { s.Write = true; return s },
			[]string{"Reads work", "read-only grant"}},
		{result.NoMailbox, func(s graph.Situation) graph.Situation { return s }, []string{"on-premises", "licence", "guest", "New-MoveRequest -Identity 'o''brien@fabrikam.test'"}},
		{result.MailboxNotFound, func(s graph.Situation) graph.Situation { return s }, []string{"Get-EXORecipient -Identity 'o''brien@fabrikam.test'"}},
	} {
		got := graph.Remediation(tc.class, "ErrorAccessDenied", tc.sit(s))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: missing %q in:\n%s", tc.class, w, got)
			}
		}
		for _, line := range strings.Split(got, "\n")[1:] { // the commands (line 1 is prose)
			if strings.Contains(line, "o'brien") && !strings.Contains(line, "o''brien") {
				t.Errorf("%s: unquoted apostrophe in %q", tc.class, line)
			}
		}
	}
}
