package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/exchangesim"
	"deputy/internal/result"
	"deputy/internal/secret"
)

// TestTrustCertificatePinsAndRuns: against a self-signed server without a pin the tls
// check fails and offers the certificate; trusting it pins the fingerprint into the
// saved profile and the next run gets past TLS.
func TestTrustCertificatePinsAndRuns(t *testing.T) {
	sc := exchangesim.Demo(5)
	srv, err := exchangesim.Start(sc, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, FormValues{Name: "Self-signed", Environment: result.OnPrem, URL: srv.URL, Auth: AuthBasic,
		User: srv.User, Mailboxes: strings.Join(sc.Targets(), "\n")})
	if !h.u.Save() {
		t.Fatal(h.u.form.Status())
	}
	test.Type(h.u.form.password, srv.Password)
	h.u.Run()
	waitRun(h.u)
	d := h.u.diag
	var tls *result.Check
	for i, c := range d.Checks() {
		if c.ID == result.CheckTLS {
			tls = &d.Checks()[i]
			d.SelectCheck(i)
		}
	}
	if tls == nil || !CanTrust(tls) || !d.Trust.Visible() {
		t.Fatalf("an untrusted certificate must fail the tls check and offer Trust: %+v", tls)
	}
	if tls.Cert.SHA256 != srv.SHA256 {
		t.Fatalf("offered fingerprint %s, server's %s", tls.Cert.SHA256, srv.SHA256)
	}
	test.Tap(d.Trust) // the confirmation shows subject, issuer, expiry, fingerprint
	if ov := h.w.Canvas().Overlays().Top(); ov == nil {
		t.Fatal("Trust must ask for confirmation first")
	} else {
		text := labelsText(ov)
		for _, want := range []string{"Subject:", "Issuer:", "Valid:", FormatFingerprint(srv.SHA256)} {
			if !strings.Contains(text, want) {
				t.Errorf("confirmation lacks %q:\n%s", want, text)
			}
		}
		tapButton(t, ov, "Trust and save")
	}
	p, err := h.store.S.Get("Self-signed")
	if err != nil || p.TLS.PinSHA256 != srv.SHA256 {
		t.Fatalf("pin on disk %q (%v), want %s", p.TLS.PinSHA256, err, srv.SHA256)
	}
	test.Type(h.u.form.password, srv.Password)
	h.u.Run()
	waitRun(h.u)
	for _, c := range d.Checks() {
		if c.ID == result.CheckTLS && c.Status != result.Pass {
			t.Fatalf("after pinning, tls: %s %s", c.Status, c.Summary)
		}
	}
}

func labelsText(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, x := range test.LaidOutObjects(o) {
		if l, ok := x.(*widget.Label); ok {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

func tapButton(t *testing.T, o fyne.CanvasObject, text string) {
	t.Helper()
	for _, x := range test.LaidOutObjects(o) {
		if b, ok := x.(*widget.Button); ok && b.Text == text {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no %q button", text)
}

func TestKeychainStateWording(t *testing.T) {
	const be = "Windows Credential Manager"
	tests := []struct {
		has  bool
		err  error
		want string
		imp  widget.Importance
	}{
		{true, nil, "Saved in Windows Credential Manager", widget.SuccessImportance},
		{false, nil, "Not saved", widget.WarningImportance},
		{false, &secret.Error{Kind: secret.Locked, Backend: be, Op: "read", Key: secret.Key{Kind: secret.Password}}, "is locked", widget.DangerImportance},
		{false, &secret.Error{Kind: secret.Timeout, Backend: be, Op: "read", Timeout: 5 * time.Second}, "did not answer", widget.DangerImportance},
		{false, &secret.Error{Kind: secret.Unavailable, Backend: be, Op: "read", Err: errors.New("no D-Bus")}, "not available", widget.DangerImportance},
	}
	for _, tt := range tests {
		got, imp := KeychainState(be, tt.has, tt.err)
		if !strings.Contains(got, tt.want) || imp != tt.imp {
			t.Errorf("has=%v err=%v: %q (%v), want %q (%v)", tt.has, tt.err, got, imp, tt.want, tt.imp)
		}
		if tt.err != nil && !strings.Contains(got, "never falls back") {
			t.Errorf("a keychain error must say there is no file fallback: %q", got)
		}
	}
}

// TestWindowFits: the whole window fits a 1024×700 RDP session, so at the default
// 1200×800 nothing is clipped.
func TestWindowFits(t *testing.T) {
	h := newHarness(t, nil)
	check := func(state string) {
		min := h.u.Content().MinSize()
		if min.Width > 1024 || min.Height > 700 {
			t.Errorf("%s: minimum size %.0f×%.0f exceeds 1024×700", state, min.Width, min.Height)
		}
	}
	check("welcome")
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	h.u.Save()
	check("profile")
	h.u.ShowDiagnostics()
	h.u.diag.SetResult(sampleResult(1000))
	check("diagnostics")
	h.u.ShowSetup()
	check("setup")
	h.u.Setup().version.SetSelected(labelFor(setupVersions, "exo"))
	check("setup, Exchange Online")
}
