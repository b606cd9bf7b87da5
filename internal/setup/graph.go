package setup

import "strings"

// The Microsoft Graph calendar permissions exo-graph-rbac-apps can assign, as RBAC for
// Applications roles ("Application " + permission).
const (
	GraphRoleReadWrite = "Calendars.ReadWrite"
	GraphRoleRead      = "Calendars.Read"
	GraphRoleReadBasic = "Calendars.ReadBasic"
)

// GraphRoles lists the accepted Input.GraphRole values, the default first.
var GraphRoles = []string{GraphRoleReadWrite, GraphRoleRead, GraphRoleReadBasic}

// EXOGraphScopeName is the management scope exo-graph-rbac-apps creates; the Graph
// remediation text refers to the same name.
const EXOGraphScopeName = "Graph-Calendar-App-Scope"

// GraphPlacePermission is the Graph permission that lists rooms. It exists only in Entra
// ID: RBAC for Applications has no role for it.
const GraphPlacePermission = "Place.Read.All"

// ParseGraphRole accepts a Graph calendar permission as an admin types it: case-insensitive,
// with or without the RBAC role's "Application " prefix; "" means Calendars.ReadWrite.
func ParseGraphRole(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) > len("application ") && strings.EqualFold(t[:len("application ")], "application ") {
		t = strings.TrimSpace(t[len("application "):])
	}
	if t == "" {
		return GraphRoleReadWrite, nil
	}
	for _, r := range GraphRoles {
		if strings.EqualFold(t, r) {
			return r, nil
		}
	}
	if strings.EqualFold(t, GraphPlacePermission) {
		return "", inputErr("Graph role", s, "is an Entra ID permission, not an RBAC for Applications role: consent to it in Entra ID (API permissions > Microsoft Graph > Application permissions)")
	}
	return "", inputErr("Graph role", s, "must be "+strings.Join(GraphRoles, ", ")+" or empty (Calendars.ReadWrite)")
}

// GraphRoleName is the RBAC for Applications role for a Graph permission, e.g.
// "Application Calendars.ReadWrite".
func GraphRoleName(permission string) string { return "Application " + permission }

// GraphRoleAllows says, for an admin, what a Graph calendar permission lets the app do.
func GraphRoleAllows(permission string) string {
	switch permission {
	case GraphRoleReadWrite:
		return "read, create, update and delete events"
	case GraphRoleRead:
		return "read every event in full; no changes"
	case GraphRoleReadBasic:
		return "free/busy and each event's subject, time and location only (no body, no attendees); no changes"
	}
	return ""
}

// GraphAssignmentName is the role assignment exo-graph-rbac-apps creates for an app. It
// does not depend on the role, so the undo finds it whatever role was chosen.
func GraphAssignmentName(appID string) string {
	return "Graph-Calendars-" + safeName(strings.ToLower(appID))
}

// Command is the deputy-cli invocation that writes the script for kind and in, values
// quoted as PowerShell literals (the shell an Exchange admin runs it from). Empty app and
// object IDs become placeholders to fill in.
func Command(kind Kind, in Input, undo bool) string {
	parts := []string{"deputy-cli script --kind " + string(kind)}
	flag := func(name, v, placeholder string) {
		switch {
		case v != "":
			parts = append(parts, "--"+name+" "+Quote(v))
		case placeholder != "":
			parts = append(parts, "--"+name+" "+Quote(placeholder))
		}
	}
	switch kind {
	case EXORBACApps, EXOGraphRBACApps:
		flag("app-id", in.AppID, "<application (client) ID>")
		flag("sp-object-id", in.SPObjectID, "<object ID from Entra ID > Enterprise applications>")
	default:
		flag("account", in.Account, "<service account>")
	}
	if !undo {
		flag("scope-group", in.ScopeGroup, "")
		flag("scope-filter", in.ScopeFilter, "")
		if kind == EXOGraphRBACApps && in.GraphRole != "" {
			flag("graph-role", in.GraphRole, "")
		}
		flag("verify-mailbox", in.VerifyMailbox, "")
		if in.Rooms {
			parts = append(parts, "--rooms")
		}
	} else {
		parts = append(parts, "--undo")
	}
	return strings.Join(parts, " ")
}

// exoConnect stops the script early when no Exchange Online session is open.
func exoConnect(w *psw) {
	w.l("if (-not (Get-Command -Name Get-OrganizationConfig -ErrorAction SilentlyContinue)) {",
		"    throw 'Connect first: Connect-ExchangeOnline (ExchangeOnlineManagement module), as Organization Management.'",
		"}",
		"")
}

func exoPropertyText(w *psw) {
	w.l("# A property as text, or '' when this module version does not have it (StrictMode-safe).",
		"function Get-PropertyText($object, [string]$name) {",
		"    $p = $object.PSObject.Properties[$name]",
		"    if ($p -and $null -ne $p.Value) { return \"$($p.Value)\" }",
		"    return ''",
		"}",
		"")
}

// exoServicePrincipal creates the Exchange pointer to the Entra service principal when it
// is missing. EWS and Graph setups for the same app share it.
func exoServicePrincipal(w *psw) {
	w.l("# Custom scopes and role assignments need organisation customisation (once per tenant).",
		"if ((Get-OrganizationConfig).IsDehydrated -and $PSCmdlet.ShouldProcess('organization', 'Enable-OrganizationCustomization')) {",
		"    Enable-OrganizationCustomization",
		"}",
		"",
		"# 1. The service principal pointer.",
		"$sp = Get-ServicePrincipal -Identity $ServicePrincipalId -ErrorAction SilentlyContinue",
		"if ($sp -and \"$($sp.AppId)\" -ne $AppId) {",
		"    throw \"Service principal $ServicePrincipalId belongs to app $($sp.AppId), not $AppId. Copy both IDs from Entra ID > Enterprise applications.\"",
		"}",
		"if (-not $sp) {",
		"    if ($PSCmdlet.ShouldProcess($ServicePrincipalId, 'Create service principal pointer')) {",
		"        New-ServicePrincipal -AppId $AppId -ObjectId $ServicePrincipalId -DisplayName $DisplayName | Out-Null",
		"        Write-Host \"Created service principal '$DisplayName'.\"",
		"    }",
		"} else {",
		"    Write-Host \"Service principal for app $AppId exists already; not changed.\"",
		"}",
		"")
}

// exoUndoRBAC removes $AssignmentName, then $ScopeName if no other assignment uses it, then
// the service principal pointer if it holds no other assignment.
func exoUndoRBAC(w *psw) {
	w.l("$assignment = Get-ManagementRoleAssignment -Identity $AssignmentName -ErrorAction SilentlyContinue",
		"if (-not $assignment) {",
		"    Write-Host \"Role assignment '$AssignmentName' does not exist; nothing to remove.\"",
		"} elseif ($PSCmdlet.ShouldProcess($AssignmentName, 'Remove role assignment')) {",
		"    Remove-ManagementRoleAssignment -Identity $AssignmentName -Confirm:$false",
		"    Write-Host \"Removed role assignment '$AssignmentName'.\"",
		"}",
		"",
		"$scope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue",
		"if ($scope) {",
		"    $users = @(Get-ManagementRoleAssignment -ErrorAction SilentlyContinue | Where-Object { (Get-PropertyText $_ 'CustomResourceScope') -eq $ScopeName -and $_.Name -ne $AssignmentName })",
		"    if ($users.Count -gt 0) {",
		"        Write-Warning \"Management scope '$ScopeName' is still used by: $(($users | ForEach-Object { $_.Name }) -join ', '). Left in place.\"",
		"    } elseif ($PSCmdlet.ShouldProcess($ScopeName, 'Remove management scope')) {",
		"        Remove-ManagementScope -Identity $ScopeName -Confirm:$false",
		"        Write-Host \"Removed management scope '$ScopeName'.\"",
		"    }",
		"}",
		"",
		"$sp = Get-ServicePrincipal -Identity $ServicePrincipalId -ErrorAction SilentlyContinue",
		"if ($sp) {",
		"    $left = @(Get-ManagementRoleAssignment -RoleAssignee $ServicePrincipalId -ErrorAction SilentlyContinue | Where-Object { $_.Name -ne $AssignmentName })",
		"    if ($left.Count -gt 0) {",
		"        Write-Warning \"The service principal still has other role assignments: $(($left | ForEach-Object { $_.Name }) -join ', '). Left in place.\"",
		"    } elseif ($PSCmdlet.ShouldProcess($ServicePrincipalId, 'Remove service principal pointer')) {",
		"        Remove-ServicePrincipal -Identity $ServicePrincipalId -Confirm:$false",
		"        Write-Host 'Removed the service principal pointer.'",
		"    }",
		"}",
		"")
}

// graphConsentWarning: RBAC for Applications grants are added to Entra consents, so a
// tenant-wide consent for the same permission silently defeats every scope.
const graphConsentWarning = "RBAC for Applications adds to Entra ID consents, it cannot take them away: if Calendars.ReadWrite, Calendars.Read or Calendars.ReadBasic is admin-consented tenant-wide for this app, it reaches EVERY mailbox whatever the scope says. Remove that consent (Entra ID > Enterprise applications > the app > Permissions)."

func exoGraphRBAC(w *psw, in Input, undo bool) {
	scoped := in.ScopeGroup != "" || in.ScopeFilter != "" || len(in.Members) > 0
	// render runs on unvalidated input in the quoting tests: an unknown role still goes
	// into $RoleName as a literal, but never into a comment.
	role, err := ParseGraphRole(in.GraphRole)
	roleName := GraphRoleName(role)
	if err != nil {
		roleName = in.GraphRole
	}
	var about []string
	if undo {
		about = []string{
			"Removes what Deputy's Microsoft Graph setup script created in Exchange Online: the RBAC for",
			"Applications role assignment, then the management scope and the service principal pointer,",
			"each only if nothing else uses it (an EWS setup for the same app shares the pointer).",
			"Groups of target mailboxes and the Entra app are not touched. A Calendars permission",
			"admin-consented in Entra ID stays: remove it there if the app must lose access entirely.",
			"Run in Exchange Online PowerShell (Connect-ExchangeOnline) as Organization Management.",
		}
	} else {
		step3 := []string{"  3. assigns the RBAC for Applications role named in $RoleName below,"}
		if err == nil {
			step3 = []string{"  3. assigns the role '" + roleName + "' (RBAC for Applications):", "     " + GraphRoleAllows(role) + ","}
		}
		about = []string{
			"Lets an Entra app use Microsoft Graph (app-only OAuth, client credentials) on the calendars",
			"of the mailboxes in scope: the way to keep working after EWS in Exchange Online shuts down",
			"on 1 April 2027.",
			"  1. registers the app's service principal in Exchange Online (New-ServicePrincipal),",
			"  2. " + map[bool]string{true: "creates a management scope for the target mailboxes,", false: "(no scope given: the app may act on EVERY mailbox),"}[scoped],
		}
		about = append(about, step3...)
		about = append(about,
			"  4. verifies with Test-ServicePrincipalAuthorization.",
			"The app ID is the application (client) ID; the object ID is the service principal's, from",
			"Entra ID > Enterprise applications (not App registrations).",
			"IMPORTANT: RBAC for Applications adds to what Entra ID grants; it cannot take anything away.",
			"If the Graph application permission Calendars.ReadWrite (or Calendars.Read, Calendars.ReadBasic)",
			"is admin-consented tenant-wide in Entra ID, the app reaches EVERY mailbox whatever this scope",
			"says. Remove that consent in Entra ID (Enterprise applications > the app > Permissions) for",
			"the scope to bite; the role assigned here then gives the app its access.",
			"Role changes for apps take 30 minutes to 2 hours to apply. Test-ServicePrincipalAuthorization",
			"bypasses that cache: it shows the new state at once, while Graph may still answer 403.",
			"The EWS allow-list (EwsAllowedAppIDs) does not apply to Graph: nothing to change there.",
			"Needs: Organization Management in Exchange Online.",
			"Undo: deputy-cli script --kind exo-graph-rbac-apps --app-id ... --sp-object-id ... --undo",
		)
	}
	title := EXOGraphRBACApps.Title()
	if undo {
		title = "Undo — " + title
	}
	w.header(title, about, []string{"-Modules ExchangeOnlineManagement"})
	w.v("AppId", strings.ToLower(in.AppID))
	w.v("ServicePrincipalId", strings.ToLower(in.SPObjectID))
	if !undo {
		dn := in.DisplayName
		if dn == "" {
			dn = "Graph app " + strings.ToLower(in.AppID)
		}
		w.v("DisplayName", dn)
		w.v("RoleName", roleName)
	}
	w.v("AssignmentName", GraphAssignmentName(in.AppID))
	w.v("ScopeName", EXOGraphScopeName)
	if !undo {
		scopeVars(w, in)
	}
	if in.VerifyMailbox != "" {
		w.v("VerifyMailbox", in.VerifyMailbox)
	}
	w.l("")
	exoConnect(w)
	exoPropertyText(w)
	if undo {
		exoUndoRBAC(w)
		w.l("# --- Verification: no Graph role left for the app ---",
			"Get-ManagementRoleAssignment -RoleAssignee $ServicePrincipalId -ErrorAction SilentlyContinue | Format-Table Name,Role,CustomResourceScope -AutoSize",
			"Write-Host 'Role changes for apps take 30 minutes to 2 hours to apply.'")
		return
	}
	exoServicePrincipal(w)
	if in.Rooms {
		w.l("# Rooms: listing rooms (GET /v1.0/places/microsoft.graph.room) needs the Graph application",
			"# permission "+GraphPlacePermission+". That is an Entra ID permission, not an RBAC for Applications",
			"# role, so this script cannot grant it: Entra ID > App registrations > the app > API permissions",
			"# > Add a permission > Microsoft Graph > Application permissions > "+GraphPlacePermission+", then",
			"# Grant admin consent. It reveals the room directory only, no mailbox content.")
		if scoped {
			w.l("# Room mailboxes are recipients like any other: they must match the scope too (add them",
				"# to the group, or make the filter include them), or their calendars will answer 403.")
		}
		w.l("")
	}
	exoScopeAndAssignment(w, in, scoped, true)
	w.l("",
		"# Grants add up: another calendar role for this app widens what this one allows.",
		"$others = @(Get-ManagementRoleAssignment -RoleAssignee $ServicePrincipalId -ErrorAction SilentlyContinue | Where-Object { $_.Name -ne $AssignmentName -and \"$($_.Role)\" -like 'Application Calendars.*' })",
		"foreach ($o in $others) {",
		"    Write-Warning \"The app also holds '$($o.Role)' through '$($o.Name)' (scope: '$(Get-PropertyText $o 'CustomResourceScope')'). Review it; remove it if it is wider than you want.\"",
		"}",
		"")
	verifyAppAuthorization(w, in)
	w.l("# A legacy Application Access Policy for the app restricts Graph as well.",
		"$aap = @(Get-ApplicationAccessPolicy -ErrorAction SilentlyContinue | Where-Object { \"$($_.AppId)\" -eq $AppId })",
		"if ($aap.Count -gt 0) {",
		"    Write-Warning \"A legacy Application Access Policy applies to this app too ($(($aap | ForEach-Object { $_.AccessRight }) -join ', ')): a mailbox must pass it as well. Check with Test-ApplicationAccessPolicy -Identity <mailbox> -AppId $AppId\"")
	if in.VerifyMailbox != "" {
		w.l("    Test-ApplicationAccessPolicy -Identity $VerifyMailbox -AppId $AppId | Format-List AppId,Mailbox,AccessCheckResult")
	}
	w.l("}",
		"Write-Warning "+Quote(graphConsentWarning),
		"Write-Host 'Role changes for apps take 30 minutes to 2 hours to reach Graph; then run Deputy again (deputy-cli diagnose --protocol graph).'")
}
