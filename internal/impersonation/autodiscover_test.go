package impersonation_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"deputy/internal/autodiscover"
	adsim "deputy/internal/exchangesim/autodiscover"
	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// With "use Autodiscover", the plan starts with the autodiscover check and uses the URL it
// finds; when nothing is found, nothing else runs.
func TestPlanUsesAutodiscover(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		found    bool
	}{{"pox", true}, {"soap", true}, {"none", false}} {
		t.Run(tc.scenario, func(t *testing.T) {
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
			cfg := impersonation.Config{
				Auth:                transport.Auth{Scheme: "basic", User: s.User, Password: s.Password},
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
			if !tc.found {
				for _, c := range r.Checks[1:] {
					if c.Status != result.Skip {
						t.Errorf("%s ran without a URL", c.ID)
					}
				}
			}
		})
	}
}
