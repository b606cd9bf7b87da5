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

// windowForEXO is the whole window pointed at the simulated Exchange Online.
func windowForEXO(t *testing.T, s *exchangesim.EXOServer) *harness {
	t.Helper()
	h := newHarness(t, nil)
	if h.u.form.OAuth == nil || h.u.form.OAuth != h.u.env.OAuth {
		t.Fatal("window.go must wire the OAuth hooks (attachOAuth in New)")
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
			waitRun(u)
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
				t.Fatalf("a both-protocol result must show the Migration column: %v", u.diag.Model.Columns())
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
				if !strings.Contains(d, row.Address) || !strings.Contains(d, "Migration to Microsoft Graph: ready on both") || !strings.Contains(d, "\nGraph: ") || !strings.Contains(d, "\nEWS: ") {
					t.Errorf("detail %q", d)
				}
			}
		})
	}
}

// TestOAuthConfigUseAutodiscover: an Exchange Online profile that says "use Autodiscover"
// and has no URL leaves the URL to the autodiscover check instead of the cloud's default.
func TestOAuthConfigUseAutodiscover(t *testing.T) {
	s := exoServer(t, false)
	for _, tc := range []struct {
		name     string
		use      bool
		wantURL  string
		wantAddr string
	}{
		{"ticked", true, "", exchangesim.EXODemoUser},
		{"unticked", false, "https://outlook.office365.com/EWS/Exchange.asmx", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := FormValues{Name: "EXO", Environment: result.EXO, UseAutodiscover: tc.use, Auth: AuthAppSecret,
				Tenant: s.Tenant, ClientID: exchangesim.EXODemoAppID, ServiceMailbox: exchangesim.EXODemoUser, Concurrency: "2"}
			if errs := v.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			o := &OAuthEnv{Authority: s.Authority}
			cfg, err := o.BuildConfigFor(t.Context(), "", v, "", OAuthSecrets{ClientSecret: exchangesim.EXODemoSecret})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.URL != tc.wantURL || cfg.AutodiscoverAddress != tc.wantAddr || cfg.OAuth == nil {
				t.Fatalf("URL %q autodiscover %q (OAuth %v), want %q and %q", cfg.URL, cfg.AutodiscoverAddress, cfg.OAuth != nil, tc.wantURL, tc.wantAddr)
			}
		})
	}
}
