package setup

import (
	"strings"

	"deputy/internal/result"
)

// Situation is what the fix depends on: where the mailboxes live, who acts as them and how
// the right is scoped. Empty fields become quoted placeholders in the commands.
type Situation struct {
	Environment string // result.OnPrem | result.EXO ("" = onprem)
	Exchange    string // "2016" | "2019" | "SE" | "" (on-premises only)
	Account     string // service account: UPN or DOMAIN\user
	AppID       string // Entra application (client) ID (Exchange Online)
	SPObjectID  string // service principal object ID (Enterprise applications page)
	ScopeGroup  string // group whose direct members are in scope (name or DN)
	ScopeFilter string // OPATH recipient filter, e.g. Department -eq 'Sales'
	Mailbox     string // the mailbox the remediation is about; "" = the service account itself
	Rooms       bool
	Protocol    string // Exchange Online: "ews" | "graph" | "both" ("" = ews); graph picks exo-graph-rbac-apps
}

// Object names shared by the remediation text and the generated scripts, so a fix refers
// to what the script created.
const (
	OnPremScopeName   = "EWS-Impersonation-Scope"
	EXOScopeName      = "EWS-App-Scope"
	RoleGroupName     = "EWS Impersonation"
	ThrottlingPolicy  = "EWS-Impersonation-Throttling"
	ImpersonationRole = "ApplicationImpersonation"
	EXOAppRole        = "Application EWS.AccessAsApp"
)

// AssignmentName is the role assignment the scripts create for an account or app.
func AssignmentName(who string) string { return "EWS-Impersonation-" + safeName(who) }

func (s Situation) exo() bool { return s.Environment == result.EXO }

func (s Situation) account() string { return lit(s.Account, "<service account>") }
func (s Situation) mailbox() string { return lit(s.Mailbox, "<mailbox>") }
func (s Situation) appID() string   { return lit(s.AppID, "<application (client) ID>") }
func (s Situation) spID() string {
	return lit(s.SPObjectID, "<object ID from Entra ID > Enterprise applications>")
}

// aboutServiceAccount: a no-mailbox finding concerns the service account when no target
// mailbox is named, or the target is the account itself (svc@contoso.com for the account
// svc@contoso.com or CONTOSO\svc).
func (s Situation) aboutServiceAccount() bool {
	if s.Mailbox == "" || strings.EqualFold(s.Mailbox, s.Account) {
		return true
	}
	user := s.Account
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	} else if i := strings.IndexByte(user, '@'); i >= 0 {
		user = user[:i]
	}
	local, _, _ := strings.Cut(s.Mailbox, "@")
	return user != "" && strings.EqualFold(local, user)
}

func lit(v, placeholder string) string {
	if strings.TrimSpace(v) == "" {
		return Quote(placeholder)
	}
	return Quote(v)
}

// plain makes a value safe for a prose sentence: one line, no control characters.
func plain(v, placeholder string) string {
	if strings.TrimSpace(v) == "" {
		return placeholder
	}
	return scrub(v)
}

// fix is one remediation: why, then the commands (PowerShell, one per line; lines starting
// with # are comments).
type fix struct {
	why  string
	cmds []string
}

func (f fix) String() string {
	if len(f.cmds) == 0 {
		return f.why
	}
	return f.why + "\n\n" + strings.Join(f.cmds, "\n")
}

// Remediation returns the fix for a class of failure with the situation's values filled in
// as single-quoted PowerShell literals. code is the server's own code (an EWS ResponseCode,
// an HTTP status, an x-ms-diagnostics number) and refines the text where it matters. It
// returns "" for result.OK and for the empty class.
func Remediation(c result.Class, code string, s Situation) string {
	var f fix
	switch c {
	case result.OK, "":
		return ""
	case result.ImpersonationDenied:
		f = impersonationDenied(s)
	case result.NoImpersonationRight:
		f = noImpersonationRight(s)
	case result.MailboxNotFound:
		f = mailboxNotFound(s)
	case result.AccessDenied:
		f = accessDenied(code, s)
	case result.NoMailbox:
		f = noMailbox(code, s)
	case result.Throttled:
		f = throttled(s)
	case result.Transient:
		f = transient(code, s)
	case result.AuthFailed:
		f = authFailed(code, s)
	case result.VersionError:
		f = versionError(s)
	case result.SchemaError:
		f = fix{why: "The server rejected Deputy's request as invalid XML (" + codeOr(code, "ErrorSchemaValidation") +
			"). This is a Deputy bug, not a setting on your side: rerun with --trace and report it to the Deputy maintainers with the report attached (traces are redacted)."}
	case result.HeaderInvalid:
		f = headerInvalid(s)
	case result.NotEWS:
		f = notEWS(s)
	default:
		f = other(code, s)
	}
	return f.String()
}

func codeOr(code, def string) string {
	if code == "" {
		return def
	}
	return plain(code, def)
}

func verifyOnPrem(s Situation) []string {
	if s.Mailbox == "" {
		return []string{"# Verify: the service account must be listed",
			"Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers | Format-Table Name,EffectiveUserName,CustomRecipientWriteScope"}
	}
	return []string{"# Verify: the service account must be listed as able to impersonate the mailbox",
		"Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient " + s.mailbox() +
			" -GetEffectiveUsers | Format-Table Name,EffectiveUserName,CustomRecipientWriteScope"}
}

const replicationNote = "Role and group changes reach EWS only after AD replication and the RBAC cache refresh; wait, or recycle MSExchangeServicesAppPool on the Mailbox servers, before testing again."

// groupDN resolves a group to its DN at run time and escapes it for an OPATH literal, so a
// name with quotes cannot break the filter.
func groupDNLines(group string) []string {
	return []string{"$dn = (Get-Group -Identity " + Quote(group) + ").DistinguishedName -replace \"'\", \"''\""}
}

const memberOfFilter = `"MemberOfGroup -eq '$dn'"`

func impersonationDenied(s Situation) fix {
	if s.exo() {
		if s.AppID == "" {
			return retiredEXO(s)
		}
		f := fix{why: "The app's RBAC for Applications assignment does not cover " + plain(s.Mailbox, "this mailbox") +
			" (or an Application Access Policy restricts it). Bring the mailbox into the scope; role changes take 30 minutes to 2 hours to apply (Test-ServicePrincipalAuthorization shows the new state at once)."}
		f.cmds = append(f.cmds, "Test-ServicePrincipalAuthorization -Identity "+s.appID()+" -Resource "+s.mailbox()+" | Format-Table RoleName,AllowedResourceScope,ScopeType,InScope")
		f.cmds = append(f.cmds, widenScope(s, EXOScopeName)...)
		f.cmds = append(f.cmds, "# A legacy Application Access Policy may also restrict the app:",
			"Test-ApplicationAccessPolicy -Identity "+s.mailbox()+" -AppId "+s.appID())
		return f
	}
	f := fix{why: plain(s.Account, "The service account") + " holds ApplicationImpersonation, but " + plain(s.Mailbox, "the mailbox") +
		" is outside the assignment's write scope. Add the mailbox to the scope (or widen the scope). " + replicationNote}
	f.cmds = append(f.cmds, widenScope(s, OnPremScopeName)...)
	f.cmds = append(f.cmds, verifyOnPrem(s)...)
	return f
}

// widenScope: how to bring the mailbox into a scope defined by a group, a filter, or an
// unknown scope.
func widenScope(s Situation, scope string) []string {
	switch {
	case s.ScopeGroup != "":
		return []string{"# The scope covers direct members of the group only (nested groups do not count):",
			"Add-DistributionGroupMember -Identity " + Quote(s.ScopeGroup) + " -Member " + s.mailbox()}
	case s.ScopeFilter != "":
		return []string{"# The scope's filter is " + Quote(s.ScopeFilter) + "; make the mailbox match it, or widen it:",
			"Get-Recipient -Identity " + s.mailbox() + " | Format-List Name,Department,CustomAttribute*",
			"Set-ManagementScope -Identity " + Quote(scope) + " -RecipientRestrictionFilter " + Quote("<wider filter>")}
	}
	// The scope's name is unknown (a vendor's guide may have named it anything): read it
	// from the assignment itself, then show its filter.
	if scope == EXOScopeName {
		return []string{"# The scope of the app's assignment, whatever its name, and its filter:",
			"Get-ManagementRoleAssignment -Role " + Quote(EXOAppRole) + " -RoleAssignee " + s.spID() +
				" | ForEach-Object { if ($_.CustomResourceScope) { Get-ManagementScope -Identity $_.CustomResourceScope | Format-List Name,RecipientFilter } else { $_ | Format-List Name,Role,CustomResourceScope } }",
			"# Then make the mailbox match that filter (e.g. add it to the group it names), or widen it with Set-ManagementScope."}
	}
	return []string{"# The scope of the account's assignment (direct or through a role group), whatever its name, and its filter:",
		"Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee " + s.account() +
			" | ForEach-Object { if ($_.CustomRecipientWriteScope) { Get-ManagementScope -Identity $_.CustomRecipientWriteScope | Format-List Name,RecipientFilter,RecipientRoot } else { $_ | Format-List Name,CustomRecipientWriteScope,RecipientWriteScope } }",
		"# Then make the mailbox match that filter (e.g. add it to the group it names), or widen it with Set-ManagementScope."}
}

// scopeLines creates the scope the situation asks for (none when it is org-wide).
func scopeLines(s Situation, scope string) []string {
	switch {
	case s.ScopeGroup != "":
		return append(groupDNLines(s.ScopeGroup),
			"New-ManagementScope -Name "+Quote(scope)+" -RecipientRestrictionFilter "+memberOfFilter)
	case s.ScopeFilter != "":
		return []string{"New-ManagementScope -Name " + Quote(scope) + " -RecipientRestrictionFilter " + Quote(s.ScopeFilter)}
	}
	return nil
}

func scoped(s Situation) bool { return s.ScopeGroup != "" || s.ScopeFilter != "" }

func noImpersonationRight(s Situation) fix {
	if s.exo() {
		return retiredEXO(s)
	}
	f := fix{why: plain(s.Account, "The service account") + " has no ApplicationImpersonation role assignment (or it has not replicated yet). Assign the role" +
		map[bool]string{true: ", limited to the target mailboxes", false: ""}[scoped(s)] + ". " + replicationNote}
	f.cmds = append(f.cmds, scopeLines(s, OnPremScopeName)...)
	assign := "New-ManagementRoleAssignment -Name " + Quote(AssignmentName(s.Account)) + " -Role ApplicationImpersonation -User " + s.account()
	if scoped(s) {
		assign += " -CustomRecipientWriteScope " + Quote(OnPremScopeName)
	}
	f.cmds = append(f.cmds, assign)
	f.cmds = append(f.cmds, verifyOnPrem(s)...)
	f.cmds = append(f.cmds, "# An idempotent script with undo: deputy-cli script --kind "+map[bool]string{true: "onprem-scoped", false: "onprem-orgwide"}[scoped(s)])
	return f
}

// retiredEXO explains that classic impersonation is gone from Exchange Online and gives
// the replacement: app-only OAuth scoped with RBAC for Applications.
func retiredEXO(s Situation) fix {
	f := fix{why: "The ApplicationImpersonation role was retired in Exchange Online (new assignments blocked from September 2024, the role removed from February 2025); a service account can no longer impersonate there. Use app-only OAuth (an Entra app with full_access_as_app) scoped with RBAC for Applications. Warning: a tenant-wide admin consent for full_access_as_app in Entra ID grants every mailbox and overrides any scope; remove that consent once the RBAC assignment works."}
	if s.AppID != "" {
		f.why = "The app has no EWS permission for this mailbox: neither an RBAC for Applications assignment nor an Entra consent. " +
			"(ApplicationImpersonation is retired in Exchange Online; RBAC for Applications replaces it.) " +
			"Warning: a tenant-wide admin consent for full_access_as_app in Entra ID grants every mailbox and overrides any scope."
	}
	f.cmds = append(f.cmds, "New-ServicePrincipal -AppId "+s.appID()+" -ObjectId "+s.spID()+" -DisplayName "+Quote("EWS app "+plain(s.AppID, "")))
	f.cmds = append(f.cmds, scopeLines(s, EXOScopeName)...)
	assign := "New-ManagementRoleAssignment -App " + s.spID() + " -Role " + Quote(EXOAppRole)
	if scoped(s) {
		assign += " -CustomResourceScope " + Quote(EXOScopeName)
	}
	f.cmds = append(f.cmds, assign,
		"# Verify (InScope must be True):",
		"Test-ServicePrincipalAuthorization -Identity "+s.appID()+" -Resource "+s.mailbox()+" | Format-Table RoleName,AllowedResourceScope,InScope",
		"# The EWS allow-list must contain the app ID; merge it safely with: deputy-cli script --kind exo-rbac-apps")
	return f
}

// allowedAppIDsExpr reads $policy.EwsAllowedAppIDs as a list of app IDs. The property
// may come back as one comma-separated string or as a collection; "$(...)" of a
// collection would join it with spaces and fuse the IDs, so each element is split.
const allowedAppIDsExpr = `@(@($policy.EwsAllowedAppIDs) | ForEach-Object { "$_" -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })`

// AllowListMerge is the PowerShell that puts appID on the organisation's EWS allow-list
// (EwsAllowedAppIDs) without dropping an ID already there; the exo-rbac-apps script does
// the same with undo.
func AllowListMerge(appID string) string {
	return strings.Join([]string{
		"$appId = " + Quote(appID),
		"$policy = Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy",
		"$ids = " + allowedAppIDsExpr,
		"if ($ids -notcontains $appId) { $ids += $appId }",
		"Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($ids -join ',')",
		"# With EwsEnabled $true only the listed apps may use EWS: list your other EWS apps too.",
		"# Whole setup with undo: deputy-cli script --kind exo-rbac-apps --app-id " + plain(appID, "<application (client) ID>"),
	}, "\n")
}

func mailboxNotFound(s Situation) fix {
	side := "Exchange Online"
	hint := "RecipientTypeDetails RemoteUserMailbox means the mailbox lives in Exchange Online:"
	if s.exo() {
		side = "on-premises Exchange"
		hint = "RecipientTypeDetails MailUser means the mailbox lives on-premises:"
	}
	return fix{
		why: "No mailbox answers to " + plain(s.Mailbox, "this address") + ". Check the spelling and use the primary SMTP address. In a hybrid organisation the mailbox may live in " + side + ": test it against that side's EWS endpoint.",
		cmds: []string{"# " + hint,
			"Get-Recipient -Identity " + s.mailbox() + " | Format-List RecipientTypeDetails,PrimarySmtpAddress,EmailAddresses"},
	}
}

func accessDenied(code string, s Situation) fix {
	if s.exo() {
		f := fix{why: "Exchange Online refused EWS" + map[bool]string{true: " with HTTP 403", false: ""}[strings.Contains(code, "403")] +
			" (a policy block). Check in this order: the organisation's and the mailbox's EwsEnabled, the EwsAllowedAppIDs allow-list, the mailbox's licence (Kiosk/F1/F3-only mailboxes are blocked from EWS since 30 June 2026), an Application Access Policy, the RBAC scope. EWS in Exchange Online shuts down for good on 1 April 2027."}
		f.cmds = []string{"Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs,EwsApplicationAccessPolicy"}
		if s.Mailbox != "" {
			f.cmds = append(f.cmds, "Get-CASMailbox -Identity "+s.mailbox()+" | Format-List EwsEnabled")
			if s.AppID != "" {
				f.cmds = append(f.cmds, "Test-ServicePrincipalAuthorization -Identity "+s.appID()+" -Resource "+s.mailbox()+" | Format-Table RoleName,InScope",
					"Test-ApplicationAccessPolicy -Identity "+s.mailbox()+" -AppId "+s.appID())
			}
		}
		f.cmds = append(f.cmds, "# Add the app to the allow-list without dropping others: deputy-cli script --kind exo-rbac-apps")
		return f
	}
	f := fix{why: "The server refused the operation" + map[bool]string{true: " for " + plain(s.Mailbox, ""), false: ""}[s.Mailbox != ""] +
		" although the account was accepted: EWS may be disabled for the mailbox or the organisation, or an EWS allow/block list (matched on User-Agent) refuses Deputy."}
	if s.Mailbox != "" {
		f.cmds = append(f.cmds, "Get-CASMailbox -Identity "+s.mailbox()+" | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList")
	}
	f.cmds = append(f.cmds, "Get-OrganizationConfig | Format-List EwsEnabled,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList")
	if s.Mailbox != "" {
		f.cmds = append(f.cmds, "# If EwsEnabled is False:", "Set-CASMailbox -Identity "+s.mailbox()+" -EwsEnabled $true")
	}
	return f
}

func noMailbox(code string, s Situation) fix {
	// Under impersonation ErrorMissingEmailAddress is about the impersonated mailbox: the
	// "account without a mailbox" is then the target, not the service account.
	if s.aboutServiceAccount() {
		if s.exo() {
			return fix{why: plain(s.Account, "The service account") + " has no Exchange Online mailbox. Vendors require the service account to have its own mailbox: assign it a licence that includes an Exchange Online mailbox (not Kiosk/F1/F3 only: those are blocked from EWS since 30 June 2026).",
				cmds: []string{"# After assigning the licence, wait for the mailbox to appear:", "Get-Mailbox -Identity " + s.account() + " | Format-List PrimarySmtpAddress,RecipientTypeDetails"}}
		}
		return fix{why: plain(s.Account, "The service account") + " has no mailbox. Vendors require the service account to have its own mailbox (and, where applicable, an Exchange licence): create one.",
			cmds: []string{"Enable-Mailbox -Identity " + s.account(), "Get-Mailbox -Identity " + s.account() + " | Format-List PrimarySmtpAddress,Database"}}
	}
	return fix{why: plain(s.Mailbox, "The target") + " has no mailbox: it is a contact, a mail user or a group, or its mailbox was removed (or, in a hybrid organisation, lives on the other side). Remove it from the list, or give the user a mailbox.",
		cmds: []string{"Get-Recipient -Identity " + s.mailbox() + " | Format-List RecipientTypeDetails,PrimarySmtpAddress"}}
}

func throttled(s Situation) fix {
	if s.exo() {
		return fix{why: "Exchange Online throttled Deputy (EWSMaxConcurrency: 27 concurrent connections per account or app). Exchange Online budgets cannot be changed: rerun with a lower --concurrency (e.g. 8); Deputy honours the server's BackOffMilliseconds."}
	}
	return fix{why: "The server throttled Deputy (EWSMaxConcurrency defaults to 27 concurrent connections; the impersonating account has its own budget). Rerun with a lower --concurrency (e.g. 8). If the application itself needs more, give the service account a dedicated throttling policy:",
		cmds: []string{
			"New-ThrottlingPolicy -Name " + Quote(ThrottlingPolicy) + " -ThrottlingPolicyScope Regular -EwsMaxConcurrency 50",
			"Set-ThrottlingPolicyAssociation -Identity " + s.account() + " -ThrottlingPolicy " + Quote(ThrottlingPolicy),
			"Get-ThrottlingPolicyAssociation -Identity " + s.account() + " | Format-List ThrottlingPolicyId",
		}}
}

func transient(code string, s Situation) fix {
	switch code {
	case "ErrorMailboxMoveInProgress":
		return fix{why: "The mailbox " + plain(s.Mailbox, "") + " is being moved. Test again when the move has completed.",
			cmds: []string{"Get-MoveRequest -Identity " + s.mailbox() + " | Format-List Status,PercentComplete"}}
	case "ErrorMailboxStoreUnavailable", "ErrorConnectionFailed", "ErrorMailboxLogonFailed":
		if !s.exo() {
			return fix{why: "EWS could not open the mailbox store (" + plain(code, "") + "): the database may be dismounted, failing over or overloaded. Check it, then test again.",
				cmds: []string{"Get-Mailbox -Identity " + s.mailbox() + " | Format-List Database,ServerName",
					"Get-MailboxDatabase -Status | Format-Table Name,Server,Mounted"}}
		}
	}
	return fix{why: "A temporary server-side failure (" + codeOr(code, "busy, timeout or unavailable") + ") persisted through Deputy's retries. Test again later; if it keeps happening for the same mailboxes, check the mailbox server's health."}
}

func authFailed(code string, s Situation) fix {
	if code == "ErrorImpersonationFailed" {
		return other(code, s) // the server's own server-to-server failure, not the password
	}
	if s.exo() {
		why := "Exchange Online refused the credentials. Check the tenant ID and client ID, that the client secret or certificate has not expired, and that admin consent was granted for full_access_as_app (Office 365 Exchange Online). The x-ms-diagnostics reason in the evidence says which."
		switch {
		case strings.Contains(code, "2000003"):
			why = "The token was issued for the wrong audience (x-ms-diagnostics 2000003): EWS needs a token for https://outlook.office365.com/.default, not Microsoft Graph. Check the scope in the profile."
		case s.AppID == "":
			why += " Basic authentication to EWS in Exchange Online was turned off in 2022: only OAuth works."
		}
		return fix{why: why}
	}
	return fix{why: "The server refused " + plain(s.Account, "the service account") + "'s credentials: wrong password, a locked-out or disabled account, an expired password, or the EWS virtual directory does not offer the scheme Deputy used (NTLM, Basic). With NTLM, also Extended Protection (on by default since Exchange Server 2019 CU14) where it requires channel binding: Deputy's NTLM sends none, so such a server refuses it even with the right password — a test with Basic over TLS tells the two apart. Compare the schemes the server offered (in the evidence) with the vdir:",
		cmds: []string{
			"Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl,*Authentication*,ExtendedProtectionTokenChecking",
			"Get-ADUser -Identity (Get-User -Identity " + s.account() + ").SamAccountName -Properties LockedOut,Enabled,PasswordExpired,PasswordLastSet | Format-List Enabled,LockedOut,PasswordExpired,PasswordLastSet",
		}}
}

func versionError(s Situation) fix {
	f := fix{why: "The server rejected every RequestServerVersion Deputy tried. The mailbox is probably on an older server than the EWS endpoint (a cross-version proxy), or the endpoint is not the mailbox's own site. Check where it lives and test against that server's EWS URL."}
	if !s.exo() {
		f.cmds = []string{"Get-Mailbox -Identity " + s.mailbox() + " | Format-List ServerName,Database",
			"Get-ExchangeServer | Format-Table Name,Site,AdminDisplayVersion"}
	}
	return f
}

func headerInvalid(s Situation) fix {
	// In Exchange Online the code also means the header is missing: Deputy sends none
	// only when it acts as no mailbox, and an app-only token must always act as one.
	if s.exo() && s.Mailbox == "" {
		return fix{why: "Exchange Online refused the request because it carried no ExchangeImpersonation header: an app-only token has no mailbox of its own and must act as a mailbox in every EWS request. Give Deputy a mailbox to act as: the service mailbox (deputy-cli diagnose --service-mailbox ADDRESS; in the window: Own mailbox) or at least one target mailbox."}
	}
	return fix{why: "The server rejected the ExchangeImpersonation header's identifier for " + plain(s.Mailbox, "this mailbox") + " (empty or malformed). Use the mailbox's primary SMTP address in the list." +
		map[bool]string{true: " App-only tokens must always impersonate.", false: ""}[s.exo()],
		cmds: []string{"Get-Recipient -Identity " + s.mailbox() + " | Format-List PrimarySmtpAddress"}}
}

func notEWS(s Situation) fix {
	if s.exo() {
		return fix{why: "The URL did not answer as EWS (HTML, a login page or a redirect). The Exchange Online endpoint is https://outlook.office365.com/EWS/Exchange.asmx; a proxy on your network may also be intercepting it."}
	}
	return fix{why: "The URL did not answer as EWS (HTML, a login page or a redirect): either it is the wrong URL, or a reverse proxy with forms pre-authentication (ADFS/WAP, F5, …) sits in front of /EWS. Use the EWS URL Exchange publishes, and publish /EWS with pass-through authentication (no pre-auth), or test against the internal URL.",
		cmds: []string{"Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl"}}
}

func other(code string, s Situation) fix {
	switch code {
	case "tls":
		if s.exo() {
			return fix{why: "The TLS connection to Exchange Online failed: a proxy or security appliance on your network is probably intercepting HTTPS. Exempt outlook.office365.com and login.microsoftonline.com from TLS inspection."}
		}
		return fix{why: "The TLS connection failed: the server's certificate is not trusted here, does not name this host, or has expired. Fix the certificate bound to IIS on the Exchange servers, or (lab only) pin its SHA-256 fingerprint in the profile.",
			cmds: []string{"Get-ExchangeCertificate | Format-List Subject,CertificateDomains,NotAfter,Services,Thumbprint"}}
	case "network":
		return fix{why: "Deputy could not reach the server: check the host name (DNS), firewalls and any proxy between this computer and the EWS endpoint on port 443, then test again."}
	case "ErrorImpersonationFailed":
		return fix{why: "Exchange failed its own server-to-server authorisation (ErrorImpersonationFailed): the EWS application pool identity, directory access or a cross-forest trust is broken. This is a server problem: check the Application event log on the Mailbox servers."}
	case "ErrorNoRespondingCASInDestinationSite", "ErrorProxyServiceDiscoveryFailed",
		"ErrorNoDestinationCASDueToKerberosRequirements", "ErrorNoDestinationCASDueToSSLRequirements", "ErrorNoDestinationCASDueToVersionMismatch":
		return fix{why: "The endpoint could not proxy the request to the mailbox's site (" + plain(code, "") + "). Test against the EWS URL of the site that hosts the mailbox.",
			cmds: []string{"Get-Mailbox -Identity " + s.mailbox() + " | Format-List ServerName", "Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl"}}
	}
	return fix{why: "Deputy could not classify this failure" + map[bool]string{true: " (server code " + plain(code, "") + ")", false: ""}[code != ""] +
		". Rerun with --trace and attach the report to your ticket; the traces are redacted."}
}

// ClassTitle names a class for people: report headings, the window's group labels.
func ClassTitle(c result.Class) string {
	switch c {
	case result.OK:
		return "OK"
	case result.ImpersonationDenied:
		return "Outside the impersonation scope"
	case result.NoImpersonationRight:
		return "No impersonation right"
	case result.MailboxNotFound:
		return "Mailbox not found"
	case result.AccessDenied:
		return "Access denied"
	case result.NoMailbox:
		return "No mailbox"
	case result.Throttled:
		return "Throttled by the server"
	case result.Transient:
		return "Temporary server failure"
	case result.AuthFailed:
		return "Authentication failed"
	case result.VersionError:
		return "Exchange version mismatch"
	case result.SchemaError:
		return "Request rejected (Deputy bug)"
	case result.HeaderInvalid:
		return "Invalid impersonation header"
	case result.NotEWS:
		return "Not an EWS endpoint"
	case result.Other, "":
		return "Other error"
	}
	return scrub(string(c))
}
