package graph

import (
	"fmt"
	"strings"

	"deputy/internal/result"
	"deputy/internal/setup"
)

// Situation is what a Graph fix depends on. Empty fields become quoted placeholders.
type Situation struct {
	AppID      string // application (client) ID
	AppName    string // display name in App registrations (prose only)
	SPObjectID string // service principal object ID (Enterprise applications)
	Tenant     string // tenant ID or domain
	Mailbox    string // the mailbox the fix is about
	ScopeName  string // management scope name; default GraphScopeName
	ScopeGroup string // group whose direct members are in scope (name or DN)
	// Write: the failure was the write test (create/delete an event), reads work.
	Write bool
	// RBACOnly: the token carries no Calendars permission (access only via RBAC for Apps).
	RBACOnly bool
	// AccessPolicy: Graph's 403 carried [RAOP] (an Application Access Policy).
	AccessPolicy bool
}

// Names the fixes use, so a remediation refers to the set-up the script
// (deputy-cli script --kind exo-graph-rbac-apps) creates.
const (
	GraphScopeName = setup.EXOGraphScopeName
	GraphAppRole   = "Application " + setup.GraphRoleReadWrite
)

// Remediation is the fix for a Graph mailbox failure of class c with Graph code code.
// Every value enters PowerShell as a single-quoted literal (setup.Quote).
func Remediation(c result.Class, code string, s Situation) string {
	if c == result.OK {
		return ""
	}
	return remediation(c, code, s).String()
}

// fix is prose then PowerShell lines (# lines are comments).
type fix struct {
	why  string
	cmds []string
}

func (f fix) String() string {
	if len(f.cmds) == 0 {
		return f.why
	}
	return f.why + "\n" + strings.Join(f.cmds, "\n")
}

func q(v, placeholder string) string {
	if strings.TrimSpace(v) == "" {
		return setup.Quote(placeholder)
	}
	return setup.Quote(v)
}

func (s Situation) app() string     { return q(s.AppID, "<application (client) ID>") }
func (s Situation) mailbox() string { return q(s.Mailbox, "<mailbox>") }
func (s Situation) scope() string {
	if s.ScopeName == "" {
		return setup.Quote(GraphScopeName)
	}
	return setup.Quote(s.ScopeName)
}
func (s Situation) mbxProse() string {
	if s.Mailbox == "" {
		return "the mailbox"
	}
	return clean(s.Mailbox, 320)
}

// consentWarning: RBAC grants are added to Entra consents, so a tenant-wide consent
// silently defeats every scope.
const consentWarning = "Warning: a tenant-wide admin consent in Entra ID for the same Graph permission (Calendars.ReadWrite, Calendars.Read or Calendars.ReadBasic) grants the app EVERY mailbox, whatever the management scope says — remove that consent (Entra admin center → Enterprise applications → the app → Permissions) if the app should reach only the scoped mailboxes."

// scriptCommand is the deputy-cli line that writes the whole set-up (idempotent, -WhatIf,
// verification, undo) for this app; role "" is the script's default, Calendars.ReadWrite.
func scriptCommand(s Situation, role string) string {
	return "# the whole set-up as one script (looks before it creates, honours -WhatIf, has an --undo): " +
		setup.Command(setup.EXOGraphRBACApps, setup.Input{AppID: s.AppID, SPObjectID: s.SPObjectID, ScopeGroup: s.ScopeGroup, VerifyMailbox: s.Mailbox, GraphRole: role}, false)
}

// rbacLines are the RBAC for Applications set-up with a management scope: first the
// deputy-cli command that writes it as a script, then the same steps inline.
func rbacLines(s Situation) []string {
	group := q(s.ScopeGroup, "<group DN from Get-Group>")
	filter := "MemberOfGroup -eq " + group
	return []string{
		scriptCommand(s, ""),
		"Connect-ExchangeOnline",
		"# once per app: the Exchange service principal pointing at the Entra app (IDs from Enterprise applications)",
		"New-ServicePrincipal -AppId " + s.app() + " -ObjectId " + q(s.SPObjectID, "<object ID from Entra ID > Enterprise applications>"),
		"New-ManagementScope -Name " + s.scope() + " -RecipientRestrictionFilter " + setup.Quote(filter),
		"New-ManagementRoleAssignment -App " + s.app() + " -Role " + setup.Quote(GraphAppRole) + " -CustomResourceScope " + s.scope(),
		"Test-ServicePrincipalAuthorization -Identity " + s.app() + " -Resource " + s.mailbox() + " | Format-Table",
	}
}

func remediation(c result.Class, code string, s Situation) fix {
	mbx := s.mbxProse()
	switch c {
	case result.ImpersonationDenied:
		if s.AccessPolicy {
			return fix{
				why: fmt.Sprintf("An Application Access Policy keeps the app out of %s ([RAOP]: blocked by the tenant's AppOnly AccessPolicy settings). Application Access Policies are legacy: prefer RBAC for Applications (below). To let the policy admit the mailbox, add it to the policy's group (a mail-enabled security group); a changed policy can take 30 minutes to a few hours to apply — Test-ApplicationAccessPolicy shows the new state at once.", mbx),
				cmds: append([]string{
					"Test-ApplicationAccessPolicy -Identity " + s.mailbox() + " -AppId " + s.app(),
					"Get-ApplicationAccessPolicy | Where-Object AppId -eq " + s.app() + " | Format-List ScopeName,AccessRight,ScopeIdentity",
					"Add-DistributionGroupMember -Identity " + q(s.ScopeGroup, "<policy scope group>") + " -Member " + s.mailbox(),
					"# or move to RBAC for Applications:",
				}, rbacLines(s)...),
			}
		}
		return fix{
			why: fmt.Sprintf("The app reaches mailboxes through RBAC for Applications, and %s is outside its management scope. Add the mailbox to the scope's group (direct members only), or widen the scope; Exchange caches assignments for 30 minutes to 2 hours, Test-ServicePrincipalAuthorization shows the new state at once. %s", mbx, consentWarning),
			cmds: append([]string{
				"Test-ServicePrincipalAuthorization -Identity " + s.app() + " -Resource " + s.mailbox() + " | Format-Table",
				"Add-DistributionGroupMember -Identity " + q(s.ScopeGroup, "<scope group>") + " -Member " + s.mailbox(),
				"# or, if the app has no assignment yet:",
			}, rbacLines(s)...),
		}
	case result.AccessDenied:
		if s.Write {
			return fix{
				why: fmt.Sprintf("Reads work but Graph refused to create or delete an event in %s: the app holds a read-only grant (Calendars.Read or Calendars.ReadBasic, or the RBAC role Application Calendars.Read). Grant %s instead (scoped with RBAC for Applications, or as the Entra application permission Calendars.ReadWrite). %s", mbx, GraphAppRole, consentWarning),
				cmds: []string{
					scriptCommand(s, setup.GraphRoleReadWrite),
					"Get-ManagementRoleAssignment -RoleAssignee " + s.app() + " | Format-Table Name,Role,CustomResourceScope",
					"New-ManagementRoleAssignment -App " + s.app() + " -Role " + setup.Quote(GraphAppRole) + " -CustomResourceScope " + s.scope(),
					"Test-ServicePrincipalAuthorization -Identity " + s.app() + " -Resource " + s.mailbox() + " | Format-Table",
				},
			}
		}
		return fix{
			why:  fmt.Sprintf("Graph refused the app access to %s (ErrorAccessDenied, no access-policy marker): the app has neither the Graph application permission Calendars.ReadWrite consented in Entra ID nor an RBAC for Applications assignment that covers the mailbox. Scoped set-up (recommended): give the app the RBAC role %s with a management scope. Tenant-wide alternative: %s (consent link: %s). %s", mbx, GraphAppRole, PortalPath(s.AppName, RoleCalendarsReadWrite), AdminConsentURL(s.Tenant, s.AppID), consentWarning),
			cmds: rbacLines(s),
		}
	case result.MailboxNotFound:
		return fix{
			why:  fmt.Sprintf("Graph knows no user %s (%s): the address is misspelt, the user was deleted, or it is a secondary (proxy) address Graph does not resolve — use the user principal name or primary SMTP address.", mbx, codeOr(code, CodeInvalidUser)),
			cmds: []string{"Get-EXORecipient -Identity " + s.mailbox() + " | Format-List PrimarySmtpAddress,RecipientTypeDetails,ExternalDirectoryObjectId"},
		}
	case result.NoMailbox:
		return fix{
			why: fmt.Sprintf("Graph cannot reach the mailbox of %s (%s: REST API is not yet supported for this mailbox). Either the mailbox is on-premises in a hybrid organisation (Graph reaches only Exchange Online mailboxes: move it to Exchange Online, or keep serving it through EWS on Exchange Server SE), or the user has no Exchange Online licence, or it is a guest without a mailbox.", mbx, codeOr(code, CodeMailboxNotEnabled)),
			cmds: []string{
				"Get-EXORecipient -Identity " + s.mailbox() + " | Format-List RecipientTypeDetails  # MailUser = on-premises (hybrid) or guest",
				"# on-premises mailbox (Exchange Management Shell, hybrid): move it to Exchange Online",
				"New-MoveRequest -Identity " + s.mailbox() + " -Remote -RemoteHostName " + setup.Quote("<hybrid endpoint>") + " -TargetDeliveryDomain " + setup.Quote("<tenant>.mail.onmicrosoft.com") + " -RemoteCredential (Get-Credential)",
				"# no licence: assign one with an Exchange Online plan (Microsoft 365 admin center → Users → Licenses and apps)",
			},
		}
	case result.Throttled:
		return fix{why: "Graph throttled the app (429 Too Many Requests). Deputy waited as long as Graph's Retry-After asked; run again with a lower --concurrency, or later. Mailboxes that stayed throttled were not proven either way."}
	case result.Transient:
		return fix{why: fmt.Sprintf("Graph answered with a server error or timed out (%s). This is Microsoft's side or the network; run again later. If it persists for one mailbox, open a support case with the request-id shown in the trace.", codeOr(code, "5xx"))}
	case result.AuthFailed:
		return fix{why: fmt.Sprintf("Graph rejected the access token (%s). Check the token check above: the token must be app-only, for %s, not expired, from the right tenant.", codeOr(code, CodeInvalidAuthToken), Resource)}
	}
	return fix{why: fmt.Sprintf("Graph answered %s for %s; see the message, and the trace (--trace) for the full reply.", codeOr(code, "an unexpected error"), mbx)}
}

func codeOr(code, def string) string {
	if code == "" {
		return def
	}
	return code
}
