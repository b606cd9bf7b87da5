package setup

import (
	"strings"
	"testing"

	"deputy/internal/result"
)

var (
	onprem = Situation{Environment: result.OnPrem, Exchange: "SE", Account: "svc-ews@contoso.com", Mailbox: "adele@contoso.com"}
	exoApp = Situation{Environment: result.EXO, AppID: "11111111-2222-3333-4444-555555555555",
		SPObjectID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Mailbox: "adele@contoso.com"}
)

func with(s Situation, f func(*Situation)) Situation { f(&s); return s }

func TestRemediationEveryClass(t *testing.T) {
	envs := []Situation{onprem, exoApp, {}, {Environment: result.EXO}}
	for _, c := range result.Classes {
		for _, s := range envs {
			got := Remediation(c, "", s)
			if c == result.OK {
				if got != "" {
					t.Errorf("Remediation(ok, %+v) = %q, want empty", s, got)
				}
				continue
			}
			if len(got) < 40 {
				t.Errorf("Remediation(%s, env %q) = %q: too short to be a fix", c, s.Environment, got)
			}
			if _, _, err := psScan(commandsOf(got)); err != nil {
				t.Errorf("Remediation(%s, env %q): commands do not lex: %v\n%s", c, s.Environment, err, got)
			}
		}
	}
	if Remediation("", "", onprem) != "" {
		t.Error("empty class must give no remediation")
	}
	if Remediation("something-new", "ErrorWeird", onprem) == "" {
		t.Error("an unknown class must still get the generic remediation")
	}
}

// commandsOf drops the prose (the first paragraph) and keeps the command lines.
func commandsOf(rem string) string {
	if i := strings.Index(rem, "\n\n"); i >= 0 {
		return rem[i+2:]
	}
	return ""
}

func TestRemediationContent(t *testing.T) {
	tests := []struct {
		name  string
		class result.Class
		code  string
		s     Situation
		want  []string
		avoid []string
	}{
		{"onprem scope miss", result.ImpersonationDenied, "ErrorImpersonateUserDenied", onprem,
			[]string{"outside the assignment's write scope", "Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient 'adele@contoso.com' -GetEffectiveUsers", "replication"},
			[]string{"New-ServicePrincipal"}},
		{"onprem scope miss, scope unknown", result.ImpersonationDenied, "", onprem,
			[]string{"Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee 'svc-ews@contoso.com' | ForEach-Object { if ($_.CustomRecipientWriteScope) { Get-ManagementScope -Identity $_.CustomRecipientWriteScope | Format-List Name,RecipientFilter,RecipientRoot }"},
			[]string{"'" + OnPremScopeName + "'"}},
		{"exo scope miss, scope unknown", result.ImpersonationDenied, "", exoApp,
			[]string{"Get-ManagementRoleAssignment -Role 'Application EWS.AccessAsApp' -RoleAssignee 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' | ForEach-Object { if ($_.CustomResourceScope) { Get-ManagementScope -Identity $_.CustomResourceScope | Format-List Name,RecipientFilter }"},
			[]string{"'" + EXOScopeName + "'"}},
		{"onprem scope miss, group", result.ImpersonationDenied, "", with(onprem, func(s *Situation) { s.ScopeGroup = "EWS Targets" }),
			[]string{"Add-DistributionGroupMember -Identity 'EWS Targets' -Member 'adele@contoso.com'", "direct members"}, nil},
		{"onprem scope miss, filter", result.ImpersonationDenied, "", with(onprem, func(s *Situation) { s.ScopeFilter = "Department -eq 'Sales'" }),
			[]string{"'Department -eq ''Sales'''", "Set-ManagementScope -Identity 'EWS-Impersonation-Scope'"}, nil},
		{"onprem no right", result.NoImpersonationRight, "ErrorImpersonationDenied", onprem,
			[]string{"New-ManagementRoleAssignment -Name 'EWS-Impersonation-svc-ews' -Role ApplicationImpersonation -User 'svc-ews@contoso.com'", "-GetEffectiveUsers", "onprem-orgwide"},
			[]string{"-CustomRecipientWriteScope"}},
		{"onprem no right, scoped", result.NoImpersonationRight, "", with(onprem, func(s *Situation) { s.ScopeGroup = "CN=EWS Targets,OU=Groups,DC=contoso,DC=com" }),
			[]string{"$dn = (Get-Group -Identity 'CN=EWS Targets,OU=Groups,DC=contoso,DC=com').DistinguishedName", `-RecipientRestrictionFilter "MemberOfGroup -eq '$dn'"`, "-CustomRecipientWriteScope 'EWS-Impersonation-Scope'", "onprem-scoped"}, nil},
		{"exo no right, user account", result.NoImpersonationRight, "ErrorImpersonateUserDenied", Situation{Environment: result.EXO, Account: "svc@contoso.com"},
			[]string{"retired", "New-ServicePrincipal -AppId", "Application EWS.AccessAsApp", "Test-ServicePrincipalAuthorization", "full_access_as_app", "overrides any scope"},
			[]string{"-Role ApplicationImpersonation"}},
		{"exo no right, app, scoped", result.NoImpersonationRight, "", with(exoApp, func(s *Situation) { s.ScopeGroup = "EWS Targets" }),
			[]string{"New-ServicePrincipal -AppId '11111111-2222-3333-4444-555555555555' -ObjectId 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'",
				"New-ManagementRoleAssignment -App 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' -Role 'Application EWS.AccessAsApp' -CustomResourceScope 'EWS-App-Scope'",
				"-Resource 'adele@contoso.com'", "full_access_as_app"}, nil},
		{"exo scope miss", result.ImpersonationDenied, "", exoApp,
			[]string{"Test-ServicePrincipalAuthorization -Identity '11111111-2222-3333-4444-555555555555' -Resource 'adele@contoso.com'", "Test-ApplicationAccessPolicy", "30 minutes to 2 hours"}, nil},
		{"exo scope miss, classic account", result.ImpersonationDenied, "", Situation{Environment: result.EXO, Account: "svc@contoso.com"},
			[]string{"retired"}, nil},
		{"not found onprem", result.MailboxNotFound, "ErrorNonExistentMailbox", onprem,
			[]string{"primary SMTP", "hybrid", "Exchange Online", "Get-Recipient -Identity 'adele@contoso.com'"}, nil},
		{"not found exo", result.MailboxNotFound, "", exoApp, []string{"on-premises Exchange", "MailUser"}, nil},
		{"service account no mailbox", result.NoMailbox, "ErrorMissingEmailAddress", with(onprem, func(s *Situation) { s.Mailbox = "" }),
			[]string{"Enable-Mailbox -Identity 'svc-ews@contoso.com'", "Vendors"}, nil},
		{"service account no mailbox exo", result.NoMailbox, "", Situation{Environment: result.EXO, Account: "svc@contoso.com"},
			[]string{"licence", "Kiosk"}, []string{"Enable-Mailbox"}},
		{"service mailbox by address, DOMAIN account", result.NoMailbox, "ErrorNonExistentMailbox", Situation{Environment: result.OnPrem, Account: `CONTOSO\svc-ews`, Mailbox: "SVC-EWS@contoso.com"},
			[]string{`Enable-Mailbox -Identity 'CONTOSO\svc-ews'`}, []string{"RecipientTypeDetails"}},
		{"service mailbox by address, UPN account", result.NoMailbox, "", Situation{Environment: result.OnPrem, Account: "svc-ews@corp.contoso.com", Mailbox: "svc-ews@contoso.com"},
			[]string{"Enable-Mailbox"}, nil},
		{"tls", result.Other, "tls", onprem, []string{"Get-ExchangeCertificate", "pin"}, nil},
		{"tls exo", result.Other, "tls", exoApp, []string{"TLS inspection"}, nil},
		{"network", result.Other, "network", onprem, []string{"DNS", "443"}, nil},
		{"target no mailbox", result.NoMailbox, "", onprem,
			[]string{"adele@contoso.com has no mailbox", "RecipientTypeDetails"}, []string{"Enable-Mailbox"}},
		{"throttled onprem", result.Throttled, "ErrorServerBusy", onprem,
			[]string{"27", "--concurrency", "New-ThrottlingPolicy -Name 'EWS-Impersonation-Throttling'", "Set-ThrottlingPolicyAssociation -Identity 'svc-ews@contoso.com'"}, nil},
		{"throttled exo", result.Throttled, "", exoApp, []string{"27", "--concurrency", "cannot be changed"}, []string{"New-ThrottlingPolicy"}},
		{"move", result.Transient, "ErrorMailboxMoveInProgress", onprem, []string{"Get-MoveRequest -Identity 'adele@contoso.com'"}, nil},
		{"store", result.Transient, "ErrorMailboxStoreUnavailable", onprem, []string{"Get-MailboxDatabase -Status"}, nil},
		{"transient", result.Transient, "503", onprem, []string{"(503)", "later"}, nil},
		{"auth onprem", result.AuthFailed, "401", onprem,
			[]string{"Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl,*Authentication*", "locked-out", "Get-User -Identity 'svc-ews@contoso.com'"}, nil},
		{"auth exo audience", result.AuthFailed, "2000003", exoApp, []string{"outlook.office365.com/.default"}, nil},
		{"auth exo basic", result.AuthFailed, "401", Situation{Environment: result.EXO, Account: "svc@contoso.com"}, []string{"Basic authentication", "2022"}, nil},
		{"version", result.VersionError, "ErrorInvalidServerVersion", onprem, []string{"RequestServerVersion", "Get-ExchangeServer"}, nil},
		{"schema", result.SchemaError, "ErrorSchemaValidation", onprem, []string{"Deputy bug", "--trace"}, nil},
		{"header", result.HeaderInvalid, "ErrorInvalidExchangeImpersonationHeaderData", onprem, []string{"primary SMTP address", "PrimarySmtpAddress"}, nil},
		{"header missing exo", result.HeaderInvalid, "ErrorInvalidExchangeImpersonationHeaderData", with(exoApp, func(s *Situation) { s.Mailbox = "" }),
			[]string{"no ExchangeImpersonation header", "--service-mailbox"}, []string{"malformed"}},
		{"not ews", result.NotEWS, "", onprem, []string{"reverse proxy", "pre-auth", "Get-WebServicesVirtualDirectory"}, nil},
		{"not ews exo", result.NotEWS, "", exoApp, []string{"https://outlook.office365.com/EWS/Exchange.asmx"}, nil},
		{"access denied exo", result.AccessDenied, "403", exoApp,
			[]string{"HTTP 403", "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy", "EwsAllowedAppIDs", "Kiosk", "Get-CASMailbox -Identity 'adele@contoso.com'"}, nil},
		{"access denied onprem", result.AccessDenied, "ErrorAccessDenied", onprem, []string{"Set-CASMailbox -Identity 'adele@contoso.com' -EwsEnabled $true"}, nil},
		{"impersonation failed", result.Other, "ErrorImpersonationFailed", onprem, []string{"server-to-server", "event log"}, nil},
		{"proxy", result.Other, "ErrorProxyServiceDiscoveryFailed", onprem, []string{"site"}, nil},
		{"other", result.Other, "ErrorSomethingNew", onprem, []string{"ErrorSomethingNew", "--trace"}, nil},
		{"placeholders", result.NoImpersonationRight, "", Situation{}, []string{"-User '<service account>'"}, nil},
	}
	for _, tt := range tests {
		got := Remediation(tt.class, tt.code, tt.s)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: missing %q in:\n%s", tt.name, w, got)
			}
		}
		for _, a := range tt.avoid {
			if strings.Contains(got, a) {
				t.Errorf("%s: must not contain %q:\n%s", tt.name, a, got)
			}
		}
	}
}

// TestRemediationHostile feeds hostile values into every field and every class and checks
// none leaves its literal, in the commands and in the prose (which admins paste too).
func TestRemediationHostile(t *testing.T) {
	codes := []string{"", "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "ErrorProxyServiceDiscoveryFailed", "ErrorMissingEmailAddress"}
	for _, h := range hostile {
		for _, env := range []string{result.OnPrem, result.EXO} {
			for _, scope := range []int{0, 1, 2} {
				s := Situation{Environment: env, Account: h.value, AppID: h.value, SPObjectID: h.value, Mailbox: h.value}
				switch scope {
				case 1:
					s.ScopeGroup = h.value
				case 2:
					s.ScopeFilter = h.value
				}
				for _, c := range result.Classes {
					for _, code := range codes {
						got := Remediation(c, code, s)
						if strings.ContainsAny(got, "\r\x00\u2028") {
							t.Fatalf("%s: control character in output %q", c, got)
						}
						assertInert(t, string(c)+"/"+env, commandsOf(got))
						// The prose is one paragraph: a value may not inject lines into it.
						prose, _, _ := strings.Cut(got, "\n\n")
						if strings.Contains(prose, "\n") {
							t.Errorf("%s/%s: value broke the prose into lines: %q", c, env, prose)
						}
					}
				}
			}
		}
	}
}

func TestClassTitle(t *testing.T) {
	seen := map[string]result.Class{}
	for _, c := range result.Classes {
		title := ClassTitle(c)
		if title == "" || title == string(c) {
			t.Errorf("ClassTitle(%s) = %q: no human title", c, title)
		}
		if prev, dup := seen[title]; dup {
			t.Errorf("ClassTitle(%s) = ClassTitle(%s) = %q", c, prev, title)
		}
		seen[title] = c
	}
	if got := ClassTitle("new-class\n"); got != "new-class\uFFFD" {
		t.Errorf("unknown class title = %q", got)
	}
}

// The fix names the right party: under impersonation a missing mailbox is the target's,
// and ErrorImpersonationFailed is the server's own failure, not a wrong password.
func TestRemediationNamesTheRightParty(t *testing.T) {
	acct := Situation{Environment: result.OnPrem, Account: "svc-deputy@fabrikam.test"}
	target := acct
	target.Mailbox = "contractor.kim@fabrikam.test"
	for _, tc := range []struct {
		name        string
		class       result.Class
		code        string
		s           Situation
		want, avoid string
	}{
		{"target without mailbox", result.NoMailbox, "ErrorMissingEmailAddress", target, "contractor.kim@fabrikam.test has no mailbox", "Enable-Mailbox -Identity 'svc-deputy"},
		{"service account without mailbox", result.NoMailbox, "ErrorMissingEmailAddress", acct, "svc-deputy@fabrikam.test has no mailbox", "contractor"},
		{"server-to-server failure", result.AuthFailed, "ErrorImpersonationFailed", target, "server-to-server", "wrong password"},
		{"wrong password", result.AuthFailed, "HTTP 401", acct, "wrong password", "server-to-server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Remediation(tc.class, tc.code, tc.s)
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.avoid) {
				t.Fatalf("want %q and not %q in:\n%s", tc.want, tc.avoid, got)
			}
		})
	}
}

// The allow-list merge in a report reads EwsAllowedAppIDs exactly as the exo-rbac-apps
// script does: element by element, so a collection is not fused into one space-joined
// "ID" (which "$($policy.EwsAllowedAppIDs)" -split ',' would do).
func TestAllowListMerge(t *testing.T) {
	got := AllowListMerge(appID)
	for _, w := range []string{"$appId = '" + appID + "'", "$ids = " + allowedAppIDsExpr, `ForEach-Object { "$_" -split ',' }`,
		"if ($ids -notcontains $appId) { $ids += $appId }", "Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($ids -join ',')"} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if strings.Contains(got, `"$($policy.EwsAllowedAppIDs)"`) {
		t.Errorf("the allow-list is stringified whole:\n%s", got)
	}
	sc, err := Generate(EXORBACApps, Input{AppID: appID, SPObjectID: spID}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sc.Text, "$ids = "+allowedAppIDsExpr) {
		t.Error("the script reads the allow-list another way than the report's merge")
	}
	for _, h := range hostile {
		assertInert(t, "AllowListMerge", AllowListMerge(h.value))
	}
}
