package setup

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"deputy/internal/result"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.ps1")

const (
	appID = "11111111-2222-3333-4444-555555555555"
	spID  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

var goldenCases = []struct {
	name string
	kind Kind
	in   Input
	undo bool
}{
	{"onprem-orgwide", OnPremOrgWide, Input{Exchange: "2019", Account: "svc-ews@contoso.com", VerifyMailbox: "adele@contoso.com"}, false},
	{"onprem-orgwide-undo", OnPremOrgWide, Input{Account: "svc-ews@contoso.com"}, true},
	{"onprem-scoped-group", OnPremScoped, Input{Exchange: "SE", Account: `CONTOSO\svc-ews`, ScopeGroup: "CN=EWS Targets,OU=Groups,DC=contoso,DC=com", VerifyMailbox: "adele@contoso.com", Rooms: true}, false},
	{"onprem-scoped-filter", OnPremScoped, Input{Account: "svc-ews@contoso.com", ScopeFilter: "Department -eq 'Sales'"}, false},
	{"onprem-scoped-members", OnPremScoped, Input{Account: "svc-ews@contoso.com", Members: []string{"adele@contoso.com", "alex@contoso.com", "Adele@contoso.com", "room-1@contoso.com"}}, false},
	{"onprem-scoped-undo", OnPremScoped, Input{Account: "svc-ews@contoso.com"}, true},
	{"onprem-rolegroup", OnPremRoleGroup, Input{Account: "svc-ews@contoso.com"}, false},
	{"onprem-rolegroup-scoped", OnPremRoleGroup, Input{Account: "svc-ews@contoso.com", ScopeGroup: "EWS Targets"}, false},
	{"onprem-rolegroup-undo", OnPremRoleGroup, Input{Account: "svc-ews@contoso.com"}, true},
	{"exo-rbac-apps", EXORBACApps, Input{AppID: appID, SPObjectID: spID, ScopeGroup: "EWS Targets", VerifyMailbox: "adele@contoso.com"}, false},
	{"exo-rbac-apps-unscoped", EXORBACApps, Input{AppID: appID, SPObjectID: spID}, false},
	{"exo-rbac-apps-undo", EXORBACApps, Input{AppID: appID, SPObjectID: spID}, true},
	{"exo-graph-rbac-apps", EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeGroup: "CN=Graph Targets,OU=Groups,DC=contoso,DC=com", VerifyMailbox: "adele@contoso.com", Rooms: true}, false},
	{"exo-graph-rbac-apps-filter-read", EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeFilter: "Department -eq 'Sales'", GraphRole: "calendars.read"}, false},
	{"exo-graph-rbac-apps-members", EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, Members: []string{"adele@contoso.com", "room-1@contoso.com"}, GraphRole: "Application Calendars.ReadBasic"}, false},
	{"exo-graph-rbac-apps-unscoped", EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID}, false},
	{"exo-graph-rbac-apps-undo", EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID}, true},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Generate(tc.kind, tc.in, tc.undo)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tc.name+".ps1")
			got := s.Bytes()
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; rerun with -update after checking the change.\n%s", path, firstDiff(string(want), string(got)))
			}
			checkScript(t, s)
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

var (
	mutating = regexp.MustCompile(`^\s*(\$\w+ = )?(New|Set|Add|Remove|Enable)-(\w+)`)
	newVerb  = regexp.MustCompile(`(?m)^\s*(?:\$\w+ = )?New-(\w+)`)
)

// checkScript asserts the properties every script must have.
func checkScript(t *testing.T, s *Script) {
	t.Helper()
	b := s.Bytes()
	if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Error("no UTF-8 BOM")
	}
	if bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) || bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) {
		t.Error("line endings are not all CRLF")
	}
	text := s.Text
	for _, must := range []string{"#Requires -Version 5.1", "[CmdletBinding(SupportsShouldProcess)]\nparam()", "Set-StrictMode -Version Latest", "$ErrorActionPreference = 'Stop'", "# --- Verification"} {
		if !strings.Contains(text, must) {
			t.Errorf("missing %q", must)
		}
	}
	if (s.Kind == EXORBACApps || s.Kind == EXOGraphRBACApps) && !strings.Contains(text, "#Requires -Modules ExchangeOnlineManagement") {
		t.Error("EXO script does not require ExchangeOnlineManagement")
	}
	lines := strings.Split(text, "\n")
	// [CmdletBinding()] must be the first statement: only comments and blank lines before it.
	for _, l := range lines {
		tl := strings.TrimSpace(l)
		if tl == "" || strings.HasPrefix(tl, "#") {
			continue
		}
		if tl != "[CmdletBinding(SupportsShouldProcess)]" {
			t.Errorf("first statement is %q, want [CmdletBinding(SupportsShouldProcess)]", tl)
		}
		break
	}
	// Every change runs only when ShouldProcess says so (that is how -WhatIf passes through).
	for i, l := range lines {
		if !mutating.MatchString(l) || strings.Contains(l, "Set-StrictMode") {
			continue
		}
		ind := indent(l)
		ok := false
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" || indent(lines[j]) >= ind {
				continue
			}
			ok = strings.Contains(lines[j], "ShouldProcess")
			break
		}
		if !ok {
			t.Errorf("line %d changes something outside a ShouldProcess block: %s", i+1, strings.TrimSpace(l))
		}
	}
	// Idempotent: every New-X is preceded by a Get-X that looks first.
	for _, m := range newVerb.FindAllStringSubmatchIndex(text, -1) {
		noun := text[m[2]:m[3]]
		if !regexp.MustCompile(`\bGet-` + noun + `\b`).MatchString(text[:m[0]]) {
			t.Errorf("New-%s without a Get-%s before it", noun, noun)
		}
	}
	_, code, err := psScan(text)
	if err != nil {
		t.Fatalf("does not lex: %v", err)
	}
	for _, p := range [][2]string{{"{", "}"}, {"(", ")"}, {"[", "]"}} {
		if strings.Count(code, p[0]) != strings.Count(code, p[1]) {
			t.Errorf("unbalanced %s%s in code", p[0], p[1])
		}
	}
	if strings.Contains(text, "\t") {
		t.Error("tabs in script")
	}
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func TestScriptContent(t *testing.T) {
	tests := []struct {
		kind  Kind
		in    Input
		undo  bool
		want  []string
		avoid []string
	}{
		{OnPremOrgWide, Input{Account: "svc-ews@contoso.com"}, false,
			[]string{"$Account = 'svc-ews@contoso.com'", "New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $Account |", "discourages"},
			[]string{"CustomRecipientWriteScope $ScopeName"}},
		{OnPremScoped, Input{Account: "svc-ews@contoso.com", ScopeGroup: "EWS Targets"}, false,
			[]string{"$TargetGroup = 'EWS Targets'", "MemberOfGroup -eq '{0}'", "New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $filter", "-CustomRecipientWriteScope $ScopeName", "Get-ManagementScope -Identity $ScopeName"}, nil},
		{OnPremScoped, Input{Account: "svc-ews@contoso.com", ScopeFilter: "Department -eq 'Sales'"}, false,
			[]string{"$Filter = 'Department -eq ''Sales'''"}, []string{"$TargetGroup"}},
		{OnPremScoped, Input{Account: "svc-ews@contoso.com", ScopeGroup: "App Targets", Members: []string{"a@contoso.com", "A@contoso.com", "b@contoso.com"}}, false,
			[]string{"$TargetGroup = 'App Targets'", "    'a@contoso.com'\n    'b@contoso.com'\n)", "New-DistributionGroup -Name $TargetGroup -Type Security", "Add-DistributionGroupMember"},
			[]string{"'A@contoso.com'"}},
		{OnPremRoleGroup, Input{Account: "svc-ews@contoso.com"}, false,
			[]string{"New-RoleGroup -Name $RoleGroupName -Roles 'ApplicationImpersonation'", "'View-Only Configuration'", "Add-RoleGroupMember", "$RoleGroupName = 'EWS Impersonation'"},
			[]string{"-CustomRecipientWriteScope $ScopeName -Description"}},
		{EXORBACApps, Input{AppID: strings.ToUpper(appID), SPObjectID: spID, ScopeFilter: "Department -eq 'Sales'", VerifyMailbox: "adele@contoso.com"}, false,
			[]string{"$AppId = '" + appID + "'", "New-ServicePrincipal -AppId $AppId -ObjectId $ServicePrincipalId", "$RoleName = 'Application EWS.AccessAsApp'",
				"-CustomResourceScope $ScopeName", "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy", "Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($new -join ',')",
				"$ids -contains $AppId", "Test-ServicePrincipalAuthorization -Identity $AppId -Resource $VerifyMailbox", "full_access_as_app", "Enterprise applications", "1 April 2027"},
			[]string{"ApplicationImpersonation -User"}},
		{EXORBACApps, Input{AppID: appID, SPObjectID: spID}, true,
			[]string{"Remove-ManagementRoleAssignment", "Remove-ServicePrincipal", "an empty list would allow every app", "Set-OrganizationConfig -EwsAllowedAppIDs ($rest -join ',')"},
			[]string{"Set-OrganizationConfig -EwsAllowedAppIDs $null", "New-ServicePrincipal ", "New-ManagementRoleAssignment "}},
		{OnPremScoped, Input{Account: "svc-ews@contoso.com"}, true,
			[]string{"Remove-ManagementRoleAssignment -Identity $AssignmentName -Confirm:$false", "Remove-ManagementScope", "still used by"}, []string{"New-ManagementRoleAssignment ", "New-ManagementScope ", "Remove-DistributionGroup "}},
		{OnPremRoleGroup, Input{Account: "svc-ews@contoso.com"}, true,
			[]string{"Remove-RoleGroup -Identity $RoleGroupName"}, []string{"New-RoleGroup ", "New-ManagementRoleAssignment "}},
		{OnPremOrgWide, Input{Exchange: "2016", Account: "svc-ews@contoso.com"}, false, []string{"out of support since 14 October 2025"}, nil},
		// Graph: the role, the scope, the verification, the consent and cache notes; no EWS allow-list.
		{EXOGraphRBACApps, Input{AppID: strings.ToUpper(appID), SPObjectID: spID, ScopeGroup: "Graph Targets", VerifyMailbox: "adele@contoso.com"}, false,
			[]string{"$AppId = '" + appID + "'", "New-ServicePrincipal -AppId $AppId -ObjectId $ServicePrincipalId", "$RoleName = 'Application Calendars.ReadWrite'",
				"$ScopeName = 'Graph-Calendar-App-Scope'", "MemberOfGroup -eq '{0}'", "New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $filter",
				"New-ManagementRoleAssignment -Name $AssignmentName -App $ServicePrincipalId -Role $RoleName -CustomResourceScope $ScopeName",
				"Test-ServicePrincipalAuthorization -Identity $AppId -Resource $VerifyMailbox", "tenant-wide", "30 minutes to 2 hours", "bypasses that cache",
				"Enterprise applications", "read, create, update and delete events", "Test-ApplicationAccessPolicy -Identity $VerifyMailbox"},
			[]string{"EwsAllowedAppIDs -", "Set-OrganizationConfig", "EWS.AccessAsApp", "Place.Read.All"}},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeFilter: "Department -eq 'Sales'", GraphRole: " Calendars.ReadBasic ", Rooms: true}, false,
			[]string{"$RoleName = 'Application Calendars.ReadBasic'", "$Filter = 'Department -eq ''Sales'''", "Place.Read.All. That is an Entra ID permission, not an RBAC for Applications", "must match the scope too", "no body, no attendees"},
			[]string{"Calendars.ReadWrite'", "$TargetGroup"}},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Calendars.Read"}, false,
			[]string{"$RoleName = 'Application Calendars.Read'", "-Role $RoleName | Out-Null", "EVERY mailbox", "# For one mailbox: Test-ServicePrincipalAuthorization -Identity $AppId -Resource 'user@contoso.com'"},
			[]string{"-CustomResourceScope $ScopeName |", "New-ManagementScope"}},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeGroup: "ignored on undo"}, true,
			[]string{"Remove-ManagementRoleAssignment -Identity $AssignmentName", "Remove-ManagementScope -Identity $ScopeName", "Remove-ServicePrincipal -Identity $ServicePrincipalId", "still used by", "other role assignments", "$AssignmentName = 'Graph-Calendars-" + appID + "'"},
			[]string{"New-ServicePrincipal ", "New-ManagementRoleAssignment ", "New-ManagementScope ", "EwsAllowedAppIDs", "$TargetGroup"}},
	}
	for _, tt := range tests {
		s, err := Generate(tt.kind, tt.in, tt.undo)
		if err != nil {
			t.Errorf("%s: %v", tt.kind, err)
			continue
		}
		checkScript(t, s)
		for _, w := range tt.want {
			if !strings.Contains(s.Text, w) {
				t.Errorf("%s undo=%v: missing %q", tt.kind, tt.undo, w)
			}
		}
		for _, a := range tt.avoid {
			if strings.Contains(s.Text, a) {
				t.Errorf("%s undo=%v: must not contain %q", tt.kind, tt.undo, a)
			}
		}
		if tt.undo && !strings.HasSuffix(s.FileName, "-undo.ps1") {
			t.Errorf("undo file name %q", s.FileName)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	tests := []struct {
		kind  Kind
		in    Input
		field string
	}{
		{OnPremOrgWide, Input{}, "service account"},
		{OnPremOrgWide, Input{Account: "svc\nRemove-Mailbox"}, "service account"},
		{OnPremOrgWide, Input{Account: "svc; Remove-Mailbox *"}, "service account"},
		{OnPremOrgWide, Input{Account: "svc@"}, "service account"},
		{OnPremOrgWide, Input{Account: " svc@contoso.com"}, "service account"},
		{OnPremOrgWide, Input{Account: "svc@contoso.com", Exchange: "2013"}, "Exchange version"},
		{OnPremOrgWide, Input{Account: "svc@contoso.com", AppID: appID}, "app ID"},
		{OnPremScoped, Input{Account: "svc@contoso.com"}, "scope"},
		{OnPremScoped, Input{Account: "svc@contoso.com", ScopeGroup: "G", ScopeFilter: "Department -eq 'x'"}, "scope"},
		{OnPremScoped, Input{Account: "svc@contoso.com", ScopeFilter: "Department -eq 'x"}, "scope filter"},
		{OnPremScoped, Input{Account: "svc@contoso.com", ScopeFilter: "Sales"}, "scope filter"},
		{OnPremScoped, Input{Account: "svc@contoso.com", ScopeGroup: "G\r\nx"}, "scope group"},
		{OnPremScoped, Input{Account: "svc@contoso.com", Members: []string{"a@contoso.com", "not an address"}}, "mailbox"},
		{OnPremScoped, Input{Account: "svc@contoso.com", ScopeGroup: "G", VerifyMailbox: "Adele <adele@contoso.com>"}, "verification mailbox"},
		{EXORBACApps, Input{SPObjectID: spID}, "app ID"},
		{EXORBACApps, Input{AppID: "not-a-guid", SPObjectID: spID}, "app ID"},
		{EXORBACApps, Input{AppID: appID}, "service principal object ID"},
		{EXORBACApps, Input{AppID: appID, SPObjectID: appID}, "service principal object ID"},
		{EXORBACApps, Input{AppID: appID, SPObjectID: spID + "'"}, "service principal object ID"},
		{EXORBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Calendars.Read"}, "Graph role"},
		{OnPremOrgWide, Input{Account: "svc@contoso.com", GraphRole: "Calendars.ReadWrite"}, "Graph role"},
		{EXOGraphRBACApps, Input{SPObjectID: spID}, "app ID"},
		{EXOGraphRBACApps, Input{AppID: appID}, "service principal object ID"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: appID}, "service principal object ID"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeGroup: "G", ScopeFilter: "Department -eq 'x'"}, "scope"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Calendars.ReadWrite.All"}, "Graph role"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Mail.Read"}, "Graph role"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Place.Read.All"}, "Graph role"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Application EWS.AccessAsApp"}, "Graph role"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, GraphRole: "Calendars.Read'; Remove-Mailbox"}, "Graph role"},
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, VerifyMailbox: "not an address"}, "verification mailbox"},
	}
	for _, tt := range tests {
		_, err := Generate(tt.kind, tt.in, false)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s %+v: err = %v, want *InputError", tt.kind, tt.in, err)
			continue
		}
		if ie.Field != tt.field {
			t.Errorf("%s %+v: field %q, want %q (%v)", tt.kind, tt.in, ie.Field, tt.field, err)
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error message spans lines: %q", err.Error())
		}
	}
	if _, err := Generate("onprem-everything", Input{Account: "svc@contoso.com"}, false); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestClassicEXO(t *testing.T) {
	_, err := Generate(EXOClassic, Input{Account: "svc@contoso.com"}, false)
	var re *RetiredError
	if !errors.As(err, &re) || !IsRetired(err) {
		t.Fatalf("err = %v, want *RetiredError", err)
	}
	for _, w := range []string{"February 2025", "exo-rbac-apps", "Application EWS.AccessAsApp", "full_access_as_app", "1 April 2027"} {
		if !strings.Contains(re.Explanation, w) {
			t.Errorf("explanation lacks %q", w)
		}
	}
	if k, err := ParseKind(" EXO-Classic "); err != nil || k != EXOClassic {
		t.Errorf("ParseKind = %q, %v", k, err)
	}
}

func TestKindFor(t *testing.T) {
	tests := []struct {
		s    Situation
		want Kind
	}{
		{Situation{Environment: result.OnPrem, Account: "a"}, OnPremOrgWide},
		{Situation{Account: "a", ScopeGroup: "g"}, OnPremScoped},
		{Situation{Environment: result.OnPrem, ScopeFilter: "f"}, OnPremScoped},
		{Situation{Environment: result.EXO, AppID: appID}, EXORBACApps},
		{Situation{Environment: result.EXO, Account: "svc@contoso.com"}, EXOClassic},
		{Situation{Environment: result.EXO, AppID: appID, Protocol: "graph"}, EXOGraphRBACApps},
		{Situation{Environment: result.EXO, AppID: appID, Protocol: "both"}, EXORBACApps},
		{Situation{Environment: result.OnPrem, Account: "a", Protocol: "graph"}, OnPremOrgWide},
	}
	for _, tt := range tests {
		if got := KindFor(tt.s); got != tt.want {
			t.Errorf("KindFor(%+v) = %s, want %s", tt.s, got, tt.want)
		}
	}
}

// TestScriptHostile proves quoting alone keeps every value inside its literal: render is
// called without validation, every field hostile, every kind, both directions.
func TestScriptHostile(t *testing.T) {
	kinds := []Kind{OnPremOrgWide, OnPremScoped, OnPremRoleGroup, EXORBACApps, EXOGraphRBACApps}
	for _, h := range hostile {
		for _, k := range kinds {
			for _, undo := range []bool{false, true} {
				for _, scope := range []int{0, 1, 2} {
					in := Input{Account: h.value, AppID: h.value, SPObjectID: h.value, DisplayName: h.value, VerifyMailbox: h.value, Rooms: true, GraphRole: h.value}
					switch scope {
					case 0:
						in.ScopeGroup = h.value
					case 1:
						in.ScopeFilter = h.value
					case 2:
						in.ScopeGroup = h.value
						in.Members = []string{h.value, "ok@contoso.com"}
					}
					s := render(k, in, undo)
					lits := assertInert(t, string(k), s.Text)
					if strings.ContainsAny(s.Text, "\r\x00\u2028") {
						t.Errorf("%s: control character in script", k)
					}
					// The value itself must be there, whole, as a literal (scrubbed of control characters).
					found := false
					for _, l := range lits {
						if strings.Contains(l, scrub(h.value)) {
							found = true
						}
					}
					if !found {
						t.Errorf("%s undo=%v: value %q is not carried by any literal", k, undo, h.value)
					}
				}
			}
		}
	}
}

// TestScriptHostileValidated: the values validation lets through (group names, filters and
// display names may hold quotes and $) still stay inert in the final script.
func TestScriptHostileValidated(t *testing.T) {
	names := []string{`O'Brien's "team" $(Stop-Computer)`, "‘Sales’ `evil1` ; Remove-Mailbox", "x'; Remove-Mailbox -Identity * #"}
	for _, n := range names {
		for _, in := range []struct {
			k  Kind
			in Input
		}{
			{OnPremScoped, Input{Account: "svc@contoso.com", ScopeGroup: n}},
			{OnPremRoleGroup, Input{Account: "svc@contoso.com", ScopeGroup: n, Members: []string{"a@contoso.com"}}},
			{EXORBACApps, Input{AppID: appID, SPObjectID: spID, DisplayName: n, ScopeGroup: n}},
			{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, DisplayName: n, ScopeGroup: n, Rooms: true}},
			{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, DisplayName: n, ScopeGroup: n, Members: []string{"a@contoso.com"}, GraphRole: "Calendars.Read"}},
			{OnPremScoped, Input{Account: "svc@contoso.com", ScopeFilter: "Department -eq '" + strings.ReplaceAll(n, "'", "''") + "'"}},
		} {
			s, err := Generate(in.k, in.in, false)
			if err != nil {
				if strings.Contains(in.in.ScopeFilter, "’") {
					continue // typographic quotes unbalance the filter: rejected, fine
				}
				t.Errorf("%s %q: %v", in.k, n, err)
				continue
			}
			_, code, err := psScan(s.Text)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"Stop-Computer", "Remove-Mailbox", "evil1"} {
				if strings.Contains(code, bad) {
					t.Errorf("%s: %q reached code", in.k, bad)
				}
			}
		}
	}
}

func TestKindHelpAndSituationFrom(t *testing.T) {
	for _, k := range append(append([]Kind{}, Kinds...), EXOClassic) {
		if len(k.Help()) < 60 || k.Title() == string(k) {
			t.Errorf("kind %s lacks a title or help", k)
		}
	}
	s := SituationFrom(result.Profile{Environment: result.EXO, ServiceAccount: "svc@contoso.com", ClientID: appID})
	if s.AppID != appID || s.Environment != result.EXO || KindFor(s) != EXORBACApps {
		t.Errorf("SituationFrom(exo) = %+v", s)
	}
	s = SituationFrom(result.Profile{Environment: result.EXO, ClientID: appID, Protocol: "graph"})
	if s.Protocol != "graph" || KindFor(s) != EXOGraphRBACApps {
		t.Errorf("SituationFrom(exo graph) = %+v", s)
	}
	s = SituationFrom(result.Profile{Environment: result.OnPrem, ServiceAccount: `CONTOSO\svc`, ClientID: appID})
	if s.AppID != "" || s.Account != `CONTOSO\svc` || KindFor(s) != OnPremOrgWide {
		t.Errorf("SituationFrom(onprem) = %+v", s)
	}
}

// TestScriptStructureIndependentOfValues is the strongest form of the quoting proof: with
// every value swapped for a hostile one, the script's code — everything outside
// single-quoted literals and comments — is byte for byte the same.
func TestScriptStructureIndependentOfValues(t *testing.T) {
	benign := func(v string) Input {
		return Input{Account: v, AppID: v, SPObjectID: v, DisplayName: v, VerifyMailbox: v, Rooms: true, GraphRole: v}
	}
	for _, k := range []Kind{OnPremOrgWide, OnPremScoped, OnPremRoleGroup, EXORBACApps, EXOGraphRBACApps} {
		for _, undo := range []bool{false, true} {
			for scope := 0; scope < 3; scope++ {
				build := func(v string) string {
					in := benign(v)
					switch scope {
					case 0:
						in.ScopeGroup = v
					case 1:
						in.ScopeFilter = v
					case 2:
						in.ScopeGroup, in.Members = v, []string{v, "ok@contoso.com"}
					}
					_, code, err := psScan(render(k, in, undo).Text)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					return code
				}
				want := build("plain-value")
				for _, h := range hostile {
					if got := build(h.value); got != want {
						t.Errorf("%s undo=%v scope=%d: value %q changed the code:\n%s", k, undo, scope, h.value, firstDiff(want, got))
					}
				}
			}
		}
	}
}

// FuzzQuote: any string becomes exactly one literal that decodes to the scrubbed input.
func FuzzQuote(f *testing.F) {
	for _, h := range hostile {
		f.Add(h.value)
	}
	f.Add("‘’‚‛'\"`$()")
	f.Fuzz(func(t *testing.T, s string) {
		lits, code, err := psScan("Get-X " + Quote(s) + " -Y")
		if err != nil {
			t.Fatalf("Quote(%q) does not lex: %v", s, err)
		}
		if len(lits) != 1 || lits[0] != scrub(s) || code != "Get-X  LIT  -Y" {
			t.Fatalf("Quote(%q): literals %q, code %q", s, lits, code)
		}
	})
}

// TestCommand: the deputy-cli line for a situation names the kind and every value as one
// literal, and no hostile value reaches the code.
func TestCommand(t *testing.T) {
	tests := []struct {
		kind Kind
		in   Input
		undo bool
		want string
	}{
		{EXOGraphRBACApps, Input{AppID: appID, SPObjectID: spID, ScopeGroup: "O'Neil Team", GraphRole: "Calendars.Read", Rooms: true}, false,
			"deputy-cli script --kind exo-graph-rbac-apps --app-id '" + appID + "' --sp-object-id '" + spID + "' --scope-group 'O''Neil Team' --graph-role 'Calendars.Read' --rooms"},
		{EXOGraphRBACApps, Input{ScopeGroup: "G"}, true,
			"deputy-cli script --kind exo-graph-rbac-apps --app-id '<application (client) ID>' --sp-object-id '<object ID from Entra ID > Enterprise applications>' --undo"},
		{EXORBACApps, Input{AppID: appID, SPObjectID: spID, ScopeFilter: "Department -eq 'Sales'", GraphRole: "ignored"}, false,
			"deputy-cli script --kind exo-rbac-apps --app-id '" + appID + "' --sp-object-id '" + spID + "' --scope-filter 'Department -eq ''Sales'''"},
		{OnPremScoped, Input{Account: `CONTOSO\svc`, VerifyMailbox: "a@contoso.com"}, false,
			`deputy-cli script --kind onprem-scoped --account 'CONTOSO\svc' --verify-mailbox 'a@contoso.com'`},
	}
	for _, tt := range tests {
		if got := Command(tt.kind, tt.in, tt.undo); got != tt.want {
			t.Errorf("Command(%s) =\n%s\nwant\n%s", tt.kind, got, tt.want)
		}
	}
	for _, h := range hostile {
		for _, k := range Kinds {
			in := Input{Account: h.value, AppID: h.value, SPObjectID: h.value, ScopeGroup: h.value, ScopeFilter: h.value, VerifyMailbox: h.value, GraphRole: h.value}
			assertInert(t, "Command "+string(k), Command(k, in, false))
		}
	}
}

func TestForResult(t *testing.T) {
	tests := []struct {
		p    result.Profile
		want string
	}{
		{result.Profile{Environment: result.OnPrem, ServiceAccount: "svc@contoso.com"}, "New-ManagementRoleAssignment"},
		{result.Profile{Environment: result.EXO, ServiceAccount: "svc@contoso.onmicrosoft.com"}, "no longer exists in Exchange Online"},
		{result.Profile{Environment: result.OnPrem}, ""},
	}
	for _, tt := range tests {
		got := ForResult(&result.Result{Profile: tt.p})
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("ForResult(%+v) = %q, want containing %q", tt.p, got, tt.want)
		}
	}
	if ForResult(nil) != "" {
		t.Error("ForResult(nil) should be empty")
	}
}
