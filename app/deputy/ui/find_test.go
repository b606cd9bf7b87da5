package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/autodiscover"
	"deputy/internal/exchangesim"
	adsim "deputy/internal/exchangesim/autodiscover"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// adLab starts the simulated Autodiscover deployment of scenario (edit, when set, adjusts
// it first) and writes its CA to a PEM file.
func adLab(t *testing.T, scenario string, edit func(*adsim.Config)) (*adsim.Server, string) {
	t.Helper()
	cfg, err := adsim.Scenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := adsim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "lab-ca.pem")
	if err := os.WriteFile(ca, s.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, ca
}

// aimAt points o at the lab (DNS, ports, host names), keeping what the window set.
func aimAt(s *adsim.Server, o *autodiscover.Options) {
	o.Resolve, o.DNSServer, o.V2Host = s.Resolve(), s.DNSAddr, adsim.V2Host
	o.HTTPSPort, o.HTTPPort, o.StepTimeout = s.HTTPSPort, s.HTTPPort, 3*time.Second
}

// findLab starts the simulated Autodiscover deployment and points the window's Find at
// it: the real autodiscover.Discover, with the lab's DNS, ports and host names.
func findLab(t *testing.T, scenario string) (*harness, *adsim.Server) {
	t.Helper()
	s, ca := adLab(t, scenario, nil)
	h := newHarness(t, nil)
	h.u.env.Discover = func(ctx context.Context, addr string, o autodiscover.Options) (*autodiscover.Result, error) {
		aimAt(s, &o)
		return autodiscover.Discover(ctx, addr, o)
	}
	h.u.NewProfile()
	f := h.u.form
	f.name.SetText("Lab")
	f.user.SetText(s.User)
	f.svcMailbox.SetText(adsim.Address)
	f.caFile.SetText(ca)
	test.Type(f.password, s.Password)
	return h, s
}

func TestFindFillsTheURL(t *testing.T) {
	h, _ := findLab(t, "pox")
	if h.u.form.find.Disabled() {
		t.Fatal("Find must be enabled when Autodiscover is available")
	}
	test.Tap(h.u.form.find)
	waitFor(t, func() bool { return !h.u.form.find.Disabled() })
	if got := h.u.form.url.Text; got != adsim.EWSURL {
		t.Fatalf("URL %q, want %q; status %q", got, adsim.EWSURL, h.u.form.Status())
	}
	if !strings.Contains(h.u.form.Status(), "found") {
		t.Errorf("status %q", h.u.form.Status())
	}
}

// TestFindAsksBeforeForeignHost: credentials go to a host outside the address's domain
// only after the user says so.
func TestFindAsksBeforeForeignHost(t *testing.T) {
	for _, tc := range []struct {
		answer, wantURL string
	}{
		{"No", ""},
		{"Yes, send", adsim.ForeignEWSURL},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			h, _ := findLab(t, "foreign")
			test.Tap(h.u.form.find)
			waitFor(t, func() bool { return h.u.Pending() != nil })
			p := h.u.Pending()
			if !strings.Contains(p.Title, adsim.Foreign) {
				t.Fatalf("prompt %q should name the foreign host", p.Title)
			}
			p.Choose(tc.answer)
			waitFor(t, func() bool { return !h.u.form.find.Disabled() })
			if got := h.u.form.url.Text; got != tc.wantURL {
				t.Fatalf("URL %q, want %q; status %q", got, tc.wantURL, h.u.form.Status())
			}
		})
	}
}

// TestFindShowsSteps: after Find, the steps taken (every URL or record tried) are one
// click away under the URL, on success and on failure, where they are the explanation.
func TestFindShowsSteps(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		found    bool
		tried    []string // hosts or records the steps must name
	}{
		{"pox", true, []string{"https://" + adsim.Domain + ":"}},
		{"http-302", true, []string{"http://autodiscover." + adsim.Domain + ":", "https://mail." + adsim.Domain + ":", "https://ad." + adsim.Domain + ":"}},
		{"none", false, []string{"https://" + adsim.Domain + ":", "https://autodiscover." + adsim.Domain + ":", "_autodiscover._tcp." + adsim.Domain, adsim.V2Host}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			h, _ := findLab(t, tc.scenario)
			f := h.u.form
			if _, lines := f.FindSteps(); len(lines) != 0 || f.findSteps.Visible() {
				t.Fatal("steps offered before any Find")
			}
			test.Tap(f.find)
			waitFor(t, func() bool { return !f.find.Disabled() })
			title, lines := f.FindSteps()
			body := strings.Join(lines, "\n")
			if got := f.url.Text != ""; got != tc.found {
				t.Fatalf("found %v, want %v; status %q\n%s\n%s", got, tc.found, f.Status(), title, body)
			}
			if !strings.Contains(title, adsim.Address) || !strings.HasPrefix(body, "1. ") {
				t.Fatalf("steps title %q, body:\n%s", title, body)
			}
			for _, want := range tc.tried {
				if !strings.Contains(body, want) {
					t.Errorf("steps do not name %q:\n%s", want, body)
				}
			}
			n := len(lines)
			if !f.findSteps.Visible() || !strings.Contains(f.findSteps.Text, fmt.Sprintf("%d step", n)) {
				t.Errorf("button %q (visible %v) should offer the %d steps", f.findSteps.Text, f.findSteps.Visible(), n)
			}
			if failed := f.findSteps.Importance == widget.WarningImportance; failed == tc.found {
				t.Errorf("steps button stands out %v after found=%v", failed, tc.found)
			}
			if !tc.found && !strings.Contains(f.Status(), "See what was tried") {
				t.Errorf("failure status %q should point at the steps", f.Status())
			}
			test.Tap(f.findSteps)
			if h.w.Canvas().Overlays().Top() == nil {
				t.Error("the steps button opened nothing")
			}
			// Another profile's form starts without them.
			h.u.NewProfile()
			if _, lines := f.FindSteps(); len(lines) != 0 || f.findSteps.Visible() {
				t.Error("the steps outlived the profile they were for")
			}
		})
	}
}

// TestRunWithAutodiscover: a profile that says "use Autodiscover" finds the EWS URL at
// run time (the autodiscover check first) and diagnoses the server it found; a redirect
// to a foreign host asks first, and No stops the run there.
func TestRunWithAutodiscover(t *testing.T) {
	sc := exchangesim.Demo(0)
	srv, err := exchangesim.Start(sc, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tc := range []struct {
		scenario, answer string
		want             result.Status
		code             string
	}{
		{"pox", "", result.Pass, ""},
		{"foreign", "No", result.Fail, "redirect-refused"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			// The lab's own mailbox answers with the simulated Exchange's URL.
			lab, labCA := adLab(t, tc.scenario, func(c *adsim.Config) {
				c.User, c.Password = srv.User, srv.Password
				c.Mailboxes[strings.ToLower(srv.User)] = adsim.Mailbox{DisplayName: "Deputy Service", EWSURL: srv.URL}
			})
			// One CA file trusts both: the lab's CA and the simulator's self-signed certificate.
			ca := filepath.Join(t.TempDir(), "trust.pem")
			pem, _ := os.ReadFile(labCA)
			if err := os.WriteFile(ca, append(pem, srv.CertPEM()...), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, nil)
			diag := h.u.env.Diagnose
			h.u.env.Diagnose = func(ctx context.Context, cfg impersonation.Config, obs impersonation.Observer) (*result.Result, error) {
				aimAt(lab, &cfg.Autodiscover)
				return diag(ctx, cfg, obs)
			}
			h.u.NewProfile()
			f := h.u.form
			fill(f, FormValues{Name: "Autodiscover", Environment: result.OnPrem, UseAutodiscover: true, Auth: AuthBasic,
				User: srv.User, ServiceMailbox: srv.User, Mailboxes: strings.Join(sc.Targets()[:3], "\n"), CAFile: ca, Concurrency: "2"})
			test.Type(f.password, srv.Password)
			if errs := f.Validate(); len(errs) > 0 {
				t.Fatalf("an empty URL with Autodiscover ticked is valid; got %v", errs)
			}
			h.u.Run()
			if tc.answer != "" {
				waitFor(t, func() bool { return h.u.Pending() != nil })
				if p := h.u.Pending(); !strings.Contains(p.Title, adsim.Foreign) {
					t.Fatalf("prompt %q should name the foreign host", p.Title)
				}
				h.u.Pending().Choose(tc.answer)
			}
			waitRun(h.u)
			r := h.u.diag.Result
			if r == nil || len(r.Checks) == 0 {
				t.Fatalf("no result: %q", h.u.diag.VerdictLine())
			}
			ad := r.Checks[0]
			if ad.ID != result.CheckAutodiscover || ad.Status != tc.want || ad.Code != tc.code {
				t.Fatalf("first check %s %s %q: %s\n%s", ad.ID, ad.Status, ad.Code, ad.Summary, strings.Join(ad.Evidence, "\n"))
			}
			if len(ad.Evidence) == 0 {
				t.Error("the autodiscover check shows no steps")
			}
			if tc.want != result.Pass {
				if r.Profile.EWSURL != "" {
					t.Errorf("a refused Autodiscover still produced URL %q", r.Profile.EWSURL)
				}
				return
			}
			if r.Profile.EWSURL != srv.URL {
				t.Fatalf("the run used %q, want the URL Autodiscover found, %q", r.Profile.EWSURL, srv.URL)
			}
			if ep := checkOf(r, result.CheckEndpoint); ep == nil || ep.Status != result.Pass {
				t.Fatalf("endpoint check at the found URL: %+v", ep)
			}
			if srv.Counters().ByOperation["GetFolder"] == 0 {
				t.Errorf("the simulated Exchange saw no mailbox requests: %v", srv.Counters().ByOperation)
			}
		})
	}
}
