package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"deputy/internal/exchangesim"
	"deputy/internal/result"
)

// TestTryTheDemo is the first-run path: one click starts the simulated Exchange, creates
// the Demo profile with its certificate pinned, runs the diagnosis and shows failures
// with their fixes.
func TestTryTheDemo(t *testing.T) {
	h := newHarness(t, keychainForTest(t))
	if !h.u.WelcomeVisible() {
		t.Fatal("first run should greet")
	}
	test.Tap(h.u.demoBtn)
	waitRun(h.u)
	t.Cleanup(func() {
		if h.u.env.Keychain != nil {
			h.u.env.Keychain.DeleteProfile(t.Context(), h.u.Current().ID)
		}
	})
	if h.u.WelcomeVisible() || h.u.tabs.Selected() != h.u.diagTab {
		t.Fatal("the demo should leave the user on the Diagnostics tab")
	}
	d := h.u.diag
	r := d.Result
	if r == nil {
		t.Fatalf("no result; verdict line %q", d.VerdictLine())
	}
	if r.Verdict != result.Fail || r.Summary.Failed == 0 || r.Summary.Passed == 0 {
		t.Fatalf("the demo must show passes and failures: %+v", r.Summary)
	}
	if d.Model.Total() != len(r.Mailboxes) || len(d.Checks()) != len(r.Checks) {
		t.Fatal("the view does not show the whole result")
	}
	// Every class the demo provokes reaches the table; the worst come first.
	first, _ := d.Model.Row(0)
	if first.Status != result.Fail {
		t.Errorf("first row %s is %s; failures should sort first", first.Address, first.Status)
	}
	d.SetFilter("All statuses", string(result.ImpersonationDenied), "")
	if d.Model.Len() == 0 {
		t.Error("the demo's executives should be impersonation-denied")
	}
	d.SelectMailbox(0)
	if det := d.MailboxDetailText(); !strings.Contains(det, "ErrorImpersonateUserDenied") {
		t.Errorf("detail pane lacks the server's code:\n%s", det)
	}
	// The failing check is open with its remediation.
	if c := d.selectedCheck(); c == nil || c.Status != result.Fail || d.remediation.Text == "" || d.copyRem.Hidden {
		t.Fatalf("the first failing check should be open with a fix and Copy: %+v", c)
	}
	// The Demo profile is stored with the simulator's certificate pinned, no password.
	ps, _, _ := h.store.S.List()
	if len(ps) != 1 || ps[0].Name != "Demo" || len(ps[0].TLS.PinSHA256) != 64 {
		t.Fatalf("stored demo profile: %+v", ps)
	}
	raw, _ := os.ReadFile(filepath.Join(h.dir, ps[0].ID+".json"))
	if strings.Contains(string(raw), exchangesim.DemoPassword) {
		t.Fatal("the demo password reached the profile file")
	}

	// Export writes deputy.diagnostics/v1 JSON without the password.
	out := filepath.Join(t.TempDir(), "demo.json")
	if err := h.u.ExportTo(out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var back result.Result
	if err := json.Unmarshal(b, &back); err != nil || back.Schema != result.Schema || len(back.Mailboxes) != len(r.Mailboxes) {
		t.Fatalf("export unreadable: %v schema %q", err, back.Schema)
	}
	if strings.Contains(string(b), exchangesim.DemoPassword) {
		t.Fatal("the export contains the password")
	}
	html := filepath.Join(t.TempDir(), "demo.html")
	if err := h.u.ExportTo(html); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "ceo@fabrikam.test") || strings.Contains(string(b), exchangesim.DemoPassword) {
		t.Fatal("the HTML report should list the mailboxes and never the password")
	}
	if err := h.u.ExportTo(filepath.Join(t.TempDir(), "demo.docx")); err == nil {
		t.Fatal("an unknown export format must be refused")
	}

	// Enter on the Diagnostics tab runs again, even after typing in the form.
	h.u.ShowProfile()
	h.w.Canvas().Focus(h.u.form.name)
	h.u.ShowDiagnostics()
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	waitRun(h.u)
	if d.Result == nil || d.Result == r {
		t.Fatal("Enter on the Diagnostics tab should run the diagnosis again")
	}
}

// TestRunAndCancel runs a profile against a slow simulator and cancels half-way: the
// run stops promptly and the partial result says so.
func TestRunAndCancel(t *testing.T) {
	sc := exchangesim.Demo(400)
	srv, err := exchangesim.Start(sc, exchangesim.Options{Latency: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t, nil)
	h.u.NewProfile()
	v := FormValues{Name: "Slow", Environment: result.OnPrem, URL: srv.URL, Auth: AuthBasic, User: srv.User,
		Mailboxes: strings.Join(sc.Targets(), "\n"), PinSHA256: srv.SHA256, Concurrency: "2"}
	fill(h.u.form, v)
	test.Type(h.u.form.password, srv.Password)
	h.u.Run()
	d := h.u.diag
	if !d.Running() || d.Cancel.Disabled() {
		t.Fatal("Run should start a diagnosis with Cancel enabled")
	}
	waitFor(t, func() bool { return d.Model.Total() >= 10 })
	test.Tap(d.Cancel)
	waitRun(h.u)
	r := d.Result
	if r == nil || !r.Cancelled {
		t.Fatalf("cancelled run: %+v", r)
	}
	if r.Summary.Skipped == 0 || r.Summary.Passed == 0 {
		t.Fatalf("a cancelled run keeps what was proved and skips the rest: %+v", r.Summary)
	}
	if !strings.HasPrefix(d.ProgressText(), "Cancelled") || d.Run.Disabled() {
		t.Fatalf("after cancel: %q, Run disabled %v", d.ProgressText(), d.Run.Disabled())
	}
}

// TestRunNeedsPassword: without a password or keychain the run explains instead of
// sending empty credentials.
func TestRunNeedsPassword(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	h.u.Run()
	waitRun(h.u)
	if !strings.Contains(h.u.diag.VerdictLine(), "no password") {
		t.Fatalf("verdict %q", h.u.diag.VerdictLine())
	}
	// Invalid form: Run goes back to the form and says why.
	h.u.form.url.SetText("")
	h.u.Run()
	if h.u.tabs.Selected() != h.u.formTab || !strings.Contains(h.u.form.Status(), "Cannot run") {
		t.Fatalf("status %q", h.u.form.Status())
	}
}

// TestDemoProfileAfterRestart: the Demo profile outlives the in-process simulator; running
// it in a later session starts a new simulator and updates the saved URL and pin.
func TestDemoProfileAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	h.u.TryDemo()
	waitRun(h.u)
	old := h.u.Current().Values
	h.u.Close() // the session ends: its simulator stops

	h2 := newHarnessOn(t, h.dir)
	if !h2.u.Current().Demo {
		t.Fatal("the reopened Demo profile should be recognised as the demo")
	}
	h2.u.Run()
	waitRun(h2.u)
	r := h2.u.diag.Result
	if r == nil || r.Summary.Passed == 0 {
		t.Fatalf("the demo did not run in the new session: %q", h2.u.diag.VerdictLine())
	}
	p, err := h2.store.S.Get("Demo")
	// A new simulator has a new certificate (and usually a new port).
	if err != nil || p.TLS.PinSHA256 == old.PinSHA256 || len(p.TLS.PinSHA256) != 64 {
		t.Fatalf("saved demo profile not updated: %q pin %q (old %q %q), %v", p.EWSURL, p.TLS.PinSHA256, old.URL, old.PinSHA256, err)
	}
}
