package ui

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/report"
	"deputy/internal/result"
	"deputy/internal/setup"
)

// Exchange versions the Setup tab offers; the ID is setup.Input.Exchange ("" = Online).
var setupVersions = []struct{ ID, Label string }{
	{"SE", "Exchange Server Subscription Edition"},
	{"2019", "Exchange Server 2019"},
	{"2016", "Exchange Server 2016"},
	{"exo", "Exchange Online"},
}

// Scope choices.
const (
	ScopeAll    = "Every mailbox"
	ScopeGroup  = "Members of a group"
	ScopeListed = "The profile's listed mailboxes"
	ScopeFilter = "A custom recipient filter"
)

var setupScopes = []string{ScopeAll, ScopeGroup, ScopeListed, ScopeFilter}

// Setup field names: the keys of SetupView's error labels (setup.InputError.Field maps onto them).
const (
	SetupFieldAccount = "account"
	SetupFieldAppID   = "app"
	SetupFieldSP      = "sp"
	SetupFieldScope   = "scope"
	SetupFieldVersion = "version"
)

// SetupView is the Setup tab: the situation on the left, the live script on the right.
type SetupView struct {
	version   *widget.Select
	kind      *widget.Select
	kindHelp  *widget.Label
	role      *widget.Select // Graph calendar permission (exo-graph-rbac-apps)
	roleHelp  *widget.Label
	account   *widget.Entry
	appID     *widget.Entry
	spID      *widget.Entry
	scope     *widget.RadioGroup
	group     *widget.Entry
	filter    *widget.Entry
	rooms     *widget.Check
	undo      *widget.Check
	source    *widget.Label
	errs      map[string]*widget.Label
	onprem    *fyne.Container
	graphRole *fyne.Container
	exo       *fyne.Container

	title   *widget.Label
	preview *widget.TextGrid
	copyBtn *widget.Button
	saveBtn *widget.Button
	status  *widget.Label

	members []string // the profile's listed mailboxes
	kinds   []setup.Kind
	loading bool

	// Script is what the preview shows (nil when the input is incomplete or no script can work).
	Script *setup.Script
	// Err is why there is no script (*setup.InputError, *setup.RetiredError), nil otherwise.
	Err error

	// OnCopy and OnSave are wired by the window (clipboard, save dialog).
	OnCopy func(text string)
	OnSave func(s *setup.Script)

	content fyne.CanvasObject
}

// NewSetupView builds the Setup tab.
func NewSetupView() *SetupView {
	v := &SetupView{errs: map[string]*widget.Label{}}
	errLabel := func(key string) *widget.Label {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.DangerImportance
		l.Hide()
		v.errs[key] = l
		return l
	}
	hint := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Wrapping = fyne.TextWrapWord
		l.SizeName = theme.SizeNameCaptionText
		return l
	}
	v.version = widget.NewSelect(labels(setupVersions), func(string) { v.versionChanged() })
	v.kind = widget.NewSelect(nil, func(string) { v.Update() })
	v.kindHelp = widget.NewLabel("")
	v.kindHelp.Wrapping = fyne.TextWrapWord
	v.role = widget.NewSelect(setup.GraphRoles, func(string) { v.Update() })
	v.role.SetSelected(setup.GraphRoleReadWrite)
	v.roleHelp = hint("")
	v.account = widget.NewEntry()
	v.account.SetPlaceHolder(`svc-deputy@contoso.com or CONTOSO\svc-deputy`)
	v.appID = widget.NewEntry()
	v.appID.SetPlaceHolder("00000000-0000-0000-0000-000000000000")
	v.spID = widget.NewEntry()
	v.spID.SetPlaceHolder("00000000-0000-0000-0000-000000000000")
	v.scope = widget.NewRadioGroup(setupScopes, func(string) { v.scopeChanged() })
	v.scope.Required = true
	v.group = widget.NewEntry()
	v.group.SetPlaceHolder("group name or distinguished name")
	v.filter = widget.NewEntry()
	v.filter.SetPlaceHolder("Department -eq 'Sales'")
	v.rooms = widget.NewCheck("Room mailboxes are targets too", func(bool) { v.Update() })
	v.undo = widget.NewCheck("Undo: write the removal script instead", func(bool) { v.Update() })
	for _, e := range []*widget.Entry{v.account, v.appID, v.spID, v.group, v.filter} {
		e.OnChanged = func(string) { v.Update() }
	}
	v.source = hint("")

	v.onprem = container.NewVBox(
		widget.NewLabelWithStyle("Service account", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.account, errLabel(SetupFieldAccount))
	v.graphRole = container.NewVBox(
		widget.NewLabelWithStyle("Graph permission", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.role, v.roleHelp)
	v.exo = container.NewVBox(
		v.graphRole,
		widget.NewLabelWithStyle("Application (client) ID", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.appID, hint("Entra admin center › App registrations › the app › Overview."), errLabel(SetupFieldAppID),
		widget.NewLabelWithStyle("Service principal object ID", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.spID, hint("Entra admin center › Enterprise applications › the app › Object ID (not the one under App registrations)."),
		errLabel(SetupFieldSP))
	bold := func(s string) *widget.Label {
		return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	left := container.NewVBox(
		v.source,
		bold("Exchange"), v.version, errLabel(SetupFieldVersion),
		bold("What to set up"), v.kind, v.kindHelp,
		v.onprem, v.exo,
		bold("Which mailboxes"), v.scope, v.group, v.filter, errLabel(SetupFieldScope),
		v.rooms, v.undo,
	)

	v.title = widget.NewLabel("")
	v.title.TextStyle.Bold = true
	v.title.Wrapping = fyne.TextWrapWord
	v.preview = widget.NewTextGrid()
	v.preview.Scroll = fyne.ScrollBoth
	v.copyBtn = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		if v.OnCopy != nil {
			v.OnCopy(v.PreviewText())
			v.status.SetText("Copied to the clipboard.")
		}
	})
	v.saveBtn = widget.NewButtonWithIcon("Save .ps1…", theme.DocumentSaveIcon(), func() {
		if v.OnSave != nil && v.Script != nil {
			v.OnSave(v.Script)
		}
	})
	v.saveBtn.Importance = widget.HighImportance
	v.status = widget.NewLabel("")
	v.status.Truncation = fyne.TextTruncateEllipsis
	bar := container.NewBorder(nil, nil, container.NewHBox(v.saveBtn, v.copyBtn), nil, v.status)
	// The script sits on the input background, framed like a read-only code box.
	box := canvas.NewRectangle(nil)
	paint := func() {
		box.FillColor = theme.Color(theme.ColorNameInputBackground)
		box.StrokeColor = theme.Color(theme.ColorNameInputBorder)
		box.CornerRadius = theme.InputRadiusSize()
		box.StrokeWidth = 1
		box.Refresh()
	}
	paint()
	if a := fyne.CurrentApp(); a != nil {
		a.Settings().AddListener(func(fyne.Settings) { paint() }) // light/dark follow the system
	}
	right := container.NewBorder(container.NewVBox(v.title, bar), nil, nil, nil,
		container.NewStack(box, container.NewPadded(v.preview)))

	split := container.NewHSplit(container.NewVScroll(container.NewPadded(left)), container.NewPadded(right))
	split.Offset = 0.4
	v.content = split

	v.version.SetSelected(setupVersions[0].Label)
	v.scope.SetSelected(ScopeAll)
	v.Update()
	return v
}

// Content is the tab's root object.
func (v *SetupView) Content() fyne.CanvasObject { return v.content }

func (v *SetupView) online() bool { return idFor(setupVersions, v.version.Selected) == "exo" }

// versionChanged offers the kinds that exist for the chosen Exchange.
func (v *SetupView) versionChanged() {
	prev := v.selectedKind()
	if v.online() {
		v.kinds = []setup.Kind{setup.EXORBACApps, setup.EXOGraphRBACApps, setup.EXOClassic}
	} else {
		v.kinds = []setup.Kind{setup.OnPremScoped, setup.OnPremOrgWide, setup.OnPremRoleGroup}
	}
	opts := make([]string, len(v.kinds))
	for i, k := range v.kinds {
		opts[i] = k.Title()
	}
	old := v.loading
	v.loading = true
	v.kind.SetOptions(opts)
	v.loading = old
	if !v.setKind(prev) {
		v.setKind(v.kinds[0])
	}
	v.Update()
}

func (v *SetupView) selectedKind() setup.Kind {
	for _, k := range append(setup.Kinds, setup.EXOClassic) {
		if k.Title() == v.kind.Selected {
			return k
		}
	}
	return ""
}

func (v *SetupView) setKind(k setup.Kind) bool {
	for _, o := range v.kinds {
		if o == k {
			old := v.loading
			v.loading = true
			v.kind.SetSelected(k.Title())
			v.loading = old
			return true
		}
	}
	return false
}

func (v *SetupView) scopeChanged() {
	// A scope other than "every mailbox" needs a scoped kind; move an org-wide choice along.
	if v.scope.Selected != ScopeAll && v.selectedKind() == setup.OnPremOrgWide {
		v.setKind(setup.OnPremScoped)
	}
	if v.scope.Selected == ScopeAll && v.selectedKind() == setup.OnPremScoped {
		v.setKind(setup.OnPremOrgWide)
	}
	v.Update()
}

// Situation is what the tab prefills from: the profile's setup and its listed mailboxes.
type Situation struct {
	Profile   string // profile name, shown as the source
	Setup     setup.Situation
	Mailboxes []string
	Rooms     bool
}

// Prefill sets the form from a profile. Exchange version, kind and scope follow the
// profile (the profile has no Exchange version: on-premises keeps the current choice).
func (v *SetupView) Prefill(s Situation) {
	v.loading = true
	v.members = s.Mailboxes
	if s.Setup.Environment == result.EXO {
		v.version.SetSelected(labelFor(setupVersions, "exo"))
	} else if v.online() || v.version.Selected == "" {
		v.version.SetSelected(setupVersions[0].Label)
	}
	if s.Setup.Exchange != "" {
		v.version.SetSelected(labelFor(setupVersions, s.Setup.Exchange))
	}
	v.account.SetText(s.Setup.Account)
	v.appID.SetText(s.Setup.AppID)
	v.spID.SetText(s.Setup.SPObjectID)
	v.group.SetText(s.Setup.ScopeGroup)
	v.filter.SetText(s.Setup.ScopeFilter)
	switch {
	case s.Setup.ScopeFilter != "":
		v.scope.SetSelected(ScopeFilter)
	case s.Setup.ScopeGroup != "":
		v.scope.SetSelected(ScopeGroup)
	case len(s.Mailboxes) > 0:
		v.scope.SetSelected(ScopeListed)
	default:
		v.scope.SetSelected(ScopeAll)
	}
	v.rooms.SetChecked(s.Rooms)
	v.undo.SetChecked(false)
	k := setup.KindFor(s.Setup)
	if k == setup.OnPremOrgWide && v.scope.Selected != ScopeAll {
		k = setup.OnPremScoped
	}
	v.versionChanged()
	v.setKind(k)
	v.loading = false
	if s.Profile != "" {
		v.source.SetText(fmt.Sprintf("Filled in from the profile “%s”; change anything — the profile itself is not modified.", s.Profile))
	} else {
		v.source.SetText("Describe your Exchange and the service account; the script updates as you type.")
	}
	v.Update()
}

// Input is the generator's input as the form stands.
func (v *SetupView) Input() (setup.Kind, setup.Input, bool) {
	k := v.selectedKind()
	in := setup.Input{Rooms: v.rooms.Checked}
	if v.online() {
		in.AppID = strings.TrimSpace(v.appID.Text)
		in.SPObjectID = strings.TrimSpace(v.spID.Text)
		switch k {
		case setup.EXOClassic:
			in.Account = strings.TrimSpace(v.account.Text)
		case setup.EXOGraphRBACApps:
			in.GraphRole = v.role.Selected
		}
	} else {
		in.Exchange = idFor(setupVersions, v.version.Selected)
		in.Account = strings.TrimSpace(v.account.Text)
	}
	if k != setup.OnPremOrgWide {
		switch v.scope.Selected {
		case ScopeGroup:
			in.ScopeGroup = strings.TrimSpace(v.group.Text)
		case ScopeFilter:
			in.ScopeFilter = strings.TrimSpace(v.filter.Text)
		case ScopeListed:
			in.Members = v.members
			in.ScopeGroup = setup.DefaultTargetGroup
			if g := strings.TrimSpace(v.group.Text); g != "" {
				in.ScopeGroup = g
			}
		}
	}
	if len(v.members) > 0 {
		in.VerifyMailbox = v.members[0]
	}
	return k, in, v.undo.Checked
}

// Update regenerates the preview and shows validation beside the fields.
func (v *SetupView) Update() {
	if v.loading || v.preview == nil {
		return
	}
	online := v.online()
	k := v.selectedKind()
	show(v.onprem, !online || k == setup.EXOClassic)
	show(v.exo, online && k != setup.EXOClassic)
	show(v.graphRole, k == setup.EXOGraphRBACApps)
	v.roleHelp.SetText(setup.GraphRoleAllows(v.role.Selected))
	show(v.group, v.scope.Selected == ScopeGroup || v.scope.Selected == ScopeListed)
	if v.scope.Selected == ScopeListed {
		v.group.SetPlaceHolder("new group (default: " + setup.DefaultTargetGroup + ")")
	} else {
		v.group.SetPlaceHolder("group name or distinguished name")
	}
	show(v.filter, v.scope.Selected == ScopeFilter)
	if k == setup.OnPremOrgWide {
		v.scope.Disable()
	} else {
		v.scope.Enable()
	}
	v.kindHelp.SetText(k.Help())
	for _, l := range v.errs {
		l.SetText("")
		l.Hide()
	}

	kind, in, undo := v.Input()
	sc, err := setup.Generate(kind, in, undo)
	v.Script, v.Err = sc, err
	var re *setup.RetiredError
	var ie *setup.InputError
	switch {
	case errors.As(err, &re):
		v.title.SetText("No script: " + setup.EXOClassic.Title())
		v.preview.SetText(re.Explanation)
	case errors.As(err, &ie):
		l := v.errs[setupField(ie.Field)]
		l.SetText(ie.Error())
		l.Show()
		v.title.SetText("Complete the situation on the left to see the script")
		v.preview.SetText("# " + ie.Error())
	case err != nil:
		v.title.SetText("No script")
		v.preview.SetText("# " + err.Error())
	default:
		v.title.SetText(sc.Title + "  —  " + sc.FileName)
		v.preview.SetText(sc.Text)
	}
	if sc != nil {
		v.saveBtn.Enable()
	} else {
		v.saveBtn.Disable()
	}
	if err != nil && re == nil {
		v.copyBtn.Disable()
	} else {
		v.copyBtn.Enable()
	}
	v.status.SetText("")
}

// setupField maps the generator's field names onto the tab's error labels.
func setupField(f string) string {
	switch {
	case strings.Contains(f, "object ID"):
		return SetupFieldSP
	case strings.Contains(f, "app ID"), f == "display name":
		return SetupFieldAppID
	case strings.Contains(f, "account"):
		return SetupFieldAccount
	case strings.Contains(f, "Exchange"):
		return SetupFieldVersion
	}
	return SetupFieldScope // scope, scope group, scope filter, mailbox list, verification mailbox
}

// FieldError is the validation message shown beside a field ("" when none).
func (v *SetupView) FieldError(field string) string {
	if l := v.errs[field]; l != nil && l.Visible() {
		return l.Text
	}
	return ""
}

// PreviewText is what the preview shows (the script, or why there is none).
func (v *SetupView) PreviewText() string { return v.preview.Text() }

// SetStatus shows a short note beside the buttons.
func (v *SetupView) SetStatus(s string) { v.status.SetText(s) }

func show(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// SaveScript writes s as PowerShell reads it on Windows: UTF-8 with BOM, CRLF.
func SaveScript(path string, s *setup.Script) error {
	if s == nil {
		return errors.New("no script to save: complete the situation first")
	}
	if err := os.WriteFile(path, s.Bytes(), 0o644); err != nil {
		return fmt.Errorf("save script: %w", err)
	}
	return nil
}

// ExportReport writes r as a report (.html, .pdf, .json) including the setup script.
func ExportReport(path string, r *result.Result) error {
	return report.Write(path, r, report.Options{Script: setup.ForResult(r)})
}

// situationOf is what the Setup tab prefills from for a profile's values.
func situationOf(v FormValues) Situation {
	p := result.Profile{Name: v.Name, Environment: v.Environment, ServiceAccount: strings.TrimSpace(v.User)}
	if IsOAuth(v.Auth) {
		// An Entra app, not a user account: the RBAC-for-Applications script applies.
		p.ServiceAccount, p.ClientID = "", strings.TrimSpace(v.ClientID)
		p.Protocol = v.Protocol // a Graph-only profile gets the Graph RBAC script
	}
	return Situation{
		Profile:   v.Name,
		Setup:     setup.SituationFrom(p),
		Mailboxes: ParseList(v.Mailboxes).Addresses,
		Rooms:     v.CheckRooms,
	}
}
