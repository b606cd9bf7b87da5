package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"deputy/internal/profile"
)

// scriptCLI runs deputy-cli with a private, empty configuration directory.
func scriptCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return scriptCLIDir(t, t.TempDir(), stdin, args...)
}

func scriptCLIDir(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DEPUTY_CONFIG_DIR" {
			return dir
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: getenv, isTTY: func(any) bool { return false }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestScriptCommand(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "targets.csv")
	if err := os.WriteFile(list, []byte("PrimarySmtpAddress\nadele@contoso.com\nalex@contoso.com\nnot-an-address\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		noStdout   bool
		stdoutNone []string
	}{
		{"scoped group", []string{"script", "--kind", "onprem-scoped", "--account", "svc-ews@contoso.com", "--scope-group", "EWS Targets"}, exitOK,
			[]string{"$Account = 'svc-ews@contoso.com'", "$TargetGroup = 'EWS Targets'", "-CustomRecipientWriteScope $ScopeName"}, nil, false, nil},
		{"filter with quotes", []string{"script", "--kind", "onprem-scoped", "--account", `CONTOSO\svc`, "--scope-filter", "Department -eq 'Sales'"}, exitOK,
			[]string{"$Filter = 'Department -eq ''Sales'''", `$Account = 'CONTOSO\svc'`}, nil, false, nil},
		{"listed set", []string{"script", "--kind", "onprem-scoped", "--account", "svc@contoso.com", "--mailboxes", list}, exitOK,
			[]string{"'adele@contoso.com'", "'alex@contoso.com'", "$TargetGroup = 'EWS Impersonation Targets'"}, []string{"line 4 skipped"}, false, []string{"not-an-address"}},
		{"listed set from stdin", []string{"script", "--kind", "onprem-rolegroup", "--account", "svc@contoso.com", "--mailboxes", "-", "--scope-group", "App"}, exitOK,
			[]string{"'x@contoso.com'", "$TargetGroup = 'App'", "New-RoleGroup"}, nil, false, nil},
		{"exo", []string{"script", "--kind", "exo-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"Set-OrganizationConfig -EwsEnabled $true", "Test-ServicePrincipalAuthorization"}, nil, false, nil},
		{"graph default role", []string{"script", "--kind", "exo-graph-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "--scope-group", "Graph Targets", "--verify-mailbox", "adele@contoso.com"}, exitOK,
			[]string{"$RoleName = 'Application Calendars.ReadWrite'", "-CustomResourceScope $ScopeName", "Test-ServicePrincipalAuthorization -Identity $AppId -Resource $VerifyMailbox", "$TargetGroup = 'Graph Targets'"}, nil, false,
			[]string{"EwsAllowedAppIDs -", "Set-OrganizationConfig"}},
		{"graph read role", []string{"script", "--kind", "exo-graph-rbac-apps", "--graph-role", "calendars.read", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "--rooms"}, exitOK,
			[]string{"$RoleName = 'Application Calendars.Read'", "Place.Read.All. That is an Entra ID permission"}, nil, false, []string{"Calendars.ReadWrite'"}},
		{"graph listed set", []string{"script", "--kind", "exo-graph-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "--mailboxes", list, "--scope-group", "Graph Targets"}, exitOK,
			[]string{"    'adele@contoso.com'", "New-DistributionGroup -Name $TargetGroup -Type Security", "$TargetGroup = 'Graph Targets'"}, []string{"line 4 skipped"}, false, []string{"not-an-address"}},
		{"graph undo", []string{"script", "--kind", "exo-graph-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "--undo"}, exitOK,
			[]string{"Remove-ManagementRoleAssignment -Identity $AssignmentName", "Remove-ServicePrincipal", "Undo — Exchange Online: Microsoft Graph app"}, nil, false, []string{"New-ManagementRoleAssignment "}},
		{"graph bad role", []string{"script", "--kind", "exo-graph-rbac-apps", "--graph-role", "Mail.Read", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitUsage,
			nil, []string{"Graph role", "Calendars.ReadWrite, Calendars.Read, Calendars.ReadBasic"}, true, nil},
		{"graph place role", []string{"script", "--kind", "exo-graph-rbac-apps", "--graph-role", "Place.Read.All", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitUsage,
			nil, []string{"not an RBAC for Applications role"}, true, nil},
		{"graph empty role", []string{"script", "--kind", "exo-graph-rbac-apps", "--graph-role", "", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitUsage,
			nil, []string{"--graph-role is empty"}, true, nil},
		{"graph role on the EWS kind", []string{"script", "--kind", "exo-rbac-apps", "--graph-role", "Calendars.Read", "--app-id", "11111111-2222-3333-4444-555555555555", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitUsage,
			nil, []string{"applies to --kind exo-graph-rbac-apps only"}, true, nil},
		{"graph missing sp", []string{"script", "--kind", "exo-graph-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555"}, exitUsage,
			nil, []string{"Enterprise applications"}, true, nil},
		{"undo", []string{"script", "--kind", "onprem-orgwide", "--account", "svc@contoso.com", "--undo"}, exitOK,
			[]string{"Remove-ManagementRoleAssignment"}, nil, false, nil},
		{"classic exo explains", []string{"script", "--kind", "exo-classic", "--account", "svc@contoso.com"}, exitUsage,
			nil, []string{"February 2025", "exo-rbac-apps"}, true, nil},
		{"no kind", []string{"script", "--account", "svc@contoso.com"}, exitUsage, nil, []string{"--kind is required"}, true, nil},
		{"bad kind", []string{"script", "--kind", "everything", "--account", "svc@contoso.com"}, exitUsage, nil, []string{"unknown script kind"}, true, nil},
		{"bad guid", []string{"script", "--kind", "exo-rbac-apps", "--app-id", "x'; Remove-Mailbox", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitUsage,
			nil, []string{"app ID", "is not a GUID"}, true, nil},
		{"missing sp", []string{"script", "--kind", "exo-rbac-apps", "--app-id", "11111111-2222-3333-4444-555555555555"}, exitUsage,
			nil, []string{"Enterprise applications"}, true, nil},
		{"scoped without scope", []string{"script", "--kind", "onprem-scoped", "--account", "svc@contoso.com"}, exitUsage, nil, []string{"scope"}, true, nil},
		{"profile unavailable", []string{"script", "--profile", "nope", "--kind", "onprem-orgwide"}, exitUsage, nil, []string{"nope"}, true, nil},
		{"stray argument", []string{"script", "--kind", "onprem-orgwide", "--account", "svc@contoso.com", "extra"}, exitUsage, nil, []string{"unexpected argument"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := scriptCLI(t, "x@contoso.com\n", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, errOut)
				}
			}
			for _, w := range tt.stdoutNone {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q", w)
				}
			}
			if tt.noStdout && out != "" {
				t.Errorf("stdout should be empty on error, got %q", out)
			}
		})
	}
}

func TestScriptCommandOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "setup.ps1")
	code, out, errOut := scriptCLI(t, "", "script", "--kind", "onprem-orgwide", "--account", "svc@contoso.com", "--out", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "" || !strings.Contains(errOut, "-WhatIf") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF# ")) || !bytes.Contains(b, []byte("param()\r\n")) || bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("file is not UTF-8 with BOM and CRLF: %q", b[:min(len(b), 80)])
	}
	// No temporary files left next to it.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
	if code, _, errOut := scriptCLI(t, "", "script", "--kind", "onprem-orgwide", "--account", "svc@contoso.com", "--out", filepath.Join(path, "sub", "x.ps1")); code != exitUsage || !strings.Contains(errOut, "x.ps1") {
		t.Errorf("unwritable --out: exit %d, %s", code, errOut)
	}
}

func TestScriptCommandProfile(t *testing.T) {
	dir := t.TempDir()
	store, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []profile.Profile{
		{Name: "CRM sync", Environment: "onprem", EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx", Auth: "ntlm", User: `CONTOSO\svc-crm`,
			Mailboxes: []string{"adele@contoso.com", "alex@contoso.com"}, CheckRooms: true},
		{Name: "Cloud app", Environment: "exo", Auth: "oauth-app-secret", Tenant: "contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555"},
		{Name: "Graph app", Environment: "exo", Protocol: "graph", Auth: "oauth-app-secret", Tenant: "contoso.onmicrosoft.com", ClientID: "22222222-2222-3333-4444-555555555555",
			Mailboxes: []string{"megan@contoso.com"}},
		{Name: "Both", Environment: "exo", Protocol: "both", Auth: "oauth-app-secret", Tenant: "contoso.onmicrosoft.com", ClientID: "33333333-2222-3333-4444-555555555555"},
	} {
		if err := store.Save(p); err != nil {
			t.Fatalf("save %s: %v", p.Name, err)
		}
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		none   []string
	}{
		{"onprem scoped from profile list", []string{"script", "--profile", "crm sync", "--kind", "onprem-scoped"}, exitOK,
			[]string{`$Account = 'CONTOSO\svc-crm'`, "    'adele@contoso.com'", "$VerifyMailbox = 'adele@contoso.com'", "# Rooms:"},
			[]string{"the profile's 2 target mailboxes"}, nil},
		{"group overrides profile list", []string{"script", "--profile", "CRM sync", "--kind", "onprem-scoped", "--scope-group", "All Sales"}, exitOK,
			[]string{"$TargetGroup = 'All Sales'"}, nil, []string{"$Members"}},
		{"org-wide ignores the list", []string{"script", "--profile", "CRM sync", "--kind", "onprem-orgwide"}, exitOK,
			[]string{"New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $Account |"}, nil, []string{"$Members"}},
		{"account flag overrides", []string{"script", "--profile", "CRM sync", "--kind", "onprem-orgwide", "--account", "other@contoso.com"}, exitOK,
			[]string{"$Account = 'other@contoso.com'"}, nil, nil},
		{"onprem needs a kind", []string{"script", "--profile", "CRM sync"}, exitUsage, nil, []string{"--kind is required"}, nil},
		{"exo kind from profile", []string{"script", "--profile", "Cloud app", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"$AppId = '11111111-2222-3333-4444-555555555555'", "New-ServicePrincipal"}, nil, []string{"$Account"}},
		{"exo still needs the object id", []string{"script", "--profile", "Cloud app"}, exitUsage, nil, []string{"Enterprise applications"}, nil},
		{"graph kind from profile protocol", []string{"script", "--profile", "Graph app", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"$AppId = '22222222-2222-3333-4444-555555555555'", "$RoleName = 'Application Calendars.ReadWrite'", "$VerifyMailbox = 'megan@contoso.com'"}, nil, []string{"EwsAllowedAppIDs -"}},
		{"graph kind from --graph-role", []string{"script", "--profile", "Cloud app", "--graph-role", "Calendars.ReadBasic", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"$RoleName = 'Application Calendars.ReadBasic'"}, nil, []string{"EwsAllowedAppIDs -"}},
		{"both: EWS script and a hint", []string{"script", "--profile", "Both", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"Set-OrganizationConfig -EwsEnabled $true"}, []string{"--kind exo-graph-rbac-apps"}, nil},
		{"both: graph on request", []string{"script", "--profile", "Both", "--kind", "exo-graph-rbac-apps", "--sp-object-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, exitOK,
			[]string{"$AppId = '33333333-2222-3333-4444-555555555555'", "Application Calendars.ReadWrite"}, nil, []string{"EwsAllowedAppIDs -"}},
		{"unknown profile", []string{"script", "--profile", "nope", "--kind", "onprem-orgwide"}, exitUsage, nil, []string{"--profile", "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := scriptCLIDir(t, dir, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			for _, w := range tt.none {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q", w)
				}
			}
		})
	}
}
