package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/result"
)

func sampleResult(n int) *result.Result {
	r := &result.Result{
		Schema: result.Schema,
		Server: result.Server{Version: "15.2.1544.4 (Exchange2019)"},
		Checks: []result.Check{
			{ID: result.CheckEndpoint, Title: "EWS endpoint reachable", Status: result.Pass, Summary: "HTTPS answered in 40 ms"},
			{ID: result.CheckAuth, Title: "Service account signs in", Status: result.Pass, Summary: "Basic accepted"},
			{ID: result.CheckImpersonation, Title: "Impersonation", Status: result.Fail, Class: result.ImpersonationDenied,
				Summary:     "1,000 of 10,000 mailboxes are outside the account's impersonation scope",
				Evidence:    []string{"ErrorImpersonationDenied for user00003@contoso.com"},
				Remediation: "New-ManagementRoleAssignment -Role ApplicationImpersonation -User svc-app -CustomRecipientWriteScope 'Deputy scope'"},
		},
		Mailboxes: bigRun(n),
	}
	r.Tally()
	return r
}

func newDiag(t *testing.T) (*DiagnosticsView, fyne.Window, *[]string) {
	t.Helper()
	test.NewTempApp(t)
	var copied []string
	d := NewDiagnosticsView(func(s string) { copied = append(copied, s) })
	w := test.NewTempWindow(t, d.Content())
	w.Resize(fyne.NewSize(1000, 700))
	return d, w, &copied
}

func TestDiagnosticsFilterSortDetail(t *testing.T) {
	d, _, copied := newDiag(t)
	r := sampleResult(10000)
	d.SetResult(r)

	if got := d.CountText(); got != "10,000 mailboxes" {
		t.Fatalf("count %q", got)
	}
	if !strings.Contains(d.VerdictLine(), "Not ready") || !strings.Contains(d.VerdictLine(), "failed") {
		t.Errorf("verdict %q should say not ready and how many failed", d.VerdictLine())
	}
	// The first failing check opens by itself, with its fix and a Copy button.
	if d.checkSel != 2 || !strings.Contains(d.remediation.Text, "New-ManagementRoleAssignment") {
		t.Fatalf("failing check not shown: sel %d, remediation %q", d.checkSel, d.remediation.Text)
	}
	test.Tap(d.copyRem)
	if len(*copied) != 1 || !strings.HasPrefix((*copied)[0], "New-ManagementRoleAssignment") {
		t.Errorf("Copy put %q on the clipboard", *copied)
	}

	tests := []struct {
		status, class, search string
		want                  func(result.Mailbox) bool
	}{
		{"Failed", allClasses, "", func(m result.Mailbox) bool { return m.Status == result.Fail }},
		{"All statuses", string(result.MailboxNotFound), "", func(m result.Mailbox) bool { return m.Class == result.MailboxNotFound }},
		{"Warnings", allClasses, "user00", func(m result.Mailbox) bool {
			return m.Status == result.Warn && strings.HasPrefix(m.Address, "user00")
		}},
		{"All statuses", allClasses, "", func(result.Mailbox) bool { return true }},
	}
	for _, tt := range tests {
		d.SetFilter(tt.status, tt.class, tt.search)
		want := 0
		for _, m := range r.Mailboxes {
			if tt.want(m) {
				want++
			}
		}
		if d.Model.Len() != want {
			t.Fatalf("filter %q/%q/%q: %d rows, want %d", tt.status, tt.class, tt.search, d.Model.Len(), want)
		}
		if want < 10000 && !strings.HasSuffix(d.CountText(), "of 10,000") {
			t.Errorf("count label %q should say how many of the total are shown", d.CountText())
		}
	}

	// Tapping a header sorts; tapping again flips, and the header shows the arrow.
	d.SortBy(ColLatency)
	if !strings.HasSuffix(d.HeaderText(ColLatency), "▼") {
		t.Fatalf("latency header %q should show a descending arrow", d.HeaderText(ColLatency))
	}
	first, _ := d.Model.Row(0)
	for i := 1; i < d.Model.Len(); i++ {
		if r, _ := d.Model.Row(i); r.LatencyMs > first.LatencyMs {
			t.Fatalf("row %d slower (%d ms) than the first (%d ms)", i, r.LatencyMs, first.LatencyMs)
		}
	}

	// Selecting a row fills the detail pane; the selection survives a re-sort.
	d.SetFilter("Failed", string(result.ImpersonationDenied), "")
	d.SelectMailbox(0)
	sel, _ := d.Model.Row(0)
	det := d.MailboxDetailText()
	for _, want := range []string{sel.Address, "impersonation-denied", "ErrorImpersonationDenied", "Attempts: 1", "permission to impersonate"} {
		if !strings.Contains(det, want) {
			t.Errorf("detail pane lacks %q:\n%s", want, det)
		}
	}
	d.SortBy(ColAddress)
	if d.selected != sel.Address || d.Model.Index(sel.Address) < 0 {
		t.Errorf("selection lost on sort")
	}
}

func TestDiagnosticsTrustOffer(t *testing.T) {
	cert := &result.CertInfo{Subject: "CN=mail.contoso.com", Issuer: "CN=mail.contoso.com",
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		SHA256: strings.Repeat("ab", 32)}
	tests := []struct {
		name  string
		check result.Check
		offer bool
	}{
		{"untrusted cert", result.Check{ID: result.CheckTLS, Status: result.Fail, Cert: cert}, true},
		{"tls failed without cert", result.Check{ID: result.CheckTLS, Status: result.Fail}, false},
		{"trusted cert", result.Check{ID: result.CheckTLS, Status: result.Pass, Cert: &result.CertInfo{Trusted: true}}, false},
		{"other check", result.Check{ID: result.CheckAuth, Status: result.Fail, Cert: cert}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, _ := newDiag(t)
			var got *result.CertInfo
			d.OnTrust = func(c *result.CertInfo) { got = c }
			tt.check.Title = "TLS"
			r := &result.Result{Checks: []result.Check{tt.check}}
			r.Tally()
			d.SetResult(r)
			d.SelectCheck(0)
			if d.Trust.Visible() != tt.offer {
				t.Fatalf("Trust button visible=%v, want %v", d.Trust.Visible(), tt.offer)
			}
			if tt.offer {
				test.Tap(d.Trust)
				if got != cert {
					t.Fatal("Trust did not hand over the certificate")
				}
				if !strings.Contains(d.evidence.Text, "AB:AB:AB") || !strings.Contains(d.evidence.Text, "CN=mail.contoso.com") {
					t.Errorf("evidence should show the certificate: %q", d.evidence.Text)
				}
			}
		})
	}
}

func TestDiagnosticsProgressUpdates(t *testing.T) {
	d, _, _ := newDiag(t)
	d.Start(time.Now())
	if d.Cancel.Disabled() || !d.Run.Disabled() {
		t.Fatal("while running, Run is disabled and Cancel enabled")
	}
	d.Apply(RunUpdate{
		Checks:    []result.Check{{ID: result.CheckImpersonation, Title: "Impersonation"}},
		Mailboxes: bigRun(300),
		Progress:  Progress{Check: "Impersonation", Done: 300, Total: 1000, Rate: 150},
	})
	if d.Model.Total() != 300 || d.bar.Value < 0.29 || d.bar.Value > 0.31 {
		t.Fatalf("after 300 of 1000: rows %d, bar %.2f", d.Model.Total(), d.bar.Value)
	}
	if !strings.Contains(d.ProgressText(), "300 / 1,000") || !strings.Contains(d.ProgressText(), "ETA 5s") {
		t.Errorf("progress %q lacks done/total or ETA", d.ProgressText())
	}
	r := sampleResult(1000)
	r.Cancelled = true
	d.Finish(r, nil, time.Now())
	if d.Run.Disabled() || !d.Cancel.Disabled() || d.Export.Disabled() {
		t.Fatal("after a run: Run and Export enabled, Cancel disabled")
	}
	if !strings.HasPrefix(d.ProgressText(), "Cancelled") || !strings.HasPrefix(d.VerdictLine(), "Cancelled") {
		t.Errorf("a cancelled run must say so: %q / %q", d.ProgressText(), d.VerdictLine())
	}
}

func BenchmarkDiagnosticsLoad10k(b *testing.B) {
	test.NewTempApp(b)
	d := NewDiagnosticsView(nil)
	w := test.NewTempWindow(b, d.Content())
	w.Resize(fyne.NewSize(1200, 800))
	r := sampleResult(10000)
	for b.Loop() {
		d.SetResult(r)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/10k-rows")
}

// TestDiagnosticsDetailPaneAndRowTint: the pane beside the checks shows what was clicked
// last; the whole selected row is tinted and the tint follows the mailbox across sorting;
// the table gets most of the height.
func TestDiagnosticsDetailPaneAndRowTint(t *testing.T) {
	d, w, _ := newDiag(t)
	w.Resize(fyne.NewSize(1200, 800))
	d.SetResult(sampleResult(200))
	if d.MailboxPaneVisible() {
		t.Fatal("before any click the failing check's detail should show")
	}
	d.SelectMailbox(3)
	addr := d.selected
	if !d.MailboxPaneVisible() || !strings.Contains(d.MailboxDetailText(), addr) {
		t.Fatalf("mailbox pane %v, detail %q for %s", d.MailboxPaneVisible(), d.MailboxDetailText(), addr)
	}
	tinted := func() map[string]int {
		got := map[string]int{}
		walk(d.table, func(o fyne.CanvasObject) {
			c, ok := o.(*fyne.Container)
			if !ok || len(c.Objects) != 2 {
				return
			}
			bg, ok := c.Objects[0].(*canvas.Rectangle)
			inner, ok2 := c.Objects[1].(*fyne.Container)
			if !ok || !ok2 || !c.Visible() || bg.FillColor != theme.Color(theme.ColorNameSelection) {
				return
			}
			got[inner.Objects[0].(*widget.Label).Text]++
		})
		return got
	}
	if got := tinted(); got[addr] != 1 || len(got) < int(numColumns)-1 {
		t.Errorf("tinted cells %v: want the %d cells of %s's row", got, numColumns, addr)
	}
	d.SortBy(ColAddress)
	d.SortBy(ColAddress) // descending: the row moves
	if got := tinted(); got[addr] > 1 || d.selected != addr {
		t.Errorf("after sorting the tint is on %v, selection %s", got, d.selected)
	}
	// Filtering restores the selection without taking the pane away from a check.
	d.SelectCheck(0)
	d.SetFilter("", "", "")
	if d.MailboxPaneVisible() {
		t.Error("re-selecting after a filter switched the pane back to the mailbox")
	}
	if th, bh := d.table.Size().Height, d.Content().Size().Height; th < bh/2 {
		t.Errorf("mailbox table %.0f px of %.0f: it should be the dominant area", th, bh)
	}
}

// TestShownAvoidsTheArrowGlyphBug: a proportional label must not get "→ " (Fyne draws
// it as "→�"); the detail pane shows an Exchange Online fix's portal path with "›".
func TestShownAvoidsTheArrowGlyphBug(t *testing.T) {
	if got := shown("Entra admin center → App registrations → the app"); got != "Entra admin center › App registrations › the app" {
		t.Errorf("shown = %q", got)
	}
	if got := shown("EWS→Graph"); got != "EWS→Graph" {
		t.Errorf("an arrow without a space after it draws fine and stays: %q", got)
	}
	d, _, _ := newDiag(t)
	r := &result.Result{Verdict: result.Fail, Summary: result.Summary{Mailboxes: 1, Failed: 1},
		Mailboxes: []result.Mailbox{{Address: "a@contoso.com", Kind: result.KindUser, Status: result.Fail, Class: result.AuthFailed,
			Remediation: "Grant consent: App registrations → Deputy → API permissions."}}}
	d.SetResult(r)
	d.SelectMailbox(0)
	if strings.Contains(d.detail.Text, "→ ") || !strings.Contains(d.detail.Text, "App registrations › Deputy") {
		t.Errorf("detail pane: %q", d.detail.Text)
	}
}
