package setup

import (
	"errors"
	"fmt"
	"strings"

	"deputy/internal/result"
)

// Kind is a setup situation the assistant writes a script for.
type Kind string

const (
	OnPremOrgWide   Kind = "onprem-orgwide"   // ApplicationImpersonation for every mailbox
	OnPremScoped    Kind = "onprem-scoped"    // ApplicationImpersonation limited by a management scope
	OnPremRoleGroup Kind = "onprem-rolegroup" // a role group (ApplicationImpersonation + View-Only Configuration)
	EXORBACApps     Kind = "exo-rbac-apps"    // Exchange Online: app-only + RBAC for Applications + EWS allow-list
	// EXOGraphRBACApps: Exchange Online, a Microsoft Graph app (Calendars.*) scoped with RBAC
	// for Applications — the path after EWS in Exchange Online shuts down (1 April 2027).
	EXOGraphRBACApps Kind = "exo-graph-rbac-apps"
	// EXOClassic is what an admin asks for when they want ApplicationImpersonation in
	// Exchange Online. It has no script: Script returns a *RetiredError explaining why.
	EXOClassic Kind = "exo-classic"
)

// Kinds lists the kinds that produce a script, in the order the window offers them.
var Kinds = []Kind{OnPremScoped, OnPremOrgWide, OnPremRoleGroup, EXORBACApps, EXOGraphRBACApps}

// ParseKind accepts a kind's name as the CLI spells it.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	switch k {
	case OnPremOrgWide, OnPremScoped, OnPremRoleGroup, EXORBACApps, EXOGraphRBACApps, EXOClassic:
		return k, nil
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown script kind %q (want one of %s)", s, strings.Join(names, ", "))
}

// Title is a one-line description of the kind for menus and headers.
func (k Kind) Title() string {
	switch k {
	case OnPremOrgWide:
		return "On-premises Exchange: ApplicationImpersonation for all mailboxes"
	case OnPremScoped:
		return "On-premises Exchange: ApplicationImpersonation limited to a scope"
	case OnPremRoleGroup:
		return "On-premises Exchange: role group with ApplicationImpersonation and View-Only Configuration"
	case EXORBACApps:
		return "Exchange Online: app-only EWS with RBAC for Applications and the EWS allow-list"
	case EXOGraphRBACApps:
		return "Exchange Online: Microsoft Graph app with RBAC for Applications"
	case EXOClassic:
		return "Exchange Online: ApplicationImpersonation (retired)"
	}
	return string(k)
}

// Help is two or three sentences for the window's Setup tab: when to pick this kind.
func (k Kind) Help() string {
	switch k {
	case OnPremScoped:
		return "Recommended for Exchange Server. The service account may act only as the mailboxes in a management scope: the members of a group, a list of mailboxes (put into a group the script creates), or a recipient filter such as a department."
	case OnPremOrgWide:
		return "The service account may act as every mailbox in the organisation, including those of disabled users. Simple, but Microsoft discourages it: prefer the scoped setup."
	case OnPremRoleGroup:
		return "Puts ApplicationImpersonation (optionally scoped) and View-Only Configuration into a role group and makes the service account a member, as many vendors' guides do. The rights stay visible and reusable in one group."
	case EXORBACApps:
		return "For Exchange Online: an Entra app with app-only OAuth, limited to the mailboxes in scope by RBAC for Applications, and put on the EWS allow-list without removing other apps. Needs the app (client) ID and the object ID from Entra ID > Enterprise applications."
	case EXOGraphRBACApps:
		return "For Exchange Online after EWS: an Entra app using Microsoft Graph (Calendars.ReadWrite, Calendars.Read or Calendars.ReadBasic), limited to the mailboxes in scope by RBAC for Applications. The scope only bites once the tenant-wide Entra consent for the same permission is removed. Needs the app (client) ID and the object ID from Entra ID > Enterprise applications."
	case EXOClassic:
		return "ApplicationImpersonation no longer exists in Exchange Online; Deputy explains what replaces it instead of writing a script that cannot work."
	}
	return ""
}

// DefaultTargetGroup is the group the scoped scripts create for a listed set of mailboxes.
const DefaultTargetGroup = "EWS Impersonation Targets"

// Input is everything a script needs. Which fields are required depends on the kind.
type Input struct {
	Exchange      string   // "2016" | "2019" | "SE" | "" (on-premises only; shown in the header)
	Account       string   // service account (on-premises kinds): UPN, DOMAIN\user or alias
	AppID         string   // Entra application (client) ID (exo-rbac-apps)
	SPObjectID    string   // object ID of the app's service principal (Entra ID > Enterprise applications)
	DisplayName   string   // display name for the Exchange service principal pointer; default "EWS app <AppID>"
	ScopeGroup    string   // scope: members of this group (name or DN); with Members, the group to create
	ScopeFilter   string   // scope: an OPATH recipient filter, e.g. Department -eq 'Sales'
	Members       []string // scope: a listed set of mailboxes, put into ScopeGroup (created if missing)
	VerifyMailbox string   // a mailbox the verification section tests; optional
	Rooms         bool     // room mailboxes are targets too (adds a note on scoping rooms)
	// GraphRole is the Graph calendar permission for exo-graph-rbac-apps: Calendars.ReadWrite
	// (default when empty), Calendars.Read or Calendars.ReadBasic (see GraphRoles). Other
	// kinds reject it.
	GraphRole string
}

// InputFrom maps a diagnosis situation onto script input.
func InputFrom(s Situation) Input {
	return Input{Exchange: s.Exchange, Account: s.Account, AppID: s.AppID, SPObjectID: s.SPObjectID,
		ScopeGroup: s.ScopeGroup, ScopeFilter: s.ScopeFilter, VerifyMailbox: s.Mailbox, Rooms: s.Rooms}
}

// SituationFrom takes what a diagnosis result says about the setup: environment, service
// account, app ID. Scope and mailbox are not in a result; the caller adds them.
func SituationFrom(p result.Profile) Situation {
	s := Situation{Environment: p.Environment, Account: p.ServiceAccount}
	if p.Environment == result.EXO {
		s.AppID = p.ClientID
		s.Protocol = p.Protocol
	}
	return s
}

// KindFor picks the script for a situation: Exchange Online → exo-rbac-apps, or
// exo-graph-rbac-apps when the protocol is Graph only (exo-classic when there is no app,
// only a user account); on-premises → scoped when a scope is known.
func KindFor(s Situation) Kind {
	if s.Environment == result.EXO {
		if s.AppID == "" && s.Account != "" {
			return EXOClassic
		}
		if s.Protocol == "graph" {
			return EXOGraphRBACApps
		}
		return EXORBACApps
	}
	if s.ScopeGroup != "" || s.ScopeFilter != "" {
		return OnPremScoped
	}
	return OnPremOrgWide
}

// RetiredError is Script's answer for EXOClassic: no script can work, and Explanation says
// what to do instead.
type RetiredError struct{ Explanation string }

func (e *RetiredError) Error() string {
	return "ApplicationImpersonation is retired in Exchange Online; use --kind exo-rbac-apps (app-only OAuth with RBAC for Applications)"
}

// Script is a generated PowerShell script.
type Script struct {
	Kind     Kind
	Undo     bool
	Title    string
	FileName string // suggested file name, e.g. deputy-onprem-scoped.ps1
	Text     string // LF line endings, no BOM (Bytes gives the file form)
}

func (s *Script) String() string { return s.Text }

// Bytes is the file as Windows PowerShell 5.1 reads it reliably: UTF-8 with a BOM (without
// one, 5.1 reads the file as ANSI and mangles non-ASCII names) and CRLF line endings.
func (s *Script) Bytes() []byte {
	t := strings.ReplaceAll(s.Text, "\r\n", "\n")
	t = strings.ReplaceAll(t, "\n", "\r\n")
	return append([]byte{0xEF, 0xBB, 0xBF}, t...)
}

// Generate writes the script for kind (or its removal, with undo) after validating in.
// Errors are *InputError (bad or missing input) or *RetiredError (EXOClassic).
func Generate(kind Kind, in Input, undo bool) (*Script, error) {
	if kind == EXOClassic {
		return nil, &RetiredError{Explanation: classicExplanation}
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if err := validate(kind, in, undo); err != nil {
		return nil, err
	}
	return render(kind, in, undo), nil
}

// render writes the script; the input is already validated (the hostile-input test calls
// it directly to prove quoting alone keeps values inert).
func render(kind Kind, in Input, undo bool) *Script {
	w := &psw{}
	switch kind {
	case OnPremOrgWide, OnPremScoped:
		onPremAssignment(w, kind, in, undo)
	case OnPremRoleGroup:
		onPremRoleGroup(w, in, undo)
	case EXORBACApps:
		exoRBAC(w, in, undo)
	case EXOGraphRBACApps:
		exoGraphRBAC(w, in, undo)
	}
	name := "deputy-" + string(kind)
	title := kind.Title()
	if undo {
		name += "-undo"
		title = "Undo — " + title
	}
	return &Script{Kind: kind, Undo: undo, Title: title, FileName: name + ".ps1", Text: w.String()}
}

const classicExplanation = `The ApplicationImpersonation role no longer exists in Exchange Online: Microsoft blocked new
assignments from September 2024 and removed the role from February 2025. A script that assigns
it would fail, and a service account with a password cannot impersonate in Exchange Online.

What works instead (until EWS in Exchange Online shuts down on 1 April 2027):
  1. Register an app in Entra ID with the application permission full_access_as_app
     (Office 365 Exchange Online) and a certificate or client secret.
  2. Scope it with RBAC for Applications: New-ServicePrincipal, New-ManagementScope,
     New-ManagementRoleAssignment -App ... -Role "Application EWS.AccessAsApp" -CustomResourceScope ...
  3. Put the app ID on the EWS allow-list (Set-OrganizationConfig -EwsAllowedAppIDs, merged).
  4. Remove the tenant-wide admin consent for full_access_as_app, otherwise it overrides the scope.

Deputy writes that script: deputy-cli script --kind exo-rbac-apps --app-id <application (client) ID>
--sp-object-id <object ID from Entra ID > Enterprise applications> [--scope-group G | --scope-filter F].
Plan the move to Microsoft Graph (Application Calendars.ReadWrite via RBAC for Applications).`

func validate(kind Kind, in Input, undo bool) error {
	onprem := kind != EXORBACApps && kind != EXOGraphRBACApps
	if in.Exchange != "" {
		switch in.Exchange {
		case "2016", "2019", "SE":
		default:
			return inputErr("Exchange version", in.Exchange, "must be 2016, 2019 or SE")
		}
	}
	if onprem {
		if in.Account == "" {
			return inputErr("service account", "", "is required (user@domain or DOMAIN\\user)")
		}
		if err := ValidateAccount("service account", in.Account); err != nil {
			return err
		}
		if in.AppID != "" || in.SPObjectID != "" {
			return inputErr("app ID", in.AppID, "applies to Exchange Online only (--kind exo-rbac-apps)")
		}
	} else {
		if in.AppID == "" {
			return inputErr("app ID", "", "is required: the application (client) ID of the Entra app (the profile's client ID)")
		}
		if err := ValidateGUID("app ID", in.AppID); err != nil {
			return err
		}
		if in.SPObjectID == "" {
			return inputErr("service principal object ID", "", "is required: copy it from Entra ID > Enterprise applications > the app > Object ID (not from App registrations)")
		}
		if err := ValidateGUID("service principal object ID", in.SPObjectID); err != nil {
			return err
		}
		if strings.EqualFold(in.AppID, in.SPObjectID) {
			return inputErr("service principal object ID", in.SPObjectID, "equals the app ID; the object ID is a different GUID on the Enterprise applications page")
		}
		if in.DisplayName != "" {
			if err := ValidateName("display name", in.DisplayName); err != nil {
				return err
			}
		}
	}
	if kind == EXOGraphRBACApps {
		if _, err := ParseGraphRole(in.GraphRole); err != nil {
			return err
		}
	} else if in.GraphRole != "" {
		return inputErr("Graph role", in.GraphRole, "applies to --kind exo-graph-rbac-apps only")
	}
	if in.ScopeGroup != "" {
		if err := ValidateName("scope group", in.ScopeGroup); err != nil {
			return err
		}
	}
	if in.ScopeFilter != "" {
		if err := ValidateFilter("scope filter", in.ScopeFilter); err != nil {
			return err
		}
		if in.ScopeGroup != "" || len(in.Members) > 0 {
			return inputErr("scope", "", "give either a group (or a list of mailboxes) or a filter, not both")
		}
	}
	if len(in.Members) > 10000 {
		return inputErr("mailbox list", "", "has more than 10,000 entries; use a group or a filter instead")
	}
	for _, m := range in.Members {
		if err := ValidateAddress("mailbox", m); err != nil {
			return err
		}
	}
	if in.VerifyMailbox != "" {
		if err := ValidateAddress("verification mailbox", in.VerifyMailbox); err != nil {
			return err
		}
	}
	if kind == OnPremScoped && !undo && in.ScopeGroup == "" && in.ScopeFilter == "" && len(in.Members) == 0 {
		return inputErr("scope", "", "is required for onprem-scoped: a group (--scope-group), a filter (--scope-filter) or a list of mailboxes")
	}
	return nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		k := strings.ToLower(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// psw builds a script line by line. Values only ever enter through Quote.
type psw struct{ b strings.Builder }

func (w *psw) l(lines ...string) {
	for _, s := range lines {
		w.b.WriteString(s)
		w.b.WriteByte('\n')
	}
}

// v declares $name = 'value'.
func (w *psw) v(name, value string) { w.l("$" + name + " = " + Quote(value)) }

func (w *psw) String() string { return w.b.String() }

func (w *psw) header(title string, about []string, requires []string) {
	w.l("# "+title, "#")
	for _, a := range about {
		if a == "" {
			w.l("#")
		} else {
			w.l("# " + a)
		}
	}
	w.l("#",
		"# Generated by Deputy. Review it, then run it once with -WhatIf to see every change it",
		"# would make; run it again without -WhatIf to apply. Running it twice is harmless: it",
		"# looks before it creates and leaves what is already right alone.",
		"")
	w.l("#Requires -Version 5.1")
	for _, r := range requires {
		w.l("#Requires " + r)
	}
	w.l("[CmdletBinding(SupportsShouldProcess)]",
		"param()",
		"",
		"Set-StrictMode -Version Latest",
		"$ErrorActionPreference = 'Stop'",
		"")
}

func exchangeNote(v string) string {
	switch v {
	case "2016", "2019":
		return "Exchange Server " + v + " has been out of support since 14 October 2025; Exchange Server SE is the supported version. ApplicationImpersonation works the same on all three."
	case "SE":
		return "Target: Exchange Server Subscription Edition (SE)."
	}
	return "Works on Exchange Server 2016, 2019 and Subscription Edition (SE)."
}

func (w *psw) needEMS() {
	w.l("if (-not (Get-Command -Name Get-ManagementRoleAssignment -ErrorAction SilentlyContinue)) {",
		"    throw 'Run this script in the Exchange Management Shell (or a remote session to Exchange), as a member of Organization Management.'",
		"}",
		"")
}

func (w *psw) needAccount() {
	w.l("$user = Get-User -Identity $Account -ErrorAction SilentlyContinue",
		"if (-not $user) {",
		"    throw \"Service account '$Account' was not found. Check the name (user@domain or DOMAIN\\user).\"",
		"}",
		"")
}

// scopeVars declares the scope's inputs as variables.
func scopeVars(w *psw, in Input) {
	switch {
	case in.ScopeFilter != "":
		w.v("Filter", in.ScopeFilter)
	case len(in.Members) > 0:
		g := in.ScopeGroup
		if g == "" {
			g = DefaultTargetGroup
		}
		w.v("TargetGroup", g)
		w.l("$Members = @(")
		for _, m := range dedupe(in.Members) {
			w.l("    " + Quote(m))
		}
		w.l(")")
	case in.ScopeGroup != "":
		w.v("TargetGroup", in.ScopeGroup)
	}
}

// scopeFilterStep leaves the OPATH filter in $filter ($null under -WhatIf when the group
// does not exist yet).
func scopeFilterStep(w *psw, in Input) {
	switch {
	case in.ScopeFilter != "":
		w.l("# The scope is your recipient filter, used as is.",
			"$filter = $Filter",
			"")
		return
	case len(in.Members) > 0:
		w.l("# The listed mailboxes go into a mail-enabled security group; the scope is its",
			"# direct members. Add or remove mailboxes later with Add-/Remove-DistributionGroupMember.",
			"$group = Get-DistributionGroup -Identity $TargetGroup -ErrorAction SilentlyContinue",
			"if (-not $group -and $PSCmdlet.ShouldProcess($TargetGroup, 'Create mail-enabled security group')) {",
			"    $group = New-DistributionGroup -Name $TargetGroup -Type Security",
			"    Write-Host \"Created group '$TargetGroup'.\"",
			"}",
			"if ($group) {",
			"    $current = @(Get-DistributionGroupMember -Identity $group.Identity -ResultSize Unlimited | ForEach-Object { \"$($_.PrimarySmtpAddress)\" })",
			"    foreach ($m in $Members) {",
			"        if ($current -notcontains $m -and $PSCmdlet.ShouldProcess($m, \"Add to group '$TargetGroup'\")) {",
			"            Add-DistributionGroupMember -Identity $group.Identity -Member $m -BypassSecurityGroupManagerCheck",
			"        }",
			"    }",
			"}",
		)
	default:
		w.l("# The scope is the group's direct members (members of nested groups are not included).",
			"$group = Get-Group -Identity $TargetGroup -ErrorAction SilentlyContinue",
			"if (-not $group) {",
			"    throw \"Group '$TargetGroup' was not found. Create it (New-DistributionGroup -Type Security) or check the name.\"",
			"}")
	}
	w.l("$filter = $null",
		"if ($group) {",
		"    # The DN goes into an OPATH string literal: double any single quote in it.",
		"    $filter = \"MemberOfGroup -eq '{0}'\" -f ($group.DistinguishedName -replace \"'\", \"''\")",
		"}",
		"")
}

// scopeStep creates or updates the management scope named $ScopeName from $filter.
func scopeStep(w *psw) {
	w.l("$scope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue",
		"if ($filter) {",
		"    if (-not $scope) {",
		"        if ($PSCmdlet.ShouldProcess($ScopeName, \"Create management scope with filter: $filter\")) {",
		"            New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $filter | Out-Null",
		"            Write-Host \"Created management scope '$ScopeName'.\"",
		"        }",
		"    } elseif ($PSCmdlet.ShouldProcess($ScopeName, \"Set the scope's filter to: $filter\")) {",
		"        Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $filter",
		"        Write-Host \"Management scope '$ScopeName' exists; its filter is now: $filter\"",
		"    }",
		"}",
		"")
}

func roomsNote(w *psw, in Input, scoped bool) {
	if in.Rooms && scoped {
		w.l("# Rooms: room mailboxes are recipients like any other. They must match the scope too",
			"# (add them to the group, or make the filter include them), or room tests will fail.",
			"")
	}
}

func onPremAssignment(w *psw, kind Kind, in Input, undo bool) {
	scoped := kind == OnPremScoped
	var about []string
	if undo {
		about = []string{
			"Removes the ApplicationImpersonation role assignment Deputy's setup script created for",
			"the service account" + map[bool]string{true: ", then the management scope if nothing else uses it", false: ""}[scoped] + ".",
			"Groups are left in place: other things may rely on them.",
			"Run in the Exchange Management Shell as a member of Organization Management.",
		}
	} else if scoped {
		about = []string{
			"Gives the service account the ApplicationImpersonation role, limited by a management scope",
			"to the mailboxes the application needs (Microsoft's recommended setup). Mailboxes outside",
			"the scope answer ErrorImpersonateUserDenied.",
			"",
			exchangeNote(in.Exchange),
			"Run in the Exchange Management Shell as a member of Organization Management.",
			"Undo: deputy-cli script --kind onprem-scoped --account ... --undo",
		}
	} else {
		about = []string{
			"Gives the service account the ApplicationImpersonation role for EVERY mailbox in the",
			"organisation. Microsoft discourages this: prefer --kind onprem-scoped. Note that",
			"ApplicationImpersonation can open the mailboxes of disabled users too.",
			"",
			exchangeNote(in.Exchange),
			"Run in the Exchange Management Shell as a member of Organization Management.",
			"Undo: deputy-cli script --kind onprem-orgwide --account ... --undo",
		}
	}
	title := kind.Title()
	if undo {
		title = "Undo — " + title
	}
	w.header(title, about, nil)
	w.v("Account", in.Account)
	w.v("AssignmentName", AssignmentName(in.Account))
	if scoped {
		w.v("ScopeName", OnPremScopeName)
		if !undo {
			scopeVars(w, in)
		}
	}
	if in.VerifyMailbox != "" {
		w.v("VerifyMailbox", in.VerifyMailbox)
	}
	w.l("")
	w.needEMS()

	if undo {
		w.l("$assignment = Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue",
			"if (-not $assignment) {",
			"    Write-Host \"Role assignment '$AssignmentName' does not exist; nothing to remove.\"",
			"} elseif ($PSCmdlet.ShouldProcess($AssignmentName, 'Remove role assignment')) {",
			"    Remove-ManagementRoleAssignment -Identity $AssignmentName -Confirm:$false",
			"    Write-Host \"Removed role assignment '$AssignmentName'.\"",
			"}",
			"")
		if scoped {
			w.l("$scope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue",
				"if ($scope) {",
				"    $users = @(Get-ManagementRoleAssignment -CustomRecipientWriteScope $ScopeName -ErrorAction SilentlyContinue | Where-Object { $_.Name -ne $AssignmentName })",
				"    if ($users.Count -gt 0) {",
				"        Write-Warning \"Management scope '$ScopeName' is still used by: $(($users | ForEach-Object { $_.Name }) -join ', '). Left in place.\"",
				"    } elseif ($PSCmdlet.ShouldProcess($ScopeName, 'Remove management scope')) {",
				"        Remove-ManagementScope -Identity $ScopeName -Confirm:$false",
				"        Write-Host \"Removed management scope '$ScopeName'.\"",
				"    }",
				"}",
				"")
		}
		w.l("# --- Verification: the service account should no longer be listed ---",
			"Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers -Delegating $false |",
			"    Format-Table Name,EffectiveUserName,RoleAssigneeName,CustomRecipientWriteScope -AutoSize",
			"Write-Host 'Changes reach EWS after AD replication and the RBAC cache refresh.'")
		return
	}

	w.needAccount()
	roomsNote(w, in, scoped)
	if scoped {
		scopeFilterStep(w, in)
		scopeStep(w)
	}
	w.l("# Another ApplicationImpersonation assignment for the same account would defeat (or duplicate) this one.",
		"$others = @(Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee $Account -Delegating $false -ErrorAction SilentlyContinue | Where-Object { $_.Name -ne $AssignmentName })",
		"foreach ($o in $others) {",
		"    Write-Warning \"'$Account' already has ApplicationImpersonation through '$($o.Name)' (scope: $($o.CustomRecipientWriteScope)$($o.RecipientWriteScope)). Review it; remove it if it is wider than you want.\"",
		"}",
		"",
		"$assignment = Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue")
	if scoped {
		w.l("if (-not $assignment) {",
			"    if ($PSCmdlet.ShouldProcess($Account, \"Assign ApplicationImpersonation limited to scope '$ScopeName'\")) {",
			"        New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $Account -CustomRecipientWriteScope $ScopeName | Out-Null",
			"        Write-Host \"Assigned ApplicationImpersonation to '$Account' (scope '$ScopeName').\"",
			"    }",
			"} elseif (\"$($assignment.CustomRecipientWriteScope)\" -ne $ScopeName) {",
			"    if ($PSCmdlet.ShouldProcess($AssignmentName, \"Limit the assignment to scope '$ScopeName'\")) {",
			"        Set-ManagementRoleAssignment -Identity $AssignmentName -CustomRecipientWriteScope $ScopeName",
			"        Write-Host \"Role assignment '$AssignmentName' now uses scope '$ScopeName'.\"",
			"    }",
			"} else {",
			"    Write-Host \"Role assignment '$AssignmentName' exists already with scope '$ScopeName'; not changed.\"",
			"}",
			"")
	} else {
		w.l("if (-not $assignment) {",
			"    if ($PSCmdlet.ShouldProcess($Account, 'Assign ApplicationImpersonation for all mailboxes')) {",
			"        New-ManagementRoleAssignment -Name $AssignmentName -Role ApplicationImpersonation -User $Account | Out-Null",
			"        Write-Host \"Assigned ApplicationImpersonation to '$Account' (all mailboxes).\"",
			"    }",
			"} else {",
			"    Write-Host \"Role assignment '$AssignmentName' exists already; not changed.\"",
			"}",
			"")
	}
	verifyOnPremSection(w, in, scoped)
}

func verifyOnPremSection(w *psw, in Input, scoped bool, extra ...string) {
	w.l("# --- Verification ---")
	w.l(extra...)
	w.l(
		"# Who holds ApplicationImpersonation, and with which scope:",
		"Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers -Delegating $false |",
		"    Format-Table Name,EffectiveUserName,RoleAssigneeName,CustomRecipientWriteScope -AutoSize")
	if scoped {
		w.l("Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue | Format-List Name,RecipientFilter,RecipientRoot")
	}
	if in.VerifyMailbox != "" {
		w.l("# Is the test mailbox writable by the service account? It must be listed here:",
			"Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient $VerifyMailbox -GetEffectiveUsers |",
			"    Format-Table Name,EffectiveUserName,CustomRecipientWriteScope -AutoSize")
	}
	w.l("Write-Host 'Done. RBAC changes reach EWS after AD replication and the RBAC cache refresh: wait, or recycle'",
		"Write-Host 'MSExchangeServicesAppPool on the Mailbox servers, then run Deputy again.'")
}

func onPremRoleGroup(w *psw, in Input, undo bool) {
	scoped := in.ScopeGroup != "" || in.ScopeFilter != "" || len(in.Members) > 0
	var about []string
	if undo {
		about = []string{
			"Removes the role group Deputy's setup script created (with its role assignments), then",
			"the management scope if nothing else uses it. Groups of target mailboxes are left in place.",
			"Run in the Exchange Management Shell as a member of Organization Management.",
		}
	} else {
		about = []string{
			"Creates a role group holding ApplicationImpersonation" + map[bool]string{true: " (limited by a management scope)", false: " (all mailboxes)"}[scoped],
			"and View-Only Configuration, and makes the service account its member. This is the setup",
			"many vendors document: the rights live in a group the admin can audit and reuse.",
			"",
			exchangeNote(in.Exchange),
			"Run in the Exchange Management Shell as a member of Organization Management.",
			"Undo: deputy-cli script --kind onprem-rolegroup --account ... --undo",
		}
	}
	title := OnPremRoleGroup.Title()
	if undo {
		title = "Undo — " + title
	}
	w.header(title, about, nil)
	w.v("Account", in.Account)
	w.v("RoleGroupName", RoleGroupName)
	w.v("ScopeName", OnPremScopeName)
	if !undo {
		scopeVars(w, in)
	}
	if in.VerifyMailbox != "" {
		w.v("VerifyMailbox", in.VerifyMailbox)
	}
	w.l("")
	w.needEMS()
	if undo {
		w.l("$rg = Get-RoleGroup -Identity $RoleGroupName -ErrorAction SilentlyContinue",
			"if (-not $rg) {",
			"    Write-Host \"Role group '$RoleGroupName' does not exist; nothing to remove.\"",
			"} elseif ($PSCmdlet.ShouldProcess($RoleGroupName, 'Remove role group and its role assignments')) {",
			"    Remove-RoleGroup -Identity $RoleGroupName -BypassSecurityGroupManagerCheck -Confirm:$false",
			"    Write-Host \"Removed role group '$RoleGroupName'.\"",
			"}",
			"",
			"$scope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue",
			"if ($scope) {",
			"    $users = @(Get-ManagementRoleAssignment -CustomRecipientWriteScope $ScopeName -ErrorAction SilentlyContinue | Where-Object { \"$($_.RoleAssigneeName)\" -ne $RoleGroupName })",
			"    if ($users.Count -gt 0) {",
			"        Write-Warning \"Management scope '$ScopeName' is still used by: $(($users | ForEach-Object { $_.Name }) -join ', '). Left in place.\"",
			"    } elseif ($PSCmdlet.ShouldProcess($ScopeName, 'Remove management scope')) {",
			"        Remove-ManagementScope -Identity $ScopeName -Confirm:$false",
			"        Write-Host \"Removed management scope '$ScopeName'.\"",
			"    }",
			"}",
			"",
			"# --- Verification: the service account should no longer be listed ---",
			"Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers -Delegating $false |",
			"    Format-Table Name,EffectiveUserName,RoleAssigneeName,CustomRecipientWriteScope -AutoSize")
		return
	}
	w.needAccount()
	roomsNote(w, in, scoped)
	if scoped {
		scopeFilterStep(w, in)
		scopeStep(w)
	}
	w.l("$rg = Get-RoleGroup -Identity $RoleGroupName -ErrorAction SilentlyContinue",
		"if (-not $rg -and $PSCmdlet.ShouldProcess($RoleGroupName, 'Create role group with ApplicationImpersonation')) {")
	if scoped {
		w.l("    $rg = New-RoleGroup -Name $RoleGroupName -Roles 'ApplicationImpersonation' -CustomRecipientWriteScope $ScopeName -Description 'EWS impersonation for an application service account (created by Deputy).'")
	} else {
		w.l("    $rg = New-RoleGroup -Name $RoleGroupName -Roles 'ApplicationImpersonation' -Description 'EWS impersonation for an application service account (created by Deputy).'")
	}
	w.l("    Write-Host \"Created role group '$RoleGroupName'.\"",
		"}",
		"if ($rg) {",
		"    # View-Only Configuration lets the application read organisation settings (vendor practice).",
		"    $viewOnly = @(Get-ManagementRoleAssignment -Role 'View-Only Configuration' -RoleAssignee $RoleGroupName -Delegating $false -ErrorAction SilentlyContinue)",
		"    if ($viewOnly.Count -eq 0 -and $PSCmdlet.ShouldProcess($RoleGroupName, 'Add role View-Only Configuration')) {",
		"        New-ManagementRoleAssignment -Role 'View-Only Configuration' -SecurityGroup $RoleGroupName | Out-Null",
		"    }")
	if scoped {
		w.l("    $imp = @(Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee $RoleGroupName -Delegating $false -ErrorAction SilentlyContinue)",
			"    foreach ($a in $imp) {",
			"        if (\"$($a.CustomRecipientWriteScope)\" -ne $ScopeName -and $PSCmdlet.ShouldProcess($a.Name, \"Limit the assignment to scope '$ScopeName'\")) {",
			"            Set-ManagementRoleAssignment -Identity $a.Identity -CustomRecipientWriteScope $ScopeName",
			"        }",
			"    }")
	}
	w.l("    $isMember = @(Get-RoleGroupMember -Identity $RoleGroupName -ResultSize Unlimited | Where-Object { \"$($_.Guid)\" -eq \"$($user.Guid)\" }).Count -gt 0",
		"    if ($isMember) {",
		"        Write-Host \"'$Account' is already a member of '$RoleGroupName'.\"",
		"    } elseif ($PSCmdlet.ShouldProcess($Account, \"Add to role group '$RoleGroupName'\")) {",
		"        Add-RoleGroupMember -Identity $RoleGroupName -Member $Account -BypassSecurityGroupManagerCheck",
		"        Write-Host \"Added '$Account' to '$RoleGroupName'.\"",
		"    }",
		"}",
		"")
	verifyOnPremSection(w, in, scoped, "Get-RoleGroup -Identity $RoleGroupName -ErrorAction SilentlyContinue | Format-List Name,Roles,Members")
}

func exoRBAC(w *psw, in Input, undo bool) {
	scoped := in.ScopeGroup != "" || in.ScopeFilter != "" || len(in.Members) > 0
	var about []string
	if undo {
		about = []string{
			"Removes what Deputy's Exchange Online setup script created: the RBAC for Applications role",
			"assignment, the management scope and the service principal pointer (each only if nothing",
			"else uses it), and the app ID from the EWS allow-list (other app IDs are kept). The Entra",
			"app registration itself is not touched.",
			"Run in Exchange Online PowerShell (Connect-ExchangeOnline) as Organization Management.",
		}
	} else {
		about = []string{
			"Lets an Entra app (app-only OAuth, client credentials) use EWS as the mailboxes in scope:",
			"  1. registers the app's service principal in Exchange Online (New-ServicePrincipal),",
			"  2. " + map[bool]string{true: "creates a management scope for the target mailboxes,", false: "(no scope given: the app may act as EVERY mailbox),"}[scoped],
			"  3. assigns the role 'Application EWS.AccessAsApp' (RBAC for Applications),",
			"  4. adds the app ID to the EWS allow-list, keeping every app ID already on it,",
			"  5. verifies with Test-ServicePrincipalAuthorization.",
			"ApplicationImpersonation no longer exists in Exchange Online; this is its replacement.",
			"The app ID is the application (client) ID; the object ID is the service principal's, from",
			"Entra ID > Enterprise applications (not App registrations).",
			"IMPORTANT: if full_access_as_app is admin-consented tenant-wide in Entra ID, the app reaches",
			"every mailbox whatever this scope says. Remove that consent once the test below passes.",
			"EWS in Exchange Online shuts down on 1 April 2027: plan the move to Microsoft Graph.",
			"Needs: Organization Management in Exchange Online.",
			"Undo: deputy-cli script --kind exo-rbac-apps --app-id ... --sp-object-id ... --undo",
		}
	}
	title := EXORBACApps.Title()
	if undo {
		title = "Undo — " + title
	}
	w.header(title, about, []string{"-Modules ExchangeOnlineManagement"})
	w.v("AppId", strings.ToLower(in.AppID))
	w.v("ServicePrincipalId", strings.ToLower(in.SPObjectID))
	dn := in.DisplayName
	if dn == "" {
		dn = "EWS app " + strings.ToLower(in.AppID)
	}
	if !undo {
		w.v("DisplayName", dn)
	}
	w.v("RoleName", EXOAppRole)
	w.v("AssignmentName", "EWS-AccessAsApp-"+safeName(strings.ToLower(in.AppID)))
	w.v("ScopeName", EXOScopeName)
	if !undo {
		scopeVars(w, in)
	}
	if in.VerifyMailbox != "" {
		w.v("VerifyMailbox", in.VerifyMailbox)
	}
	w.l("")
	exoConnect(w)
	w.l("# The EWS allow-list is one comma-separated string; read it as a list of IDs.",
		"function Get-EwsAllowedAppIds {",
		"    $policy = Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy",
		"    $ids = "+allowedAppIDsExpr,
		"    return ,$ids",
		"}",
		"")
	exoPropertyText(w)
	if undo {
		exoUndoRBAC(w)
		w.l("$ids = Get-EwsAllowedAppIds",
			"if ($ids -notcontains $AppId) {",
			"    Write-Host 'The app ID is not on the EWS allow-list; nothing to remove.'",
			"} else {",
			"    $rest = @($ids | Where-Object { $_ -ne $AppId })",
			"    if ($rest.Count -eq 0) {",
			"        # Emptying the list would lift the app-ID restriction and let EVERY app use EWS.",
			"        Write-Warning 'The app ID is the only entry on the EWS allow-list. It is left there: an empty list would allow every app. To block EWS entirely: Set-OrganizationConfig -EwsEnabled $false'",
			"    } elseif ($PSCmdlet.ShouldProcess('organization', \"Remove $AppId from the EWS allow-list (keeping $($rest.Count) other app IDs)\")) {",
			"        Set-OrganizationConfig -EwsAllowedAppIDs ($rest -join ',')",
			"        Write-Host 'Removed the app ID from the EWS allow-list.'",
			"    }",
			"}",
			"",
			"# --- Verification: no role left for the app, allow-list without it ---",
			"Get-ManagementRoleAssignment -RoleAssignee $ServicePrincipalId -ErrorAction SilentlyContinue | Format-Table Name,Role,CustomResourceScope -AutoSize",
			"Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs",
			"Write-Host 'Role changes for apps take 30 minutes to 2 hours to apply.'")
		return
	}
	exoServicePrincipal(w)
	roomsNote(w, in, scoped)
	exoScopeAndAssignment(w, in, scoped, false)
	w.l("",
		"# 4. The EWS allow-list, merged: existing app IDs are kept, this one is added only if missing.",
		"$policy = Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy",
		"$ids = Get-EwsAllowedAppIds",
		"if ($ids -contains $AppId -and $policy.EwsEnabled -eq $true) {",
		"    Write-Host 'EWS is enabled and the app ID is on the allow-list already; not changed.'",
		"} else {",
		"    if ($ids.Count -eq 0) {",
		"        Write-Warning 'The EWS allow-list is empty. Once it holds this app ID, only listed apps may use EWS: add the IDs of your other EWS applications too, or they will be blocked.'",
		"    }",
		"    $new = @($ids | Where-Object { $_ -ne $AppId }) + $AppId",
		"    if ($PSCmdlet.ShouldProcess('organization', \"Set EwsEnabled to True and EwsAllowedAppIDs to: $($new -join ',')\")) {",
		"        Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($new -join ',')",
		"        Write-Host \"EWS allow-list now: $($new -join ',')\"",
		"    }",
		"}",
		"",
	)
	verifyAppAuthorization(w, in)
	w.l("Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs",
		"Write-Warning 'If full_access_as_app is admin-consented tenant-wide in Entra ID, that consent overrides this scope: remove it (Entra ID > Enterprise applications > the app > Permissions).'",
		"Write-Host 'Role changes for apps take 30 minutes to 2 hours to reach EWS; then run Deputy again.'")
}

// exoScopeAndAssignment is steps 2 and 3 of the RBAC-for-Applications scripts: the management
// scope when scoped, then $RoleName assigned to the app. An existing assignment with another
// scope (or, with checkRole, another role) is reported, not changed: neither changes in place.
func exoScopeAndAssignment(w *psw, in Input, scoped, checkRole bool) {
	if scoped {
		w.l("# 2. The management scope (RBAC for Applications counts direct group members only).")
		scopeFilterStep(w, in)
		scopeStep(w)
	}
	w.l("# 3. The role assignment.",
		"$assignment = Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue",
		"if (-not $assignment) {")
	if scoped {
		w.l("    if ($PSCmdlet.ShouldProcess($ServicePrincipalId, \"Assign '$RoleName' limited to scope '$ScopeName'\")) {",
			"        New-ManagementRoleAssignment -Name $AssignmentName -App $ServicePrincipalId -Role $RoleName -CustomResourceScope $ScopeName | Out-Null",
			"        Write-Host \"Assigned '$RoleName' (scope '$ScopeName').\"",
			"    }")
	} else {
		w.l("    if ($PSCmdlet.ShouldProcess($ServicePrincipalId, \"Assign '$RoleName' for all mailboxes\")) {",
			"        New-ManagementRoleAssignment -Name $AssignmentName -App $ServicePrincipalId -Role $RoleName | Out-Null",
			"        Write-Host \"Assigned '$RoleName' (all mailboxes).\"",
			"    }")
	}
	if checkRole {
		w.l("} elseif (\"$($assignment.Role)\" -ne $RoleName) {",
			"    Write-Warning \"Role assignment '$AssignmentName' grants '$($assignment.Role)', not '$RoleName'. Remove it (Remove-ManagementRoleAssignment -Identity $AssignmentName) and run this script again.\"")
	}
	if scoped {
		w.l("} elseif ((Get-PropertyText $assignment 'CustomResourceScope') -ne $ScopeName) {",
			"    Write-Warning \"Role assignment '$AssignmentName' exists with scope '$(Get-PropertyText $assignment 'CustomResourceScope')', not '$ScopeName'. Remove it (Remove-ManagementRoleAssignment) and run this script again.\"")
	}
	w.l("} else {",
		"    Write-Host \"Role assignment '$AssignmentName' exists already; not changed.\"",
		"}")
}

// verifyAppAuthorization opens the verification section of the RBAC-for-Applications scripts.
func verifyAppAuthorization(w *psw, in Input) {
	w.l("# --- Verification ---",
		"# InScope must be True for the mailboxes the app needs (this test bypasses the role cache).")
	if in.VerifyMailbox != "" {
		w.l("Test-ServicePrincipalAuthorization -Identity $AppId -Resource $VerifyMailbox | Format-Table RoleName,GrantedPermissions,AllowedResourceScope,ScopeType,InScope -AutoSize")
	} else {
		w.l("Test-ServicePrincipalAuthorization -Identity $AppId | Format-Table RoleName,GrantedPermissions,AllowedResourceScope,ScopeType -AutoSize",
			"# For one mailbox: Test-ServicePrincipalAuthorization -Identity $AppId -Resource 'user@contoso.com'")
	}
}

// ForResult is the setup script for a diagnosed situation, for reports: the scope is not
// in a result, so it is the generator's choice for the environment and account (or, where
// no script can work, the explanation why; "" when the result lacks what a script needs).
func ForResult(r *result.Result) string {
	if r == nil {
		return ""
	}
	s := SituationFrom(r.Profile)
	sc, err := Generate(KindFor(s), InputFrom(s), false)
	var re *RetiredError
	switch {
	case errors.As(err, &re):
		return re.Explanation
	case err != nil:
		return ""
	}
	return sc.Text
}

// IsRetired reports whether err says the requested setup cannot exist (EXOClassic).
func IsRetired(err error) bool {
	var r *RetiredError
	return errors.As(err, &r)
}
