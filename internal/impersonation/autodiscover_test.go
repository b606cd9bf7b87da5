package impersonation_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deputy/internal/autodiscover"
	adsim "deputy/internal/exchangesim/autodiscover"
	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// With "use Autodiscover", the plan starts with the autodiscover check and uses the URL it
// finds; when nothing is found, nothing else runs, and the check says what to do.
func TestPlanUsesAutodiscover(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		password string // "" = the right one
		found    bool
		code     string
		class    result.Class
		fix      []string // in the remediation
	}{
		{scenario: "pox", found: true},
		{scenario: "soap", found: true},
		{scenario: "none", code: "not-found", class: result.Other,
			fix: []string{"No Autodiscover endpoint answered for " + adsim.Address, "--url <EWS URL>", "Resolve-DnsName -Name '_autodiscover._tcp." + adsim.Domain + "' -Type SRV"}},
		{scenario: "pox", password: "not-the-password", code: "not-found", class: result.AuthFailed,
			fix: []string{"refused the credentials", "Get-AutodiscoverVirtualDirectory"}},
		{scenario: "foreign", code: "redirect-refused", class: result.Other,
			fix: []string{"redirects to " + adsim.Foreign, "deputy-cli autodiscover '" + adsim.Address + "' --user '", "--trust-redirect '" + adsim.Foreign + "'", "do not trust it"}},
		{scenario: "loop", code: "redirect-loop", class: result.Other,
			fix: []string{"lead back", "Get-ClientAccessService"}},
	} {
		t.Run(tc.scenario+tc.password, func(t *testing.T) {
			c, err := adsim.Scenario(tc.scenario)
			if err != nil {
				t.Fatal(err)
			}
			s, err := adsim.Start(c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			ca := filepath.Join(t.TempDir(), "ca.pem")
			os.WriteFile(ca, s.CAPEM(), 0o600)
			pw := s.Password
			if tc.password != "" {
				pw = tc.password
			}
			cfg := impersonation.Config{
				Auth:                transport.Auth{Scheme: "basic", User: s.User, Password: pw},
				TLS:                 transport.TLSOptions{CAFile: ca},
				AutodiscoverAddress: adsim.Address,
				Autodiscover: autodiscover.Options{Resolve: s.Resolve(), DNSServer: s.DNSAddr,
					HTTPSPort: s.HTTPSPort, HTTPPort: s.HTTPPort, V2Host: adsim.V2Host},
				Mailboxes: []string{s.User},
				Timeout:   2 * time.Second,
			}
			r, err := impersonation.Diagnose(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Checks[0].ID != result.CheckAutodiscover {
				t.Fatalf("first check %q", r.Checks[0].ID)
			}
			ad := r.Checks[0]
			if tc.found != (ad.Status == result.Pass) || (tc.found && r.Profile.EWSURL == "") {
				t.Fatalf("autodiscover: %+v; url %q", ad, r.Profile.EWSURL)
			}
			if tc.found {
				if ad.Remediation != "" {
					t.Errorf("a found URL needs no fix: %q", ad.Remediation)
				}
				return
			}
			if ad.Code != tc.code || ad.Class != tc.class {
				t.Errorf("autodiscover %s/%s (%s), want %s/%s", ad.Class, ad.Code, ad.Summary, tc.class, tc.code)
			}
			for _, w := range tc.fix {
				if !strings.Contains(ad.Remediation, w) {
					t.Errorf("remediation lacks %q:\n%s", w, ad.Remediation)
				}
			}
			for _, c := range r.Checks[1:] {
				if c.Status != result.Skip {
					t.Errorf("%s ran without a URL", c.ID)
				}
			}
		})
	}
}
