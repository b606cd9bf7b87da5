// Package ui is Deputy's window: views and their view-models over the core packages. It
// never imports fyne.io/fyne/v2/app, so everything here is tested headless with
// fyne.io/fyne/v2/test; app/deputy/main.go only creates the app and hands over a window.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/autodiscover"
	"deputy/internal/impersonation"
	"deputy/internal/profile"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// onMain runs f on the Fyne main goroutine, as everything that touches widgets from a
// worker goroutine must. It is fyne.Do; tests swap it so that worker updates and the
// test goroutine (Fyne's test driver runs fyne.Do in the caller) never overlap.
var onMain = fyne.Do

// keychainTimeout bounds one keychain call made from the window.
const keychainTimeout = 5 * time.Second

// Window is Deputy's main window content and behaviour.
type Window struct {
	win fyne.Window
	env Env

	profiles []StoredProfile
	current  int // index into profiles; -1: a draft not yet saved
	draft    StoredProfile
	selBusy  bool
	keyGen   int

	list      *widget.List
	listNote  *widget.Label
	newBtn    *widget.Button
	dupBtn    *widget.Button
	delBtn    *widget.Button
	title     *widget.Label
	form      *ProfileForm
	diag      *DiagnosticsView
	tabs      *container.AppTabs
	formTab   *container.TabItem
	diagTab   *container.TabItem
	setup     *SetupView
	setupTab  *container.TabItem
	setupKey  string // the profile situation the Setup tab was last filled from
	main      fyne.CanvasObject
	welcome   fyne.CanvasObject
	welcomeSt *widget.Label
	demoBtn   *widget.Button
	root      *fyne.Container

	cancelRun context.CancelFunc
	runDone   chan struct{}
	demo      *DemoServer
	prompt    *Prompt
	closing   bool

	quit func() // closes the window (tests replace it)

	// OnRunFinished is called (on the UI goroutine) after a run's result is shown.
	OnRunFinished func()
}

// New builds the window's content into w and loads the profiles.
func New(w fyne.Window, env Env) *Window {
	u := &Window{win: w, env: env, current: -1}
	u.quit = w.Close
	u.form = NewProfileForm()
	u.form.OnChanged = u.markDirty
	u.form.OnSave = func() { u.Save() }
	u.form.OnRevert = u.Revert
	u.form.OnImportCSV = u.importCSV
	u.form.OnBrowseCA = u.browseCA
	u.attachOAuth()
	if env.Discover != nil {
		u.form.SetFindAvailable(true, "")
		u.form.OnFind = u.find
		u.form.OnFindSteps = u.showFindSteps
	}
	u.diag = NewDiagnosticsView(func(s string) { fyne.CurrentApp().Clipboard().SetContent(s) })
	u.diag.OnRun = u.Run
	u.diag.OnCancel = u.Cancel
	u.diag.OnExport = u.export
	u.diag.OnTrust = u.trust
	u.setup = NewSetupView()
	u.setup.OnCopy = func(s string) { fyne.CurrentApp().Clipboard().SetContent(s) }
	u.setup.OnSave = u.saveScript

	u.list = widget.NewList(
		func() int { return len(u.profiles) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("Interview scheduling")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(u.profiles) {
				o.(*widget.Label).SetText(u.listName(i))
			}
		})
	u.list.OnSelected = func(i widget.ListItemID) {
		if u.selBusy || i == u.current {
			return
		}
		u.restoreSelection() // the switch happens only once any unsaved edits are dealt with
		u.Guard(func() { u.open(i) })
	}
	u.listNote = widget.NewLabel("")
	u.listNote.Wrapping = fyne.TextWrapWord
	u.listNote.Importance = widget.WarningImportance
	u.listNote.Hide()
	u.newBtn = widget.NewButtonWithIcon("New", theme.ContentAddIcon(), func() { u.Guard(u.NewProfile) })
	u.dupBtn = widget.NewButton("Duplicate", func() { u.Guard(u.Duplicate) })
	u.delBtn = widget.NewButton("Delete", u.confirmDelete)
	left := container.NewBorder(heading("Profiles"),
		container.NewVBox(u.listNote, u.newBtn, container.NewGridWithColumns(2, u.dupBtn, u.delBtn)),
		nil, nil, u.list)

	u.title = widget.NewLabel("")
	u.title.TextStyle.Bold = true
	u.title.Truncation = fyne.TextTruncateEllipsis
	u.formTab = container.NewTabItemWithIcon("Profile", theme.AccountIcon(), u.form.Content())
	u.diagTab = container.NewTabItemWithIcon("Diagnostics", theme.SearchIcon(), u.diag.Content())
	u.setupTab = container.NewTabItemWithIcon("Setup", theme.DocumentCreateIcon(), u.setup.Content())
	u.tabs = container.NewAppTabs(u.formTab, u.diagTab, u.setupTab)
	right := container.NewBorder(u.title, nil, nil, nil, u.tabs)
	split := container.NewHSplit(left, right)
	split.Offset = 0.18
	u.main = split
	u.welcome = u.buildWelcome()
	u.root = container.NewStack(u.main, u.welcome)

	w.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch {
		case (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) && u.tabs.Selected() == u.diagTab && u.main.Visible():
			u.Run()
		case ev.Name == fyne.KeyEscape && u.diag.Running():
			u.Cancel()
		}
	})
	// Focus left in a (now hidden) form field would swallow Enter on the Diagnostics tab.
	u.tabs.OnSelected = func(ti *container.TabItem) {
		if ti == u.diagTab || ti == u.setupTab {
			w.Canvas().Unfocus()
		}
		if ti == u.setupTab {
			u.syncSetup()
		}
	}
	// Ctrl+R runs from anywhere, Esc cancels a run.
	w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) {
			if u.main.Visible() {
				u.Run()
			}
		})
	w.SetCloseIntercept(u.requestClose)
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { u.dropped(uris) })
	u.Reload("")
	return u
}

// Content is the window's root object.
func (u *Window) Content() fyne.CanvasObject { return u.root }

// Form and Diagnostics give tests and screenshots access to the views.
func (u *Window) Form() *ProfileForm            { return u.form }
func (u *Window) Diagnostics() *DiagnosticsView { return u.diag }

// ShowDiagnostics and ShowProfile switch tabs.
func (u *Window) ShowDiagnostics() { u.tabs.Select(u.diagTab) }
func (u *Window) ShowProfile()     { u.tabs.Select(u.formTab) }
func (u *Window) ShowSetup()       { u.tabs.Select(u.setupTab) }

// Setup is the Setup tab's view.
func (u *Window) Setup() *SetupView { return u.setup }

// syncSetup fills the Setup tab from the profile on screen, unless it was already filled
// from exactly this situation (then the admin's choices on the tab stay).
func (u *Window) syncSetup() {
	s := situationOf(u.form.Values())
	key := fmt.Sprintf("%#v", s)
	if key == u.setupKey {
		return
	}
	u.setupKey = key
	u.setup.Prefill(s)
}

func (u *Window) buildWelcome() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Welcome to Deputy", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	intro := widget.NewLabelWithStyle(
		"Deputy proves that a service account can act as (impersonate) your Exchange mailboxes over EWS —\n"+
			"and when it cannot, says exactly why for each mailbox and gives you the PowerShell to fix it.",
		fyne.TextAlignCenter, fyne.TextStyle{})
	u.demoBtn = widget.NewButtonWithIcon("Try the demo", theme.MediaPlayIcon(), u.TryDemo)
	u.demoBtn.Importance = widget.HighImportance
	if u.env.StartDemo == nil {
		u.demoBtn.Disable()
	}
	create := widget.NewButtonWithIcon("Create a profile", theme.ContentAddIcon(), u.NewProfile)
	demoNote := widget.NewLabelWithStyle(
		"The demo starts a simulated Exchange server on this computer (127.0.0.1, nothing leaves it),\n"+
			"with a few deliberate mistakes, creates a “Demo” profile and diagnoses it.",
		fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	// Regular foreground: the theme's low-importance grey is too faint to read on white.
	demoNote.Importance = widget.MediumImportance
	u.welcomeSt = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	u.welcomeSt.Wrapping = fyne.TextWrapWord
	u.welcomeSt.Importance = widget.DangerImportance
	icon := canvas.NewImageFromResource(Icon())
	icon.FillMode = canvas.ImageFillContain
	iconBox := container.NewCenter(container.NewGridWrap(fyne.NewSize(128, 128), icon))
	body := container.NewVBox(iconBox, title, intro, layout.NewSpacer(),
		container.NewCenter(container.NewHBox(u.demoBtn, create)), demoNote, u.welcomeSt)
	return container.NewCenter(container.NewPadded(body))
}

// WelcomeVisible reports whether the first-run view is showing.
func (u *Window) WelcomeVisible() bool { return u.welcome.Visible() }

func (u *Window) showWelcome(on bool) {
	if on {
		u.main.Hide()
		u.welcome.Show()
	} else {
		u.welcome.Hide()
		u.main.Show()
	}
	u.root.Refresh()
}

func (u *Window) listName(i int) string {
	name := u.profiles[i].Values.Name
	if i == u.current && u.form.Dirty() {
		name += "  •"
	}
	return name
}

// Reload reads the profiles again and opens the one with id (or the first).
func (u *Window) Reload(id string) {
	ps, warns, err := u.env.Profiles.List()
	if err != nil {
		warns = append(warns, "Cannot read the profiles: "+err.Error())
	}
	u.profiles = ps
	if len(warns) > 0 {
		setShown(u.listNote, strings.Join(warns, "\n"))
		u.listNote.Show()
	} else {
		u.listNote.Hide()
	}
	u.list.Refresh()
	idx := -1
	for i, p := range ps {
		if p.ID == id {
			idx = i
		}
	}
	if idx < 0 && len(ps) > 0 {
		idx = 0
	}
	if idx < 0 {
		u.current = -1
		u.draft = StoredProfile{}
		u.form.Load(FormValues{}, false)
		u.updateButtons()
		u.showWelcome(true)
		return
	}
	u.showWelcome(false)
	u.open(idx)
}

// Profiles are the names in the list, in order.
func (u *Window) Profiles() []string {
	var s []string
	for _, p := range u.profiles {
		s = append(s, p.Values.Name)
	}
	return s
}

// Current is the profile being edited (a draft has no ID).
func (u *Window) Current() StoredProfile {
	if u.current >= 0 && u.current < len(u.profiles) {
		return u.profiles[u.current]
	}
	return u.draft
}

func (u *Window) open(i int) {
	u.current = i
	p := u.profiles[i]
	u.form.Load(p.Values, false)
	u.restoreSelection()
	u.updateTitle()
	u.updateButtons()
	u.checkKeychain(p.ID)
	if u.tabs.Selected() == u.setupTab {
		u.syncSetup()
	}
}

func (u *Window) restoreSelection() {
	u.selBusy = true
	defer func() { u.selBusy = false }()
	if u.current >= 0 {
		u.list.Select(u.current)
	} else {
		u.list.UnselectAll()
	}
}

func (u *Window) updateButtons() {
	if u.current >= 0 {
		u.dupBtn.Enable()
		u.delBtn.Enable()
	} else {
		u.dupBtn.Disable()
		u.delBtn.Disable()
	}
}

func (u *Window) updateTitle() {
	name := u.form.Values().Name
	if name == "" {
		name = "New profile"
	}
	switch {
	case u.current < 0:
		name += " — not saved yet"
	case u.form.Dirty():
		name += " — unsaved changes"
	}
	u.title.SetText(name)
}

// Title is the line above the tabs.
func (u *Window) Title() string { return u.title.Text }

func (u *Window) markDirty() {
	if u.current >= 0 {
		u.list.RefreshItem(u.current)
	}
	u.updateTitle()
	if pw, changed := u.form.Password(); changed && pw != "" {
		u.form.SetKeychainState(fmt.Sprintf("Will be saved to %s when you save (never to a file)", u.backend()), widget.MediumImportance)
	}
}

func (u *Window) backend() string {
	if u.env.Keychain == nil {
		return "the keychain"
	}
	return u.env.Keychain.Backend()
}

// checkKeychain shows whether profile id has a saved password, without blocking the UI
// (a locked keychain can take the whole deadline to answer).
func (u *Window) checkKeychain(id string) {
	u.keyGen++
	gen := u.keyGen
	if id == "" || u.env.Keychain == nil {
		u.form.SetKeychainState(fmt.Sprintf("Not saved — type the password; Save stores it in %s", u.backend()), widget.WarningImportance)
		return
	}
	u.form.SetKeychainState("Checking "+u.backend()+"…", widget.LowImportance)
	kc := u.env.Keychain
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
		defer cancel()
		has, err := kc.Has(ctx, id)
		onMain(func() {
			if gen != u.keyGen {
				return // another profile was opened meanwhile
			}
			u.form.passwordSet = has && err == nil
			u.form.password.SetPlaceHolder(u.form.passwordPlaceholder())
			text, imp := KeychainState(kc.Backend(), has, err)
			u.form.SetKeychainState(text, imp)
		})
	}()
}

// KeychainState words the password's state for the form.
func KeychainState(backend string, has bool, err error) (string, widget.Importance) {
	switch {
	case err != nil:
		return keychainError(err), widget.DangerImportance
	case has:
		return "Saved in " + backend, widget.SuccessImportance
	}
	return fmt.Sprintf("Not saved — type the password; Save stores it in %s (never in a file)", backend), widget.WarningImportance
}

func keychainError(err error) string {
	return "Keychain problem: " + err.Error() + " — Deputy never falls back to storing the password in a file."
}

// Prompt is a question with several answers (Save / Discard / Cancel).
type Prompt struct {
	Title   string
	Message string
	Answers []string
	choose  func(string)
}

// Choose answers the prompt as a click on that button would.
func (p *Prompt) Choose(answer string) { p.choose(answer) }

// Pending is the prompt on screen, if any (tests answer it through Choose).
func (u *Window) Pending() *Prompt { return u.prompt }

func (u *Window) ask(title, msg string, answers []string, then func(string)) {
	p := &Prompt{Title: title, Message: msg, Answers: answers}
	var hide func()
	p.choose = func(a string) {
		if u.prompt == p {
			u.prompt = nil
		}
		hide()
		then(a)
	}
	var btns []fyne.CanvasObject
	for i, a := range answers {
		b := widget.NewButton(a, func() { p.choose(a) })
		if i == 0 {
			b.Importance = widget.HighImportance
		}
		btns = append(btns, b)
	}
	body := widget.NewLabel(msg)
	body.Wrapping = fyne.TextWrapWord
	hide = modal(u.win.Canvas(), title, fixedWidth(440, body), btns...)
	u.prompt = p
}

// showError tells the user something failed.
func (u *Window) showError(title string, err error) {
	body := widget.NewLabel(shown(err.Error()))
	body.Wrapping = fyne.TextWrapWord
	var hide func()
	ok := widget.NewButton("OK", func() { hide() })
	hide = modal(u.win.Canvas(), title, fixedWidth(480, body), ok)
}

// Guard runs next once unsaved edits are saved or discarded; Cancel keeps editing.
func (u *Window) Guard(next func()) {
	if !u.form.Dirty() {
		next()
		return
	}
	name := u.form.Values().Name
	if name == "" {
		name = "this new profile"
	}
	u.ask("Unsaved changes", fmt.Sprintf("Save the changes to “%s”?", name),
		[]string{"Save", "Discard", "Cancel"}, func(a string) {
			switch a {
			case "Save":
				if u.Save() {
					next()
				}
			case "Discard":
				u.form.Load(u.Current().Values, u.form.passwordSet)
				next()
			}
			u.restoreSelection()
		})
}

// NewProfile starts an unsaved profile.
func (u *Window) NewProfile() {
	u.current = -1
	u.draft = StoredProfile{}
	u.form.Load(FormValues{}, false)
	u.afterDraft()
}

// Duplicate starts an unsaved copy of the current profile (without its password).
func (u *Window) Duplicate() {
	if u.current < 0 {
		return
	}
	v := u.profiles[u.current].Values
	v.Name = u.uniqueName(v.Name + " (copy)")
	u.current = -1
	u.draft = StoredProfile{Values: v}
	u.form.Load(v, false)
	u.form.touched[FieldName] = true
	u.afterDraft()
	u.form.SetStatus("A copy: enter the password, then Save.", widget.MediumImportance)
}

func (u *Window) afterDraft() {
	u.showWelcome(false)
	u.restoreSelection()
	u.updateTitle()
	u.updateButtons()
	u.checkKeychain("")
	u.tabs.Select(u.formTab)
	u.win.Canvas().Focus(u.form.name)
}

func (u *Window) uniqueName(base string) string {
	name := base
	for n := 2; u.nameTaken(name, ""); n++ {
		name = fmt.Sprintf("%s %d", base, n)
	}
	return name
}

func (u *Window) nameTaken(name, exceptID string) bool {
	for _, p := range u.profiles {
		if strings.EqualFold(p.Values.Name, name) && (p.ID != exceptID || exceptID == "") {
			return true
		}
	}
	return false
}

// Save validates and stores the form; the password goes to the keychain only.
func (u *Window) Save() bool {
	errs := u.form.Validate()
	cur := u.Current()
	v := u.form.Values()
	if u.nameTaken(v.Name, cur.ID) {
		errs = append(errs, FieldError{FieldName, "another profile already has this name"})
		u.form.errs[FieldName].SetText("another profile already has this name")
		u.form.errs[FieldName].Show()
	}
	if len(errs) > 0 {
		msg := fmt.Sprintf("Not saved: %d field(s) need attention — %s", len(errs), errs[0].Error())
		u.form.SetStatus(msg, widget.DangerImportance)
		u.tabs.Select(u.formTab)
		return false
	}
	cur.Values = v
	saved, err := u.env.Profiles.Save(cur)
	if err != nil {
		u.form.SetStatus("Not saved: "+err.Error(), widget.DangerImportance)
		return false
	}
	status, imp := "Saved.", widget.SuccessImportance
	pwSaved := u.form.passwordSet
	if pw, changed := u.form.Password(); changed && pw != "" {
		if err := u.setPassword(saved.ID, pw); err != nil {
			status, imp = "Profile saved, but the password was NOT: "+err.Error(), widget.DangerImportance
			u.form.SetKeychainState(keychainError(err), widget.DangerImportance)
		} else {
			pwSaved = true
			status = "Saved. Password stored in " + u.backend() + "."
			u.form.SetKeychainState("Saved in "+u.backend(), widget.SuccessImportance)
		}
	}
	if IsOAuth(v.Auth) {
		if st, i := u.saveOAuthSecrets(saved.ID); st != "" {
			status, imp = st, i
		}
	}
	u.form.MarkSaved(pwSaved)
	u.selBusy = true
	u.reloadKeep(saved.ID)
	u.selBusy = false
	u.form.SetStatus(status, imp)
	return true
}

func (u *Window) setPassword(id, pw string) error {
	if u.env.Keychain == nil {
		return errors.New("no keychain is available on this system")
	}
	ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
	defer cancel()
	return u.env.Keychain.Set(ctx, id, pw)
}

// reloadKeep re-reads the list after a save without reloading the form.
func (u *Window) reloadKeep(id string) {
	ps, _, err := u.env.Profiles.List()
	if err != nil {
		return
	}
	u.profiles = ps
	u.current = -1
	for i, p := range ps {
		if p.ID == id {
			u.current = i
		}
	}
	u.draft = StoredProfile{}
	u.list.Refresh()
	u.restoreSelection()
	u.updateTitle()
	u.updateButtons()
}

// Revert throws away unsaved edits.
func (u *Window) Revert() {
	u.form.Load(u.Current().Values, u.form.passwordSet)
	u.updateTitle()
	if u.current >= 0 {
		u.list.RefreshItem(u.current)
		u.checkKeychain(u.profiles[u.current].ID)
	}
}

func (u *Window) confirmDelete() {
	if u.current < 0 {
		return
	}
	p := u.profiles[u.current]
	u.ask("Delete profile", fmt.Sprintf("Delete “%s” and its password in %s? This cannot be undone.", p.Values.Name, u.backend()),
		[]string{"Delete", "Cancel"}, func(a string) {
			if a == "Delete" {
				u.Delete()
			}
		})
}

// Delete removes the current profile and its secrets.
func (u *Window) Delete() {
	if u.current < 0 {
		return
	}
	p := u.profiles[u.current]
	if err := u.env.Profiles.Delete(p.ID); err != nil {
		u.form.SetStatus("Not deleted: "+err.Error(), widget.DangerImportance)
		return
	}
	if u.env.Keychain != nil {
		ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
		err := u.env.Keychain.DeleteProfile(ctx, p.ID)
		cancel()
		if err != nil {
			slog.Warn("profile deleted but its keychain entries were not", "profile", p.Values.Name, "err", err)
		}
	}
	u.current = -1
	u.form.Load(FormValues{}, false) // nothing unsaved to protect any more
	u.Reload("")
}

func (u *Window) requestClose() {
	u.Guard(func() {
		u.closing = true
		u.shutdown()
		u.quit()
	})
}

// shutdown cancels a running diagnosis and stops the demo server.
func (u *Window) shutdown() {
	if u.cancelRun != nil {
		u.cancelRun()
	}
	if u.demo != nil && u.demo.Close != nil {
		u.demo.Close()
		u.demo = nil
	}
}

// Close releases what the window started (tests; main closes through the window).
func (u *Window) Close() { u.shutdown() }

func (u *Window) importCSV() {
	pickFile(u.win.Canvas(), "Import mailboxes from a CSV or list", "", "", []string{".csv", ".txt"}, false, func(path string) {
		f, err := os.Open(path)
		if err != nil {
			u.form.SetStatus("Cannot import: "+err.Error(), widget.DangerImportance)
			return
		}
		defer f.Close()
		u.ImportFrom(f, filepath.Base(path))
	})
}

// dropped imports CSV/list files dragged onto the window from Explorer.
func (u *Window) dropped(uris []fyne.URI) {
	if !u.main.Visible() {
		return
	}
	for _, uri := range uris {
		ext := strings.ToLower(uri.Extension())
		if ext != ".csv" && ext != ".txt" {
			u.form.SetStatus("Drop a .csv or .txt file of mailboxes here; "+uri.Name()+" is neither.", widget.WarningImportance)
			continue
		}
		f, err := os.Open(uri.Path())
		if err != nil {
			u.form.SetStatus("Cannot import: "+err.Error(), widget.DangerImportance)
			continue
		}
		u.ImportFrom(f, uri.Name())
		f.Close()
		u.tabs.Select(u.formTab)
	}
}

// ImportFrom reads a CSV or list export into the target mailboxes.
func (u *Window) ImportFrom(r io.Reader, name string) {
	imp, err := profile.ParseMailboxList(r)
	if err != nil {
		u.form.SetStatus(fmt.Sprintf("Cannot import %s: %v", name, err), widget.DangerImportance)
		return
	}
	u.form.ImportList(imp)
	st := fmt.Sprintf("Imported %d addresses from %s", len(imp.Addresses), name)
	imp2 := widget.MediumImportance
	if len(imp.Rejected) > 0 {
		st += fmt.Sprintf("; %d lines rejected (listed under the mailboxes)", len(imp.Rejected))
		imp2 = widget.WarningImportance
	}
	u.form.SetStatus(st, imp2)
}

func (u *Window) browseCA() {
	pickFile(u.win.Canvas(), "CA certificate (PEM)", "", "", []string{".pem", ".crt", ".cer"}, false, u.form.SetCAFile)
}

func (u *Window) find() {
	v := u.form.Values()
	addr := v.AutodiscoverAddress()
	if addr == "" {
		u.form.SetStatus("Find needs an address: fill in the service account's mailbox (or a UPN) first.", widget.WarningImportance)
		return
	}
	pw, _ := u.form.Password()
	id := u.Current().ID
	pin, _ := NormalizePin(v.PinSHA256)
	u.form.find.Disable()
	u.form.SetFindSteps("", nil, false)
	u.form.SetStatus("Looking up the EWS URL for "+addr+" (Autodiscover)…", widget.MediumImportance)
	go func() {
		if pw == "" && id != "" && u.env.Keychain != nil {
			ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
			pw, _ = u.env.Keychain.Get(ctx, id)
			cancel()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		o := autodiscover.Options{
			TLS:     transport.TLSOptions{PinSHA256: pin, CAFile: v.CAFile},
			Confirm: u.confirmHost,
			OnStep: func(s autodiscover.Step) {
				onMain(func() {
					u.form.SetStatus("Autodiscover: "+s.Method+" "+s.URL+" — "+s.Outcome, widget.MediumImportance)
				})
			},
		}
		if pw != "" && v.User != "" {
			o.Auth = transport.Auth{Scheme: v.Auth, User: v.User, Password: pw}
		}
		res, err := u.env.Discover(ctx, addr, o)
		onMain(func() {
			defer u.form.find.Enable() // last: an enabled Find means the answer is on screen
			found := err == nil && res != nil && res.EWSURL != ""
			u.form.SetFindSteps(findStepsTitle(addr, found), findStepLines(res), !found)
			if !found {
				msg := "Autodiscover did not find the EWS URL"
				if err != nil {
					msg += ": " + err.Error()
				}
				u.form.SetStatus(msg+". See what was tried (button under the EWS URL), or enter the URL by hand (usually https://mail.<domain>/EWS/Exchange.asmx).", widget.DangerImportance)
				return
			}
			u.form.SetURL(res.EWSURL)
			u.form.SetStatus("Autodiscover found "+res.EWSURL+" via "+res.Via, widget.SuccessImportance)
		})
	}()
}

// findStepLines are Find's steps as the autodiscover check's evidence words them.
func findStepLines(res *autodiscover.Result) []string {
	if res == nil {
		return nil
	}
	lines := make([]string, len(res.Steps))
	for i, s := range res.Steps {
		lines[i] = autodiscover.StepLine(i+1, s)
	}
	return lines
}

func findStepsTitle(addr string, found bool) string {
	if found {
		return "How Autodiscover found the EWS URL for " + addr
	}
	return "What Autodiscover tried for " + addr
}

// showFindSteps shows the last Find's steps, with Copy for a ticket or a colleague.
func (u *Window) showFindSteps() {
	title, lines := u.form.FindSteps()
	if len(lines) == 0 {
		return
	}
	steps := strings.Join(lines, "\n")
	text := widget.NewLabel(steps)
	text.TextStyle.Monospace = true
	text.Wrapping = fyne.TextWrapBreak // URLs have no spaces to wrap at
	scroll := container.NewVScroll(text)
	scroll.SetMinSize(fyne.NewSize(820, 300))
	var hide func()
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(title + "\n" + steps)
	})
	closeBtn := widget.NewButton("Close", func() { hide() })
	closeBtn.Importance = widget.HighImportance
	hide = modal(u.win.Canvas(), title, scroll, closeBtn, copyBtn)
}

// confirmHost asks, on the UI goroutine, before Autodiscover sends credentials to a host
// outside the address's domain; it runs on Discover's goroutine and waits for the answer.
func (u *Window) confirmHost(ctx context.Context, host string) bool {
	answer := make(chan bool, 1)
	onMain(func() {
		u.ask("Send credentials to "+host+"?",
			"Autodiscover was redirected to "+host+", which is outside the mailbox's domain. "+
				"Send the service account's credentials there? Answer No unless you know this host belongs to your organisation.",
			[]string{"No", "Yes, send"}, func(a string) { answer <- a == "Yes, send" })
	})
	select {
	case ok := <-answer:
		return ok
	case <-ctx.Done():
		return false
	}
}

// Run diagnoses the profile in the form (Enter on the Diagnostics tab).
func (u *Window) Run() {
	if u.diag.Running() {
		return
	}
	u.refreshDemo()
	u.run("")
}

func (u *Window) run(password string) {
	if u.diag.Running() || u.env.Diagnose == nil {
		return
	}
	if errs := u.form.Validate(); len(errs) > 0 {
		u.form.SetStatus(fmt.Sprintf("Cannot run: %d field(s) need attention — %s", len(errs), errs[0].Error()), widget.DangerImportance)
		u.tabs.Select(u.formTab)
		return
	}
	cur := u.Current()
	v := u.form.Values()
	if password == "" {
		password, _ = u.form.Password()
	}
	oauthRun := IsOAuth(v.Auth)
	var typed OAuthSecrets
	if oauthRun {
		typed = u.form.OAuthSecrets() // read here: the form is UI state
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	u.cancelRun, u.runDone = cancel, done
	u.tabs.Select(u.diagTab)
	u.diag.Start(u.env.now())
	co := NewCoalescer(u.diag.Apply, onMain)
	tick, stopTick := u.env.ticker()
	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() { co.Run(flushCtx, tick); close(flushed) }()
	kc := u.env.Keychain
	var demoPw string // the simulator's password is no secret: a demo runs even without a keychain
	if cur.Demo && u.demo != nil {
		demoPw = u.demo.Password
	}
	go func() {
		r, err := func() (*result.Result, error) {
			if oauthRun {
				cfg, err := u.oauthConfig(ctx, cur.ID, v, typed)
				if err != nil {
					return nil, err
				}
				return u.diagnose(ctx, cfg, co)
			}
			if password == "" && cur.ID != "" && kc != nil {
				kctx, kcancel := context.WithTimeout(ctx, keychainTimeout)
				pw, err := kc.Get(kctx, cur.ID)
				kcancel()
				if err != nil && demoPw == "" {
					return nil, fmt.Errorf("the password is not available: %w", err)
				}
				password = pw
			}
			if password == "" {
				password = demoPw
			}
			if password == "" {
				return nil, errors.New("no password: type it on the Profile tab (Save stores it in " + u.backend() + ")")
			}
			cfg, err := BuildConfig(v, password)
			if err != nil {
				return nil, err
			}
			cfg.Profile.Name = v.Name
			return u.diagnose(ctx, cfg, co)
		}()
		stopFlush()
		<-flushed
		stopTick()
		onMain(func() {
			u.cancelRun = nil
			u.diag.Finish(r, err, u.env.now())
			if u.OnRunFinished != nil {
				u.OnRunFinished()
			}
			close(done)
		})
	}()
}

// diagnose runs the engine; a "use Autodiscover" run asks, as Find does, before
// credentials go to a host outside the address's domain.
func (u *Window) diagnose(ctx context.Context, cfg impersonation.Config, obs impersonation.Observer) (*result.Result, error) {
	cfg.Autodiscover.Confirm = u.confirmHost
	return u.env.Diagnose(ctx, cfg, obs)
}

// Cancel stops a running diagnosis; the partial result stays on screen.
func (u *Window) Cancel() {
	if u.cancelRun != nil {
		u.cancelRun()
		u.diag.progress.SetText("Cancelling…")
	}
}

// Wait blocks until the running diagnosis (if any) has finished and been shown.
func (u *Window) Wait() {
	if u.runDone != nil {
		<-u.runDone
	}
}

// BuildConfig turns form values and the password into the engine's configuration.
func BuildConfig(v FormValues, password string) (impersonation.Config, error) {
	conc, err := ParseConcurrency(v.Concurrency)
	if err != nil {
		return impersonation.Config{}, fmt.Errorf("%s: %w", FieldConcurrency, err)
	}
	var pin string
	if strings.TrimSpace(v.PinSHA256) != "" {
		if pin, err = NormalizePin(v.PinSHA256); err != nil {
			return impersonation.Config{}, fmt.Errorf("%s: %w", FieldPin, err)
		}
	}
	cfg := impersonation.Config{
		Profile: result.Profile{Name: v.Name, Environment: v.Environment, EWSURL: v.URL, Auth: v.Auth,
			ServiceAccount: v.User, Protocol: result.EWS},
		URL:            v.URL,
		Auth:           transport.Auth{Scheme: v.Auth, User: v.User, Password: password},
		TLS:            transport.TLSOptions{PinSHA256: pin, CAFile: v.CAFile},
		ServiceMailbox: v.ServiceMailbox,
		Mailboxes:      ParseList(v.Mailboxes).Addresses,
		Rooms:          ParseList(v.Rooms).Addresses,
		CheckRooms:     v.CheckRooms,
		WriteTest:      v.WriteTest,
		Concurrency:    conc,
	}
	if v.UseAutodiscover {
		cfg.AutodiscoverAddress = v.AutodiscoverAddress()
	}
	return cfg, nil
}

func (u *Window) export() {
	r := u.diag.Result
	if r == nil || u.env.Export == nil {
		return
	}
	name := fmt.Sprintf("deputy-%s-%s%s", safeFile(r.Profile.Name), r.FinishedAt.Format("2006-01-02-1504"), u.env.ExportFormats[0])
	pickFile(u.win.Canvas(), "Export the result", "", name, u.env.ExportFormats, true, func(path string) {
		if err := u.ExportTo(path); err != nil {
			u.showError("Export failed", err)
			return
		}
		u.offerOpen("Report exported", path)
	})
}

// ExportTo writes the shown result to path (format by extension).
func (u *Window) ExportTo(path string) error {
	if u.diag.Result == nil {
		return errors.New("nothing to export: run a diagnosis first")
	}
	ext := strings.ToLower(filepath.Ext(path))
	ok := false
	for _, e := range u.env.ExportFormats {
		ok = ok || e == ext
	}
	if !ok {
		return fmt.Errorf("cannot export as %q; choose %s", ext, strings.Join(u.env.ExportFormats, ", "))
	}
	if err := u.env.Export(path, u.diag.Result); err != nil {
		return fmt.Errorf("export to %s failed: %w", path, err)
	}
	u.diag.progress.SetText("Exported to " + path)
	return nil
}

func safeFile(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || strings.ContainsRune(`/\:*?"<>|`, r) || r < 0x20 {
			return '-'
		}
		return r
	}, s)
	if s == "" {
		return "result"
	}
	return s
}

// trust shows the certificate and pins it into the profile on confirmation.
func (u *Window) trust(c *result.CertInfo) {
	text := widget.NewLabel(CertText(c))
	text.TextStyle.Monospace = true
	text.Wrapping = fyne.TextWrapWord
	warn := widget.NewLabel("Deputy will trust exactly this certificate for this profile (pinned by its SHA-256 " +
		"fingerprint); nothing else changes. Compare the fingerprint with the certificate on the Exchange server " +
		"before you confirm — anyone who can present this certificate could read the traffic.")
	warn.Wrapping = fyne.TextWrapWord
	var hide func()
	cancel := widget.NewButton("Cancel", func() { hide() })
	ok := widget.NewButtonWithIcon("Trust and save", theme.ConfirmIcon(), func() { hide(); u.TrustCertificate(c) })
	ok.Importance = widget.WarningImportance
	hide = modal(u.win.Canvas(), "Trust this certificate?", fixedWidth(640, container.NewVBox(text, warn)), cancel, ok)
}

// TrustCertificate pins c into the profile and saves it.
func (u *Window) TrustCertificate(c *result.CertInfo) {
	u.form.SetPin(c.SHA256)
	if u.Save() {
		u.diag.progress.SetText("Certificate pinned into “" + u.form.Values().Name + "”. Run again.")
	} else {
		u.tabs.Select(u.formTab)
	}
}

// TryDemo starts the simulated Exchange, creates the Demo profile and runs it.
func (u *Window) TryDemo() {
	if u.env.StartDemo == nil {
		return
	}
	srv, err := u.startDemo()
	if err != nil {
		setShown(u.welcomeSt, "Cannot start the demo server: "+err.Error())
		return
	}
	v := FormValues{
		Name: "Demo", Environment: result.OnPrem, URL: srv.URL, Auth: AuthBasic,
		User: srv.User, ServiceMailbox: srv.User,
		Mailboxes: strings.Join(srv.Mailboxes, "\n"), Rooms: strings.Join(srv.Rooms, "\n"),
		PinSHA256: srv.SHA256, Concurrency: "8", CheckRooms: true, WriteTest: true,
	}
	p := StoredProfile{Values: v, Demo: true}
	for _, old := range u.profiles {
		if old.Values.Name == "Demo" {
			p.ID = old.ID
		}
	}
	saved, err := u.env.Profiles.Save(p)
	if err != nil {
		setShown(u.welcomeSt, "Cannot save the Demo profile: "+err.Error())
		return
	}
	kcErr := u.setPassword(saved.ID, srv.Password)
	u.Reload(saved.ID)
	if kcErr != nil {
		u.form.SetKeychainState(keychainError(kcErr), widget.DangerImportance)
	}
	// The demo password is known here, so the run does not depend on the keychain.
	u.run(srv.Password)
}

func (u *Window) startDemo() (*DemoServer, error) {
	if u.demo != nil {
		return u.demo, nil
	}
	srv, err := u.env.StartDemo()
	if err != nil {
		return nil, err
	}
	u.demo = srv
	return srv, nil
}

// RefreshDemo restarts the in-process demo server for a Demo profile whose saved URL
// points at a server from an earlier session, and updates URL and pin.
func (u *Window) refreshDemo() {
	cur := u.Current()
	if !cur.Demo || u.env.StartDemo == nil {
		return
	}
	if uu, err := url.Parse(cur.Values.URL); err != nil || uu.Hostname() != "127.0.0.1" {
		return
	}
	srv, err := u.startDemo()
	if err != nil || (srv.URL == cur.Values.URL && srv.SHA256 == cur.Values.PinSHA256) {
		return
	}
	u.form.url.SetText(srv.URL)
	u.form.pin.SetText(srv.SHA256)
	u.form.edited(FieldURL)
	u.Save()
}
