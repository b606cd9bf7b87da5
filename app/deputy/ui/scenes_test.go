package ui

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/result"
)

// TestMigrationScene plays the "migration" screenshot scene in the whole window: the
// simulated Exchange Online with Graph, an app-only profile saved and run with protocol
// both, an EWS-only blocker open — and the simulator gone once the window closes.
func TestMigrationScene(t *testing.T) {
	h := newHarness(t, nil)
	h.u.env.OAuth.Keys = nil // no keychain: the typed secret serves the session
	ready := false
	if err := h.u.PlayScene("migration", func() { ready = true }); err != nil {
		t.Fatal(err)
	}
	waitRun(h.u)
	d := h.u.diag
	r := d.Result
	if r == nil || r.Migration == nil {
		t.Fatalf("no migration result: %q", d.VerdictLine())
	}
	if !ready {
		t.Fatalf("ready not called; verdict %q", d.VerdictLine())
	}
	if r.Migration.EWSOnly == 0 {
		t.Fatalf("the demo tenant has no EWS-only mailbox: %s", r.Migration.Counts())
	}
	if d.selected != migrationSceneMailbox || !d.MailboxPaneVisible() {
		t.Fatalf("selected %q (pane shown %v), want %s", d.selected, d.MailboxPaneVisible(), migrationSceneMailbox)
	}

	// The pane opens with the verdict, then the selected (Graph) row under its protocol.
	detail := d.MailboxDetailText()
	first, _, _ := strings.Cut(detail, "\n")
	addrs := map[string]bool{}
	for _, m := range r.Mailboxes {
		addrs[strings.ToLower(m.Address)] = true
	}
	for _, c := range []struct{ what, got, want string }{
		{"detail starts with the verdict", first, "EWS only — a migration blocker"},
		{"detail names the row's protocol", detail, "\n\nThrough Microsoft Graph: " + migrationSceneMailbox},
		{"verdict counts each mailbox once", d.VerdictLine(), fmt.Sprintf("%d mailboxes", len(addrs))},
		{"verdict has the migration counts", d.VerdictLine(), "\nMigration to Graph: " + r.Migration.Counts()},
		{"count says results, not mailboxes", d.CountText(), fmt.Sprintf("%d results", len(r.Mailboxes))},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: %q lacks %q", c.what, c.got, c.want)
		}
	}
	if strings.Count(detail, "Fix:") > 2 {
		t.Errorf("the row's fix is repeated in its migration part:\n%s", detail)
	}

	// Protocol and Migration follow the address, and every column fits the table of a
	// 1200×800 window: nothing to scroll sideways for.
	cols := d.Model.Columns()
	if len(cols) < 4 || cols[2] != ColProtocol || cols[3] != ColMigration {
		t.Errorf("columns %v: Protocol and Migration must follow Mailbox", cols)
	}
	var width float32
	for i, c := range cols {
		width += columnWidth(c, true)
		if i > 0 {
			width += theme.Padding()
		}
	}
	if tw := d.table.Size().Width; width > tw {
		t.Errorf("columns need %.0f px, the table has %.0f", width, tw)
	}

	// The simulator closes with the window.
	u, err := url.Parse(h.u.Current().Values.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("profile URL %q", h.u.Current().Values.URL)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Fatalf("simulator not listening while the window is open: %v", err)
	}
	c.Close()
	h.u.Close()
	if c, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("simulator at %s still listening after the window closed", u.Host)
	}
}

// TestUnknownScene: an unknown scene fails and names the known ones.
func TestUnknownScene(t *testing.T) {
	h := newHarness(t, nil)
	err := h.u.PlayScene("nope", func() { t.Error("ready for an unknown scene") })
	if err == nil || !strings.Contains(err.Error(), "migration") {
		t.Fatalf("error %v should list the known scenes, migration among them", err)
	}
}

// TestColumnsSizedWhenGraphRowsArrive: the first Graph row of a running diagnosis brings
// the Protocol column after the address; the widths follow at once, not at the end: every
// shown column's header is as wide as its column should be, compact beside Protocol.
func TestColumnsSizedWhenGraphRowsArrive(t *testing.T) {
	test.NewTempApp(t)
	d := NewDiagnosticsView(nil)
	w := test.NewTempWindow(t, d.Content())
	w.Resize(fyne.NewSize(1400, 900)) // every column on screen
	d.Start(time.Now())
	for _, c := range []struct {
		name    string
		rows    []result.Mailbox
		want    []Column
		compact bool
	}{
		{"ews rows", []result.Mailbox{{Address: "a@contoso.com", Protocol: result.EWS, Status: result.Pass}},
			[]Column{ColStatus, ColAddress, ColKind, ColClass, ColCode, ColLatency, ColAttempts}, false},
		{"first graph row", []result.Mailbox{{Address: "a@contoso.com", Protocol: result.Graph, Status: result.Pass}},
			[]Column{ColStatus, ColAddress, ColProtocol, ColKind, ColClass, ColCode, ColLatency, ColAttempts}, true},
	} {
		d.Apply(RunUpdate{Mailboxes: c.rows})
		if got := d.Model.Columns(); !slices.Equal(got, c.want) {
			t.Fatalf("%s: columns %v, want %v", c.name, got, c.want)
		}
		headers := map[string]float32{} // header text → the width its cell is drawn at
		walk(d.table, func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && b.Visible() && b.Text != "" {
				headers[b.Text] = b.Size().Width
			}
		})
		for _, col := range c.want {
			got, ok := headers[d.HeaderText(col)]
			if want := columnWidth(col, c.compact); !ok || got != want {
				t.Errorf("%s: %s column %v px wide (shown %v), want %v", c.name, col.Title(), got, ok, want)
			}
		}
	}
}
