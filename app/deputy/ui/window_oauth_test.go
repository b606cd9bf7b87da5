package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/exchangesim"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// windowForEXO is the whole window pointed at the simulated Exchange Online. It skips
// when window.go does not call the OAuth hooks of oauth_window.go (the integration is
// owned by the window's engineer).
func windowForEXO(t *testing.T, s *exchangesim.EXOServer) *harness {
	t.Helper()
	h := newHarness(t, nil)
	if h.u.form.OAuth == nil {
		t.Skip("window.go does not wire the OAuth hooks yet (attachOAuth, saveOAuthSecrets, oauthConfig)")
	}
	h.u.env.OAuth.Authority = s.Authority
	h.u.env.OAuth.Keys = nil // no keychain: credentials are typed for each session
	return h
}

func TestWindowAppSecretRunAndSave(t *testing.T) {
	s := exoServer(t, true)
	cases := []struct {
		name, protocol string
		migration      bool
	}{
		{"ews", "", false},
		{"both", impersonation.ProtocolBoth, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := windowForEXO(t, s)
			u, f := h.u, h.u.form
			u.NewProfile()
			fill(f, FormValues{Name: "EXO " + c.name, Environment: result.EXO, URL: s.URL, Auth: AuthAppSecret,
				PinSHA256: s.SHA256, Mailboxes: strings.Join(s.X.Targets()[:4], "\n"), Concurrency: "2"})
			test.Type(f.oa.tenant, s.Tenant)
			test.Type(f.oa.clientID, exchangesim.EXODemoAppID)
			test.Type(f.oa.secret, exchangesim.EXODemoSecret)
			f.oa.protocol.SetSelected(labelFor(protocols, c.protocol))
			if !u.Save() {
				t.Fatalf("not saved: %s", f.Status())
			}
			// The profile file keeps the app, never its secret.
			err := filepath.WalkDir(h.dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), exchangesim.EXODemoSecret) {
					t.Errorf("%s holds the client secret", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			u.Reload(u.Current().ID)
			if got := f.Values(); got.Tenant != s.Tenant || got.ClientID != exchangesim.EXODemoAppID || got.Protocol != c.protocol {
				t.Fatalf("after reload: tenant %q client %q protocol %q", got.Tenant, got.ClientID, got.Protocol)
			}
			// Without a keychain the secret was not stored: type it again for this session.
			test.Type(f.oa.secret, exchangesim.EXODemoSecret)
			u.Run()
			u.Wait()
			r := u.diag.Result
			if r == nil {
				t.Fatal("no result")
			}
			ck := checkOf(r, result.CheckToken)
			if ck == nil || ck.Status == result.Fail {
				t.Fatalf("token check %+v", ck)
			}
			if (r.Migration != nil) != c.migration {
				t.Errorf("migration view %v, want %v", r.Migration != nil, c.migration)
			}
			if !c.migration {
				if cols := u.diag.Model.Columns(); containsCol(cols, ColMigration) {
					t.Errorf("EWS run shows the Migration column: %v", cols)
				}
				return
			}
			if !containsCol(u.diag.Model.Columns(), ColMigration) {
				t.Skip("diagnostics.go does not show the migration columns yet (Model.SetMigration, Columns)")
			}
			if !containsCol(u.diag.Model.Columns(), ColProtocol) {
				t.Errorf("columns %v lack Protocol", u.diag.Model.Columns())
			}
			want := r.Migration.BothReady
			u.diag.Model.SetFilter(Filter{Verdict: "both-ready"})
			u.diag.table.Refresh()
			if u.diag.Model.Len() != 2*want {
				t.Errorf("both-ready filter: %d rows, want %d", u.diag.Model.Len(), 2*want)
			}
			if want > 0 {
				row, _ := u.diag.Model.Row(0)
				u.diag.table.Select(widget.TableCellID{Row: 0, Col: int(ColAddress)})
				d := u.diag.MailboxDetailText()
				if !strings.Contains(d, row.Address) || !strings.Contains(d, "Migration EWS → Microsoft Graph: ready on both") || !strings.Contains(d, "\nGraph: ") || !strings.Contains(d, "\nEWS: ") {
					t.Errorf("detail %q", d)
				}
			}
		})
	}
}
