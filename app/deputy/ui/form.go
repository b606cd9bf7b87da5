package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/profile"
)

// ProfileForm edits one profile. It owns its widgets and knows nothing of stores: the
// window loads values into it and takes them out on Save.
type ProfileForm struct {
	form *widget.Form

	name        *widget.Entry
	env         *widget.RadioGroup
	url         *widget.Entry
	find        *widget.Button
	findHint    *widget.Label
	useAD       *widget.Check
	findSteps   *widget.Button // "Show the N steps…" of the last Find (OnFindSteps)
	findTitle   string         // what the last Find's steps are about
	findLines   []string       // the last Find's steps
	auth        *widget.Select
	user        *widget.Entry
	password    *widget.Entry
	keychain    *widget.Label
	svcMailbox  *widget.Entry
	mailboxes   *widget.Entry
	importCSV   *widget.Button
	importInfo  *widget.Label
	rooms       *widget.Entry
	caFile      *widget.Entry
	caBrowse    *widget.Button
	pin         *widget.Entry
	concurrency *widget.Entry
	writeTest   *widget.Check
	checkRooms  *widget.Check
	Save        *widget.Button
	Revert      *widget.Button
	status      *widget.Label

	errs    map[string]*widget.Label
	touched map[string]bool
	showAll bool

	head, tail []*widget.FormItem
	authItems  map[string][]*widget.FormItem

	loaded      FormValues
	loading     bool
	pwChanged   bool
	lastImport  *profile.Import
	content     fyne.CanvasObject
	passwordSet bool // the keychain holds a password for the loaded profile

	oa        *oauthForm
	deviceMsg string
	// OAuth reaches Entra ID for Connect account, Sign out and the token sources (nil:
	// the real clouds, no keychain).
	OAuth *OAuthEnv
	// OnSignIn is called after a Connect account or Sign out finished (err nil on success).
	OnSignIn func(err error)

	// OnChanged is called after every user edit (to update the dirty marker).
	OnChanged func()
	// OnSave and OnRevert are wired by the window.
	OnSave, OnRevert func()
	// OnImportCSV opens the file dialog; OnBrowseCA likewise; OnFind runs Autodiscover;
	// OnFindSteps shows the last Find's steps (FindSteps).
	OnImportCSV, OnBrowseCA, OnFind, OnFindSteps func()
}

// NewProfileForm builds an empty form.
func NewProfileForm() *ProfileForm {
	f := &ProfileForm{errs: map[string]*widget.Label{}, touched: map[string]bool{}, authItems: map[string][]*widget.FormItem{}}
	changed := func(field string) func(string) {
		return func(string) { f.edited(field) }
	}

	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("Interview scheduling")
	f.name.OnChanged = changed(FieldName)

	f.env = widget.NewRadioGroup(labels(environments), func(string) { f.envChanged(); f.edited("") })
	f.env.Horizontal = true
	f.env.Required = true

	f.url = widget.NewEntry()
	f.url.SetPlaceHolder("https://mail.contoso.com/EWS/Exchange.asmx")
	f.url.OnChanged = changed(FieldURL)
	f.find = widget.NewButtonWithIcon("Find", theme.SearchIcon(), func() {
		if f.OnFind != nil {
			f.OnFind()
		}
	})
	f.findHint = widget.NewLabel("")
	f.findHint.Importance = widget.LowImportance
	f.findHint.Wrapping = fyne.TextWrapWord
	f.SetFindAvailable(false, "Find (Autodiscover): coming soon")
	f.useAD = widget.NewCheck("Find the EWS URL with Autodiscover at every run", func(bool) {
		f.updateURLPlaceholder()
		f.edited(FieldURL)
	})
	// A button to a dialog, not the steps inline: long wrapped URLs in the form would
	// change its row heights after layout.
	f.findSteps = widget.NewButtonWithIcon("", theme.InfoIcon(), func() {
		if f.OnFindSteps != nil {
			f.OnFindSteps()
		}
	})
	f.findSteps.Alignment = widget.ButtonAlignLeading
	f.findSteps.Hide()

	f.auth = widget.NewSelect(labels(authModes), func(string) { f.swapAuth(); f.edited("") })

	f.user = widget.NewEntry()
	f.user.SetPlaceHolder(`svc-app@contoso.com or CONTOSO\svc-app`)
	f.user.OnChanged = changed(FieldUser)
	f.password = widget.NewPasswordEntry()
	f.password.OnChanged = func(string) {
		if !f.loading {
			f.pwChanged = true
		}
		f.edited("")
	}
	f.keychain = widget.NewLabel("")
	f.keychain.Wrapping = fyne.TextWrapWord

	f.svcMailbox = widget.NewEntry()
	f.svcMailbox.SetPlaceHolder("svc-app@contoso.com (optional)")
	f.svcMailbox.OnChanged = changed(FieldServiceMailbox)

	f.mailboxes = widget.NewMultiLineEntry()
	f.mailboxes.SetPlaceHolder("One address per line — paste from Excel, or Import CSV…")
	f.mailboxes.SetMinRowsVisible(5)
	f.mailboxes.OnChanged = changed(FieldMailboxes)
	f.importCSV = widget.NewButtonWithIcon("Import CSV…", theme.FolderOpenIcon(), func() {
		if f.OnImportCSV != nil {
			f.OnImportCSV()
		}
	})
	f.importInfo = widget.NewLabel("")
	f.importInfo.Wrapping = fyne.TextWrapWord

	f.rooms = widget.NewMultiLineEntry()
	f.rooms.SetPlaceHolder("Room mailboxes, one per line (optional)")
	f.rooms.SetMinRowsVisible(2)
	f.rooms.OnChanged = changed(FieldRooms)

	f.caFile = widget.NewEntry()
	f.caFile.SetPlaceHolder("PEM file of a private CA (optional)")
	f.caFile.OnChanged = changed(FieldCAFile)
	f.caBrowse = widget.NewButtonWithIcon("Browse…", theme.FolderOpenIcon(), func() {
		if f.OnBrowseCA != nil {
			f.OnBrowseCA()
		}
	})
	f.pin = widget.NewEntry()
	f.pin.SetPlaceHolder("SHA-256 of a self-signed certificate (optional)")
	f.pin.OnChanged = changed(FieldPin)

	f.concurrency = widget.NewEntry()
	f.concurrency.SetPlaceHolder(fmt.Sprint(DefaultConcurrency))
	f.concurrency.OnChanged = changed(FieldConcurrency)
	f.writeTest = widget.NewCheck("Write test (create and hard-delete a calendar item)", func(bool) { f.edited("") })
	f.checkRooms = widget.NewCheck("Check rooms (room lists and every room)", func(bool) { f.edited("") })

	f.Save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		if f.OnSave != nil {
			f.OnSave()
		}
	})
	f.Save.Importance = widget.HighImportance
	f.Revert = widget.NewButtonWithIcon("Revert", theme.ContentUndoIcon(), func() {
		if f.OnRevert != nil {
			f.OnRevert()
		}
	})
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord

	item := func(label string, w fyne.CanvasObject, hint string) *widget.FormItem {
		e := widget.NewLabel("")
		e.Importance = widget.DangerImportance
		e.Wrapping = fyne.TextWrapWord
		e.Hide()
		f.errs[label] = e
		return &widget.FormItem{Text: label, Widget: container.NewVBox(w, e), HintText: hint}
	}
	urlRow := container.NewBorder(nil, nil, nil, f.find, f.url)
	mbButtons := container.NewBorder(nil, nil, container.NewVBox(f.importCSV), nil, f.importInfo)
	caRow := container.NewBorder(nil, nil, nil, f.caBrowse, f.caFile)

	f.head = []*widget.FormItem{
		item(FieldName, f.name, ""),
		{Text: "Environment", Widget: f.env},
		item(FieldURL, container.NewVBox(urlRow, f.findHint, f.useAD, container.NewHBox(f.findSteps)), ""),
		{Text: "Authentication", Widget: f.auth},
	}
	creds := []*widget.FormItem{
		item(FieldUser, f.user, ""),
		{Text: "Password", Widget: container.NewVBox(f.password, f.keychain)},
	}
	f.authItems[AuthBasic] = creds
	f.authItems[AuthNTLM] = creds
	f.buildOAuth(item, creds[0])
	f.tail = []*widget.FormItem{
		item(FieldServiceMailbox, f.svcMailbox, "The service account's own mailbox: proves the account works before impersonating"),
		item(FieldMailboxes, container.NewVBox(f.mailboxes, mbButtons), ""),
		item(FieldRooms, f.rooms, ""),
		item(FieldCAFile, caRow, ""),
		item(FieldPin, f.pin, "Trust exactly this certificate (lab or self-signed servers); never disables checks"),
		item(FieldConcurrency, f.concurrency, fmt.Sprintf("Parallel requests, 1–%d (Exchange allows %d per account)", MaxConcurrency, MaxConcurrency)),
		{Text: "Options", Widget: container.NewVBox(f.writeTest, f.checkRooms)},
	}
	f.form = widget.NewForm()
	f.env.SetSelected(environments[0].Label)
	f.auth.SetSelected(authModes[0].Label)
	f.swapAuth()

	buttons := container.NewHBox(f.Save, f.Revert, layout.NewSpacer())
	f.content = container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), f.status, buttons), nil, nil,
		container.NewVScroll(container.NewPadded(f.form)))
	f.Load(FormValues{}, false)
	return f
}

// orEmpty is "" for the default choice, so an untouched Select reads as unset.
func orEmpty(id, def string) string {
	if id == def {
		return ""
	}
	return id
}

func labels(opts []struct{ ID, Label string }) []string {
	s := make([]string, len(opts))
	for i, o := range opts {
		s[i] = o.Label
	}
	return s
}

func idFor(opts []struct{ ID, Label string }, label string) string {
	for _, o := range opts {
		if o.Label == label {
			return o.ID
		}
	}
	return ""
}

func labelFor(opts []struct{ ID, Label string }, id string) string {
	for _, o := range opts {
		if o.ID == id {
			return o.Label
		}
	}
	return opts[0].Label
}

// Content is the form with its Save/Revert bar.
func (f *ProfileForm) Content() fyne.CanvasObject { return f.content }

// swapAuth puts the selected auth mode's sub-form between head and tail.
func (f *ProfileForm) swapAuth() {
	if f.form == nil {
		return
	}
	mode := idFor(authModes, f.auth.Selected)
	sub := f.authItems[mode]
	if mode == AuthBasic || mode == AuthNTLM {
		sub = f.legacyItems(sub)
	}
	items := append(append(append([]*widget.FormItem{}, f.head...), sub...), f.tail...)
	f.form.Items = items
	f.form.Refresh()
}

// SetFindAvailable enables the Autodiscover button, or disables it with a reason.
func (f *ProfileForm) SetFindAvailable(ok bool, hint string) {
	if ok {
		f.find.Enable()
	} else {
		f.find.Disable()
	}
	f.findHint.SetText(hint)
	f.findHint.Hidden = hint == ""
	f.findHint.Refresh()
}

// Values reads the form.
func (f *ProfileForm) Values() FormValues {
	v := f.values()
	if v.Auth != AuthAppSecret && v.Auth != AuthAppCert {
		v.Protocol = "" // Graph needs app-only OAuth; other modes prove EWS
	}
	return v
}

func (f *ProfileForm) values() FormValues {
	return FormValues{
		Name:            strings.TrimSpace(f.name.Text),
		Environment:     idFor(environments, f.env.Selected),
		URL:             strings.TrimSpace(f.url.Text),
		UseAutodiscover: f.useAD.Checked,
		Auth:            idFor(authModes, f.auth.Selected),
		User:            strings.TrimSpace(f.user.Text),
		ServiceMailbox:  strings.TrimSpace(f.svcMailbox.Text),
		Mailboxes:       f.mailboxes.Text,
		Rooms:           f.rooms.Text,
		CAFile:          strings.TrimSpace(f.caFile.Text),
		PinSHA256:       strings.TrimSpace(f.pin.Text),
		Concurrency:     strings.TrimSpace(f.concurrency.Text),
		WriteTest:       f.writeTest.Checked,
		CheckRooms:      f.checkRooms.Checked,
		Tenant:          strings.TrimSpace(f.oa.tenant.Text),
		ClientID:        strings.TrimSpace(f.oa.clientID.Text),
		Cloud:           orEmpty(idFor(clouds, f.oa.cloud.Selected), clouds[0].ID),
		CertFile:        strings.TrimSpace(f.oa.certFile.Text),
		Protocol:        orEmpty(idFor(protocols, f.oa.protocol.Selected), protocols[0].ID),
	}
}

// Load replaces the form's content; passwordSaved says whether the keychain holds one.
func (f *ProfileForm) Load(v FormValues, passwordSaved bool) {
	f.loading = true
	defer func() { f.loading = false }()
	if v.Environment == "" {
		v.Environment = environments[0].ID
	}
	if v.Auth == "" {
		v.Auth = AuthBasic
	}
	f.name.SetText(v.Name)
	f.env.SetSelected(labelFor(environments, v.Environment))
	f.url.SetText(v.URL)
	f.useAD.SetChecked(v.UseAutodiscover)
	f.updateURLPlaceholder()
	f.SetFindSteps("", nil, false)
	f.auth.SetSelected(labelFor(authModes, v.Auth))
	f.user.SetText(v.User)
	f.password.SetText("")
	f.svcMailbox.SetText(v.ServiceMailbox)
	f.mailboxes.SetText(v.Mailboxes)
	f.rooms.SetText(v.Rooms)
	f.caFile.SetText(v.CAFile)
	f.pin.SetText(v.PinSHA256)
	f.concurrency.SetText(v.Concurrency)
	f.writeTest.SetChecked(v.WriteTest)
	f.checkRooms.SetChecked(v.CheckRooms)
	f.oa.tenant.SetText(v.Tenant)
	f.oa.clientID.SetText(v.ClientID)
	f.oa.cloud.SetSelected(labelFor(clouds, v.Cloud))
	f.oa.protocol.SetSelected(labelFor(protocols, v.Protocol))
	f.oa.certFile.SetText(v.CertFile)
	f.oa.secret.SetText("")
	f.oa.certPassword.SetText("")
	f.oa.cert, f.oa.savedCert, f.oa.savedSecret = nil, nil, ""
	f.oa.certInfo.SetText("")
	f.swapAuth()
	f.refreshSignIn()
	f.refreshSecretState()
	f.loaded = f.Values()
	f.pwChanged = false
	f.passwordSet = passwordSaved
	f.lastImport = nil
	f.showAll = false
	clear(f.touched)
	f.password.SetPlaceHolder(f.passwordPlaceholder())
	f.updateImportInfo()
	f.showErrors()
	f.status.SetText("")
}

func (f *ProfileForm) passwordPlaceholder() string {
	if f.passwordSet {
		return "•••••••• saved — type to replace"
	}
	return "Password"
}

// MarkSaved records the current values as the saved state.
func (f *ProfileForm) MarkSaved(passwordSaved bool) {
	f.loading = true
	f.loaded = f.Values()
	f.pwChanged = false
	f.passwordSet = passwordSaved
	f.password.SetText("")
	f.password.SetPlaceHolder(f.passwordPlaceholder())
	// Typed OAuth secrets stay for this session's runs until the keychain has them
	// (SecretsStored); they only stop counting as unsaved edits.
	f.oa.savedSecret, f.oa.savedCert = f.oa.secret.Text, f.oa.cert
	f.loading = false
}

// Password is what the user typed ("" when untouched: keep the saved one).
func (f *ProfileForm) Password() (string, bool) { return f.password.Text, f.pwChanged }

// Dirty reports unsaved edits.
func (f *ProfileForm) Dirty() bool {
	return f.Values() != f.loaded || (f.pwChanged && f.password.Text != "") || f.oa.secret.Text != f.oa.savedSecret || f.oa.cert != f.oa.savedCert
}

// SetKeychainState shows where the password lives and whether it is there.
func (f *ProfileForm) SetKeychainState(text string, imp widget.Importance) {
	setShown(f.keychain, text)
	f.keychain.Importance = imp
	f.keychain.Refresh()
}

// setShown puts core or error text on a proportional label: Fyne 2.8 draws "→ " there
// as "→�" (fyne-io/fyne#6216), so shown() words portal paths with "›". Monospace labels
// (evidence, Find's steps) keep the core's text as it is.
func setShown(l *widget.Label, s string) { l.SetText(shown(s)) }

// SetStatus shows a line above Save/Revert.
func (f *ProfileForm) SetStatus(text string, imp widget.Importance) {
	setShown(f.status, text)
	f.status.Importance = imp
	f.status.Refresh()
}

// Status is the text above Save/Revert.
func (f *ProfileForm) Status() string { return f.status.Text }

// SetURL fills the EWS URL (Autodiscover found it).
func (f *ProfileForm) SetURL(u string) { f.url.SetText(u); f.edited(FieldURL) }

// SetFindSteps keeps the steps of the last Find, about title, behind a button under the
// URL (nil lines: none). failed makes the button stand out: the steps are the explanation.
func (f *ProfileForm) SetFindSteps(title string, lines []string, failed bool) {
	f.findTitle, f.findLines = title, lines
	defer f.form.Refresh() // the URL row changes height
	if len(lines) == 0 {
		f.findSteps.Hide()
		return
	}
	n := fmt.Sprintf("%d steps", len(lines))
	if len(lines) == 1 {
		n = "1 step"
	}
	f.findSteps.Importance = widget.LowImportance
	f.findSteps.SetText(fmt.Sprintf("How Autodiscover found it (%s)…", n))
	if failed {
		f.findSteps.Importance = widget.WarningImportance
		f.findSteps.SetText(fmt.Sprintf("What Autodiscover tried (%s)…", n))
	}
	f.findSteps.Show()
}

// FindSteps is the last Find's title and steps (no lines when there are none).
func (f *ProfileForm) FindSteps() (title string, lines []string) {
	return f.findTitle, f.findLines
}

// SetCAFile fills the CA file field (Browse…).
func (f *ProfileForm) SetCAFile(p string) { f.caFile.SetText(p); f.edited(FieldCAFile) }

// SetPin fills the pinned fingerprint (Trust this certificate…).
func (f *ProfileForm) SetPin(h string) { f.pin.SetText(h); f.edited(FieldPin) }

// ImportList merges an imported list into the target mailboxes and shows what happened.
func (f *ProfileForm) ImportList(imp *profile.Import) {
	have := ParseList(f.mailboxes.Text).Addresses
	seen := map[string]bool{}
	var lines []string
	for _, a := range append(have, imp.Addresses...) {
		k := strings.ToLower(a)
		if !seen[k] {
			seen[k] = true
			lines = append(lines, a)
		}
	}
	f.mailboxes.SetText(strings.Join(lines, "\n"))
	f.lastImport = imp
	f.edited(FieldMailboxes)
}

// ImportInfo is the text under the mailbox list: count and rejected lines.
func (f *ProfileForm) ImportInfo() string { return f.importInfo.Text }

func (f *ProfileForm) updateImportInfo() {
	n := len(ParseList(f.mailboxes.Text).Addresses)
	var b strings.Builder
	switch n {
	case 0:
		b.WriteString("No target mailboxes yet")
	case 1:
		b.WriteString("1 mailbox")
	default:
		fmt.Fprintf(&b, "%s mailboxes", thousands(n))
	}
	if imp := f.lastImport; imp != nil {
		fmt.Fprintf(&b, " — imported %s", thousands(len(imp.Addresses)))
		switch imp.Duplicates {
		case 0:
		case 1:
			b.WriteString(", 1 duplicate merged")
		default:
			fmt.Fprintf(&b, ", %s duplicates merged", thousands(imp.Duplicates))
		}
		if len(imp.Rejected) > 0 {
			fmt.Fprintf(&b, ", %d rejected:", len(imp.Rejected))
			for i, r := range imp.Rejected {
				if i == 20 {
					fmt.Fprintf(&b, "\n  … and %d more", len(imp.Rejected)-i)
					break
				}
				fmt.Fprintf(&b, "\n  line %d: %s — %s", r.Line, clip(r.Text, 60), r.Reason)
			}
		}
	}
	setShown(f.importInfo, b.String())
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (f *ProfileForm) edited(field string) {
	if f.loading || f.form == nil {
		return
	}
	if field != "" {
		f.touched[field] = true
	}
	if field == FieldMailboxes {
		f.updateImportInfo()
	}
	f.showErrors()
	if f.OnChanged != nil {
		f.OnChanged()
	}
}

// Validate checks every field, shows every message and returns them.
func (f *ProfileForm) Validate() []FieldError {
	f.showAll = true
	return f.showErrors()
}

// FieldError is the message shown under a field ("" when none).
func (f *ProfileForm) FieldError(field string) string {
	if l := f.errs[field]; l != nil && l.Visible() {
		return l.Text
	}
	return ""
}

func (f *ProfileForm) showErrors() []FieldError {
	errs := f.Values().Validate()
	byField := map[string]string{}
	for _, e := range errs {
		byField[e.Field] = e.Message
	}
	changed := false
	for field, l := range f.errs {
		msg := shown(byField[field])
		if msg != "" && (f.showAll || f.touched[field]) {
			if l.Text != msg || !l.Visible() {
				l.Text = msg
				l.Show()
				changed = true
			}
		} else if l.Visible() {
			l.Hide()
			changed = true
		}
	}
	if changed {
		f.form.Refresh() // rows change height
	}
	return errs
}
