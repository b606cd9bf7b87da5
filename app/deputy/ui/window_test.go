package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"deputy/internal/profile"
	"deputy/internal/secret"
)

// keychainForTest is the real Secret Service when the test runs under
// .ci/with-secret-service.sh (DEPUTY_SECRET_SERVICE=1), otherwise none: the window must
// then say the password cannot be saved, never store it elsewhere.
func keychainForTest(t *testing.T) Keychain {
	if os.Getenv("DEPUTY_SECRET_SERVICE") == "1" {
		return SecretKeychain{S: secret.New()}
	}
	return nil
}

type harness struct {
	u     *Window
	w     fyne.Window
	dir   string
	store *FileStore
}

func newHarness(t *testing.T, kc Keychain) *harness {
	t.Helper()
	ownUI(t) // released last: after u.Close
	test.NewTempApp(t)
	dir := t.TempDir()
	st, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	env := DefaultEnv("test", st)
	env.Keychain = kc
	u := New(w, env)
	w.SetContent(u.Content())
	w.Resize(fyne.NewSize(1200, 800))
	t.Cleanup(u.Close)
	return &harness{u: u, w: w, dir: dir, store: st}
}

func fill(f *ProfileForm, v FormValues) {
	test.Type(f.name, v.Name)
	f.url.SetText(v.URL)
	f.useAD.SetChecked(v.UseAutodiscover)
	f.auth.SetSelected(labelFor(authModes, v.Auth))
	f.env.SetSelected(labelFor(environments, v.Environment))
	f.user.SetText(v.User)
	f.svcMailbox.SetText(v.ServiceMailbox)
	f.mailboxes.SetText(v.Mailboxes)
	f.rooms.SetText(v.Rooms)
	f.pin.SetText(v.PinSHA256)
	f.caFile.SetText(v.CAFile)
	f.concurrency.SetText(v.Concurrency)
	f.writeTest.SetChecked(v.WriteTest)
	f.checkRooms.SetChecked(v.CheckRooms)
}

var goodValues = FormValues{
	Name: "Interview scheduling", Environment: "onprem", URL: "https://mail.contoso.com/EWS/Exchange.asmx",
	Auth: AuthNTLM, User: `CONTOSO\svc-interviews`, ServiceMailbox: "svc-interviews@contoso.com",
	Mailboxes: "anna@contoso.com\nben@contoso.com\nchloe@contoso.com", Rooms: "room.oslo@contoso.com",
	PinSHA256: strings.Repeat("AB:", 31) + "AB", Concurrency: "12", WriteTest: true, CheckRooms: true,
}

func TestFirstRunShowsWelcome(t *testing.T) {
	h := newHarness(t, nil)
	if !h.u.WelcomeVisible() {
		t.Fatal("with no profiles the welcome view must show")
	}
	if h.u.demoBtn.Disabled() {
		t.Fatal("Try the demo must be available")
	}
	h.u.NewProfile()
	if h.u.WelcomeVisible() || !strings.Contains(h.u.Title(), "not saved yet") {
		t.Fatalf("Create a profile should open an unsaved form; title %q", h.u.Title())
	}
}

func TestFormValidationMessages(t *testing.T) {
	tests := []struct {
		field, value, want string
	}{
		{FieldName, "", "give the profile a name"},
		{FieldName, "a/b", "cannot contain"},
		{FieldURL, "", "enter the EWS URL"},
		{FieldURL, "http://mail.contoso.com/EWS/Exchange.asmx", "use https://"},
		{FieldURL, "https://mail.contoso.com", "add the EWS path"},
		{FieldURL, "mail.contoso.com/EWS", "not a URL"},
		{FieldURL, "https://admin@mail.contoso.com/EWS/Exchange.asmx", "remove the user name"},
		{FieldUser, "", "enter the service account"},
		{FieldUser, "svc-app", "expected a UPN"},
		{FieldUser, `CONTOSO\`, `DOMAIN\user`},
		{FieldUser, "svc app@contoso.com", "not a valid UPN: contains a space"},
		{FieldServiceMailbox, "svc-app", "missing @"},
		{FieldMailboxes, "anna@contoso.com\nnot-an-address\nben@contoso.com", "line 2"},
		{FieldPin, "abcd", "64 hex digits"},
		{FieldPin, strings.Repeat("a", 40), "SHA-1"},
		{FieldCAFile, "/nonexistent/ca.pem", "cannot read"},
		{FieldConcurrency, "0", "1 to 27"},
		{FieldConcurrency, "28", "1 to 27"},
		{FieldConcurrency, "ten", "1 to 27"},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			h.u.NewProfile()
			f := h.u.form
			fill(f, goodValues)
			if errs := f.Validate(); len(errs) != 0 {
				t.Fatalf("good values rejected: %v", errs)
			}
			set := map[string]func(string){
				FieldName: f.name.SetText, FieldURL: f.url.SetText, FieldUser: f.user.SetText,
				FieldServiceMailbox: f.svcMailbox.SetText, FieldMailboxes: f.mailboxes.SetText,
				FieldPin: f.pin.SetText, FieldCAFile: f.caFile.SetText, FieldConcurrency: f.concurrency.SetText,
			}[tt.field]
			set(tt.value)
			// A touched field shows its message at once, before any Save.
			if got := f.FieldError(tt.field); !strings.Contains(got, tt.want) {
				t.Fatalf("message under %s = %q, want it to contain %q", tt.field, got, tt.want)
			}
			if h.u.Save() {
				t.Fatal("Save accepted invalid input")
			}
			if !strings.Contains(f.Status(), "Not saved") || !strings.Contains(f.Status(), tt.want) {
				t.Errorf("status %q should explain why nothing was saved", f.Status())
			}
			if ps, _, _ := h.store.List(); len(ps) != 0 {
				t.Fatal("an invalid profile reached the disk")
			}
			for other := range f.errs {
				if other != tt.field && f.FieldError(other) != "" {
					t.Errorf("unrelated field %s shows %q", other, f.FieldError(other))
				}
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	if !h.u.Save() {
		t.Fatalf("save failed: %s", h.u.form.Status())
	}
	if h.u.form.Dirty() || strings.Contains(h.u.Title(), "unsaved") {
		t.Fatal("a saved form is not dirty")
	}
	// The file on disk is internal/profile's, readable by deputy-cli.
	ps, probs, err := h.store.S.List()
	if err != nil || len(probs) != 0 || len(ps) != 1 {
		t.Fatalf("store after save: %v %v %v", ps, probs, err)
	}
	p := ps[0]
	if p.Name != goodValues.Name || p.Auth != profile.AuthNTLM || p.User != goodValues.User ||
		len(p.Mailboxes) != 3 || p.TLS.PinSHA256 != strings.Repeat("ab", 32) || p.Concurrency != 12 ||
		!p.WriteTest || !p.CheckRooms || len(p.Rooms) != 1 {
		t.Fatalf("stored profile differs: %+v", p)
	}
	raw, _ := os.ReadFile(filepath.Join(h.dir, p.ID+".json"))
	if strings.Contains(strings.ToLower(string(raw)), "password") {
		t.Fatalf("profile file mentions a password:\n%s", raw)
	}

	// A second window on the same folder shows the same values.
	h2 := newHarnessOn(t, h.dir)
	if h2.u.WelcomeVisible() || len(h2.u.Profiles()) != 1 {
		t.Fatalf("reopened window: profiles %v", h2.u.Profiles())
	}
	got := h2.u.form.Values()
	want := goodValues
	want.PinSHA256 = strings.Repeat("ab", 32) // stored normalised
	if got != want {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestUseAutodiscoverRoundTrip: "use Autodiscover" survives save and load both ways —
// a profile made by deputy-cli opens ticked and runnable, and the window writes the flag.
func TestUseAutodiscoverRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	cli := profile.Profile{ID: profile.NewID(), Name: "CLI-made", Environment: profile.OnPrem, UseAutodiscover: true,
		Auth: profile.AuthNTLM, User: `CONTOSO\svc-cli`, ServiceMailbox: "svc-cli@contoso.com"}
	if err := h.store.S.Save(cli); err != nil {
		t.Fatal(err)
	}
	h.u.Reload(cli.ID)
	f := h.u.form
	if !f.useAD.Checked || f.url.Text != "" {
		t.Fatalf("CLI profile opened with Autodiscover %v, URL %q", f.useAD.Checked, f.url.Text)
	}
	if errs := f.Validate(); len(errs) > 0 {
		t.Fatalf("a CLI profile relying on Autodiscover must be valid in the window: %v", errs)
	}
	f.concurrency.SetText("4")
	if !h.u.Save() {
		t.Fatal(f.Status())
	}
	if p, err := h.store.S.Get("CLI-made"); err != nil || !p.UseAutodiscover || p.Concurrency != 4 {
		t.Fatalf("saving from the window dropped the flag: %+v, %v", p, err)
	}
	// Unticking it in the window is saved too (with a URL, which it then needs).
	f.useAD.SetChecked(false)
	if f.FieldError(FieldURL) == "" {
		t.Error("unticked with no URL: the URL field must ask for one")
	}
	f.url.SetText(goodValues.URL)
	if !h.u.Save() {
		t.Fatal(f.Status())
	}
	if p, err := h.store.S.Get("CLI-made"); err != nil || p.UseAutodiscover || p.EWSURL != goodValues.URL {
		t.Fatalf("unticked in the window, on disk: %+v, %v", p, err)
	}

	for _, tc := range []struct {
		name, url string
		use       bool
	}{
		{"ticked, no URL", "", true},
		{"ticked, a URL to compare", goodValues.URL, true},
		{"unticked", goodValues.URL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := goodValues
			v.Name, v.URL, v.UseAutodiscover = tc.name, tc.url, tc.use
			h.u.NewProfile()
			fill(h.u.form, v)
			if !h.u.Save() {
				t.Fatal(h.u.form.Status())
			}
			p, err := h.store.S.Get(tc.name)
			if err != nil || p.UseAutodiscover != tc.use || p.EWSURL != tc.url {
				t.Fatalf("on disk: useAutodiscover %v URL %q (%v)", p.UseAutodiscover, p.EWSURL, err)
			}
			h2 := newHarnessOn(t, h.dir)
			for _, sp := range h2.u.profiles {
				if sp.ID == p.ID {
					h2.u.Reload(sp.ID)
				}
			}
			got := h2.u.form.Values()
			if got.Name != tc.name || got.UseAutodiscover != tc.use || got.URL != tc.url {
				t.Fatalf("reopened: %q useAutodiscover %v URL %q", got.Name, got.UseAutodiscover, got.URL)
			}
		})
	}
}

func TestValidateUseAutodiscover(t *testing.T) {
	for _, tc := range []struct {
		name              string
		use               bool
		url, user, svcBox string
		want              string // "" = no message under the URL
	}{
		{"ticked, own mailbox", true, "", `CONTOSO\svc`, "svc@contoso.com", ""},
		{"ticked, UPN account", true, "", "svc@contoso.com", "", ""},
		{"ticked, no address", true, "", `CONTOSO\svc`, "", "Autodiscover needs an address"},
		{"ticked, a URL is still checked", true, "http://mail.contoso.com/EWS/Exchange.asmx", "svc@contoso.com", "", "use https://"},
		{"unticked, no URL", false, "", "svc@contoso.com", "", "enter the EWS URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := goodValues
			v.UseAutodiscover, v.URL, v.User, v.ServiceMailbox = tc.use, tc.url, tc.user, tc.svcBox
			msg := ""
			for _, e := range v.Validate() {
				if e.Field == FieldURL {
					msg = e.Message
				}
			}
			if (tc.want == "") != (msg == "") || !strings.Contains(msg, tc.want) {
				t.Fatalf("URL message %q, want %q", msg, tc.want)
			}
			if tc.want != "" {
				return
			}
			cfg, err := BuildConfig(v, "pw")
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tc.use {
				want = v.AutodiscoverAddress()
			}
			if cfg.AutodiscoverAddress != want || cfg.URL != tc.url {
				t.Errorf("config: autodiscover %q URL %q, want %q and %q", cfg.AutodiscoverAddress, cfg.URL, want, tc.url)
			}
		})
	}
}

func newHarnessOn(t *testing.T, dir string) *harness {
	t.Helper()
	ownUI(t)
	st, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	env := DefaultEnv("test", st)
	env.Keychain = nil
	u := New(w, env)
	w.SetContent(u.Content())
	t.Cleanup(u.Close)
	return &harness{u: u, w: w, dir: dir, store: st}
}

func TestUnsavedChangesPrompt(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{"Alpha", "Bravo"} {
		h.u.NewProfile()
		v := goodValues
		v.Name = name
		fill(h.u.form, v)
		if !h.u.Save() {
			t.Fatal(h.u.form.Status())
		}
	}
	open := func(name string) {
		for i, n := range h.u.Profiles() {
			if n == name {
				h.u.list.Select(i)
			}
		}
	}
	open("Alpha")
	if h.u.Current().Values.Name != "Alpha" || h.u.Pending() != nil {
		t.Fatal("switching without edits must not prompt")
	}

	tests := []struct {
		answer   string
		wantOpen string
		wantURL  string // Alpha's URL on disk afterwards
	}{
		{"Cancel", "Alpha", goodValues.URL},
		{"Discard", "Bravo", goodValues.URL},
		{"Save", "Bravo", "https://mail2.contoso.com/EWS/Exchange.asmx"},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			open("Alpha")
			if p := h.u.Pending(); p != nil {
				p.Choose("Discard")
			}
			h.u.form.url.SetText("https://mail2.contoso.com/EWS/Exchange.asmx")
			if !h.u.form.Dirty() || !strings.HasSuffix(h.u.listName(h.u.current), "•") {
				t.Fatal("an edit must mark the profile as unsaved in the list")
			}
			open("Bravo")
			p := h.u.Pending()
			if p == nil || strings.Join(p.Answers, "/") != "Save/Discard/Cancel" {
				t.Fatalf("switching with edits must ask Save/Discard/Cancel, got %+v", p)
			}
			if h.u.Current().Values.Name != "Alpha" {
				t.Fatal("the switch happened before the question was answered")
			}
			p.Choose(tt.answer)
			if got := h.u.Current().Values.Name; got != tt.wantOpen {
				t.Fatalf("after %s: open profile %q, want %q", tt.answer, got, tt.wantOpen)
			}
			if tt.answer == "Cancel" && h.u.form.url.Text != "https://mail2.contoso.com/EWS/Exchange.asmx" {
				t.Fatal("Cancel must keep the edit in the form")
			}
			alpha, err := h.store.S.Get("Alpha")
			if err != nil || alpha.EWSURL != tt.wantURL {
				t.Fatalf("Alpha on disk: %q (%v), want %q", alpha.EWSURL, err, tt.wantURL)
			}
		})
	}

	// Closing the window with edits asks too; Cancel keeps the window.
	open("Alpha")
	closed := false
	h.u.quit = func() { closed = true }
	h.u.form.name.SetText("Alpha renamed")
	h.u.requestClose()
	p := h.u.Pending()
	if p == nil {
		t.Fatal("closing with unsaved edits must ask")
	}
	p.Choose("Cancel")
	if h.u.closing || closed {
		t.Fatal("Cancel must keep the window open")
	}
	h.u.requestClose()
	h.u.Pending().Choose("Save")
	if !h.u.closing || !closed {
		t.Fatal("Save then close")
	}
	if _, err := h.store.S.Get("Alpha renamed"); err != nil {
		t.Fatalf("the edit was lost on close: %v", err)
	}
}

func TestDuplicateAndDelete(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	h.u.Save()
	h.u.Duplicate()
	if got := h.u.form.Values().Name; got != goodValues.Name+" (copy)" {
		t.Fatalf("duplicate name %q", got)
	}
	if !h.u.Save() {
		t.Fatal(h.u.form.Status())
	}
	if n := len(h.u.Profiles()); n != 2 {
		t.Fatalf("%d profiles after duplicate+save", n)
	}
	h.u.confirmDelete()
	h.u.Pending().Choose("Cancel")
	if n := len(h.u.Profiles()); n != 2 {
		t.Fatal("Cancel deleted anyway")
	}
	h.u.confirmDelete()
	h.u.Pending().Choose("Delete")
	h.u.confirmDelete()
	h.u.Pending().Choose("Delete")
	if n := len(h.u.Profiles()); n != 0 || !h.u.WelcomeVisible() {
		t.Fatalf("after deleting both: %d profiles, welcome %v", n, h.u.WelcomeVisible())
	}
}

func TestCSVImportShowsCountAndRejectedLines(t *testing.T) {
	tests := []struct {
		name, csv      string
		wantCount      int
		wantRejected   []string
		wantDuplicates int
	}{
		{"Get-Mailbox export", sampleCSV, 7, []string{"line 8:", "line 9:", "line 11:"}, 1},
		{"semicolon Excel with BOM", "\ufeffName;EmailAddress\nA;a@contoso.com\nB;b@contoso.com\nC;nope\n", 2, []string{"line 4:"}, 0},
		{"bare list", "a@contoso.com\nb@contoso.com\n\nc@contoso.com\n", 3, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.u.NewProfile()
			h.u.ImportFrom(strings.NewReader(tt.csv), "export.csv")
			info := h.u.form.ImportInfo()
			if got := len(ParseList(h.u.form.mailboxes.Text).Addresses); got != tt.wantCount {
				t.Fatalf("%d addresses in the field, want %d\n%s", got, tt.wantCount, info)
			}
			if !strings.Contains(info, "imported "+thousands(tt.wantCount)) {
				t.Errorf("info %q lacks the count", info)
			}
			for _, l := range tt.wantRejected {
				if !strings.Contains(info, l) {
					t.Errorf("info lacks rejected %q:\n%s", l, info)
				}
			}
			if n := strings.Count(info, "\n  line "); n != len(tt.wantRejected) {
				t.Errorf("%d rejected lines shown, want %d:\n%s", n, len(tt.wantRejected), info)
			}
			wantMerged := ""
			switch {
			case tt.wantDuplicates == 1:
				wantMerged = ", 1 duplicate merged"
			case tt.wantDuplicates > 1:
				wantMerged = ", " + thousands(tt.wantDuplicates) + " duplicates merged"
			}
			if got := strings.Contains(info, "merged"); got != (wantMerged != "") || !strings.Contains(info, wantMerged) {
				t.Errorf("info should say %q:\n%s", wantMerged, info)
			}
			if len(tt.wantRejected) > 0 && !strings.Contains(h.u.form.Status(), "rejected") {
				t.Errorf("status %q should point at the rejected lines", h.u.form.Status())
			}
		})
	}
}

// TestKeychainPassword needs a real Secret Service (make test runs it under
// .ci/with-secret-service.sh and sets DEPUTY_SECRET_SERVICE=1).
func TestKeychainPassword(t *testing.T) {
	kc := keychainForTest(t)
	if kc == nil {
		t.Skip("needs a Secret Service: run under .ci/with-secret-service.sh with DEPUTY_SECRET_SERVICE=1")
	}
	const pw = "Kc-Test-Pa55word-äöü-" + "7f3a"
	h := newHarness(t, kc)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	test.Type(h.u.form.password, pw)
	if !h.u.Save() || !strings.Contains(h.u.form.Status(), "Password stored in") {
		t.Fatalf("status %q", h.u.form.Status())
	}
	id := h.u.Current().ID
	t.Cleanup(func() { kc.DeleteProfile(t.Context(), id) })
	got, err := kc.Get(t.Context(), id)
	if err != nil || got != pw {
		t.Fatalf("keychain holds %d chars (err %v), want the typed password", len(got), err)
	}
	// Nothing secret on disk.
	filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), pw) {
				t.Errorf("%s contains the password", p)
			}
		}
		return nil
	})
	// Reopen: the form shows the state, not the password.
	h.u.Reload(id)
	waitFor(t, func() bool { return strings.HasPrefix(h.u.form.keychain.Text, "Saved in ") })
	if h.u.form.password.Text != "" {
		t.Fatal("the password entry must stay empty when a password is saved")
	}
	// Delete removes the keychain entry too.
	h.u.Delete()
	if _, err := kc.Get(t.Context(), id); err == nil {
		t.Fatal("the password survived deleting the profile")
	}
}

func TestNoKeychainNeverFallsBack(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	test.Type(h.u.form.password, "No-Keychain-Pa55")
	if !h.u.Save() {
		t.Fatal(h.u.form.Status())
	}
	if !strings.Contains(h.u.form.Status(), "password was NOT") {
		t.Fatalf("status %q must say the password was not saved", h.u.form.Status())
	}
	filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "No-Keychain-Pa55") {
				t.Errorf("%s contains the password", p)
			}
		}
		return nil
	})
}
