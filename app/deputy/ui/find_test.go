package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"deputy/internal/autodiscover"
	adsim "deputy/internal/exchangesim/autodiscover"
)

// findLab starts the simulated Autodiscover deployment and points the window's Find at
// it: the real autodiscover.Discover, with the lab's DNS, ports and host names.
func findLab(t *testing.T, scenario string) (*harness, *adsim.Server) {
	t.Helper()
	cfg, err := adsim.Scenario(scenario)
	if err != nil {
		t.Fatal(err)
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
	h := newHarness(t, nil)
	h.u.env.Discover = func(ctx context.Context, addr string, o autodiscover.Options) (*autodiscover.Result, error) {
		o.Resolve, o.DNSServer, o.V2Host = s.Resolve(), s.DNSAddr, adsim.V2Host
		o.HTTPSPort, o.HTTPPort, o.StepTimeout = s.HTTPSPort, s.HTTPPort, 3*time.Second
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
