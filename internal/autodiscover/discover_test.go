package autodiscover

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	adsim "deputy/internal/exchangesim/autodiscover"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// lab starts a simulator and returns options aiming the real code path at it.
func lab(t *testing.T, c adsim.Config) (*adsim.Server, Options) {
	t.Helper()
	s, err := adsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, Options{
		Auth:        transport.Auth{Scheme: transport.SchemeBasic, User: s.User, Password: s.Password},
		TLS:         transport.TLSOptions{CAFile: ca},
		Resolve:     s.Resolve(),
		DNSServer:   s.DNSAddr,
		StepTimeout: 3 * time.Second,
		HTTPSPort:   s.HTTPSPort,
		HTTPPort:    s.HTTPPort,
		V2Host:      adsim.V2Host,
	}
}

func scenario(t *testing.T, name string) adsim.Config {
	t.Helper()
	c, err := adsim.Scenario(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hasStep(r *Result, outcome, detail string) bool {
	for _, s := range r.Steps {
		if s.Outcome == outcome && strings.Contains(s.Detail, detail) {
			return true
		}
	}
	return false
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		scenario string
		confirm  bool // Confirm answers yes (else nil: refuse)
		timeout  time.Duration
		wantURL  string
		wantVia  string // prefix, before the port
		wantAddr string
		wantErr  error
		step     [2]string // an outcome and a detail fragment some step must show
	}{
		{scenario: "pox", wantURL: adsim.EWSURL, wantVia: "POX https://fabrikam.test:"},
		{scenario: "soap", wantURL: adsim.EWSURL, wantVia: "SOAP https://autodiscover.fabrikam.test:", step: [2]string{OutcomeFailed, "HTTP 404"}},
		{scenario: "redirect-addr", wantURL: adsim.RedirectedEWSURL, wantVia: "SOAP https://eu.fabrikam.test:", wantAddr: adsim.RedirectedAddress,
			step: [2]string{OutcomeRedirectAddr, adsim.RedirectedAddress}},
		{scenario: "loop-addr", wantErr: ErrRedirectLoop},
		{scenario: "redirect-url", wantURL: adsim.EWSURL, wantVia: "POX https://autodiscover.fabrikam.test:", step: [2]string{OutcomeRedirectURL, "https://autodiscover.fabrikam.test:"}},
		{scenario: "redirect-url-soap", wantURL: adsim.EWSURL, wantVia: "SOAP https://autodiscover.fabrikam.test:", step: [2]string{OutcomeRedirectURL, ".svc"}},
		{scenario: "http-302", wantURL: adsim.EWSURL, wantVia: "POX https://ad.fabrikam.test:", step: [2]string{OutcomeHTTPRedirect, "https://mail.fabrikam.test:"}},
		{scenario: "loop", wantErr: ErrRedirectLoop, step: [2]string{OutcomeFailed, "redirect loop"}},
		{scenario: "web-loop", wantURL: adsim.EWSURL, wantVia: "SOAP https://autodiscover.fabrikam.test:", step: [2]string{OutcomeFailed, "redirect loop"}},
		{scenario: "redirect-http", wantErr: ErrNotFound, step: [2]string{OutcomeRefused, "never sent over http"}},
		{scenario: "foreign", wantErr: &RefusedError{}, step: [2]string{OutcomeRefused, adsim.Foreign}},
		{scenario: "foreign", confirm: true, wantURL: adsim.ForeignEWSURL, wantVia: "POX https://" + adsim.Foreign + ":"},
		{scenario: "slow", timeout: 300 * time.Millisecond, wantURL: adsim.EWSURL, wantVia: "SOAP https://autodiscover.fabrikam.test:", step: [2]string{OutcomeFailed, "no answer within 300ms"}},
		{scenario: "html", wantURL: adsim.EWSURL, wantVia: "POX https://autodiscover.fabrikam.test:", step: [2]string{OutcomeFailed, "HTML"}},
		{scenario: "srv", wantURL: adsim.EWSURL, wantVia: "SOAP https://mail.fabrikam.test:", step: [2]string{OutcomeSkipped, "port 80 is not the https port"}},
		{scenario: "v2", wantURL: adsim.EWSURL, wantVia: "V2 https://" + adsim.V2Host + ":", step: [2]string{OutcomeNotFound, "no SRV record"}},
		{scenario: "none", wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		name := tc.scenario
		if tc.confirm {
			name += "-confirmed"
		}
		t.Run(name, func(t *testing.T) {
			_, o := lab(t, scenario(t, tc.scenario))
			var asked []string
			if tc.confirm {
				o.Confirm = func(_ context.Context, host string) bool { asked = append(asked, host); return true }
			}
			if tc.timeout > 0 {
				o.StepTimeout = tc.timeout
			}
			var seen int
			o.OnStep = func(Step) { seen++ }
			res, err := Discover(context.Background(), adsim.Address, o)
			if res == nil {
				t.Fatal("nil result")
			}
			if seen != len(res.Steps) || len(res.Steps) == 0 {
				t.Errorf("OnStep saw %d steps, result has %d", seen, len(res.Steps))
			}
			var re *RefusedError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v; steps:\n%s", err, dump(res))
			case errors.As(tc.wantErr, &re):
				if !errors.As(err, &re) || re.Host != adsim.Foreign || !strings.Contains(err.Error(), adsim.Foreign) {
					t.Fatalf("err = %v, want RefusedError naming %s", err, adsim.Foreign)
				}
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v; steps:\n%s", err, tc.wantErr, dump(res))
			}
			if res.EWSURL != tc.wantURL {
				t.Errorf("EWSURL %q, want %q", res.EWSURL, tc.wantURL)
			}
			if !strings.HasPrefix(res.Via, tc.wantVia) {
				t.Errorf("Via %q, want prefix %q", res.Via, tc.wantVia)
			}
			if tc.wantAddr != "" && res.Address != tc.wantAddr {
				t.Errorf("Address %q, want %q", res.Address, tc.wantAddr)
			}
			if tc.step[0] != "" && !hasStep(res, tc.step[0], tc.step[1]) {
				t.Errorf("no %s step mentioning %q:\n%s", tc.step[0], tc.step[1], dump(res))
			}
			if tc.confirm && (len(asked) != 1 || asked[0] != adsim.Foreign) {
				t.Errorf("Confirm asked about %v, want exactly [%s]", asked, adsim.Foreign)
			}
			if tc.wantURL != "" && res.Steps[len(res.Steps)-1].Outcome != OutcomeFound {
				t.Errorf("last step is not the answer:\n%s", dump(res))
			}
		})
	}
}

func dump(r *Result) string {
	var b strings.Builder
	for i, s := range r.Steps {
		b.WriteString(strings.Join([]string{"  ", string(rune('0' + i%10)), s.Method, s.URL, s.Outcome, s.Detail, "\n"}, " "))
	}
	return b.String()
}

// TestNoCredentialLeak runs every scenario with no confirmation and proves, from what the
// simulator received, that no Authorization header reached plain http or any host outside
// the address's domain. The confirmed foreign run is the positive control: the recorder
// does see credentials when they are allowed to go there.
func TestNoCredentialLeak(t *testing.T) {
	for _, name := range adsim.Scenarios() {
		t.Run(name, func(t *testing.T) {
			s, o := lab(t, scenario(t, name))
			o.StepTimeout = 500 * time.Millisecond
			_, _ = Discover(context.Background(), adsim.Address, o)
			authed := 0
			for _, rec := range s.Records() {
				if rec.Authorization == "" {
					continue
				}
				authed++
				if rec.Scheme != "https" {
					t.Errorf("credentials reached %s://%s%s", rec.Scheme, rec.Host, rec.Path)
				}
				if rec.Host != adsim.Domain && !strings.HasSuffix(rec.Host, "."+adsim.Domain) {
					t.Errorf("credentials reached unconfirmed host %s", rec.Host)
				}
				if strings.Contains(rec.Path, "autodiscover.json") {
					t.Errorf("credentials sent to the v2 endpoint on %s", rec.Host)
				}
			}
			if name == "pox" && authed == 0 {
				t.Error("the simulator recorded no credentials at all: the check proves nothing")
			}
		})
	}
	t.Run("foreign-confirmed", func(t *testing.T) {
		s, o := lab(t, scenario(t, "foreign"))
		o.Confirm = func(context.Context, string) bool { return true }
		if _, err := Discover(context.Background(), adsim.Address, o); err != nil {
			t.Fatal(err)
		}
		got := false
		for _, rec := range s.Records() {
			got = got || (rec.Host == adsim.Foreign && rec.Authorization != "")
		}
		if !got {
			t.Error("confirmed host received no credentials")
		}
	})
}

// TestCertificates: TLS is verified by default (no CA, no pin: every https step fails
// and no credentials are sent); a pin of the simulator's certificate is enough on its own.
func TestCertificates(t *testing.T) {
	s, o := lab(t, scenario(t, "pox"))
	o.TLS.CAFile = ""
	res, err := Discover(context.Background(), adsim.Address, o)
	if !errors.Is(err, ErrNotFound) || !hasStep(res, OutcomeFailed, "not trusted") {
		t.Fatalf("untrusted: err = %v\n%s", err, dump(res))
	}
	for _, rec := range s.Records() {
		if rec.Authorization != "" {
			t.Errorf("credentials reached %s over an unverified connection", rec.Host)
		}
	}
	o.TLS.PinSHA256 = s.LeafSHA256
	res, err = Discover(context.Background(), adsim.Address, o)
	if err != nil || res.EWSURL != adsim.EWSURL {
		t.Fatalf("pinned: err = %v\n%s", err, dump(res))
	}
}

func TestWrongPassword(t *testing.T) {
	_, o := lab(t, scenario(t, "pox"))
	o.Auth.Password = "wrong"
	res, err := Discover(context.Background(), adsim.Address, o)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if !hasStep(res, OutcomeFailed, "auth-failed") {
		t.Errorf("no auth-failed step:\n%s", dump(res))
	}
	for _, s := range res.Steps {
		if strings.Contains(s.Detail, "wrong") {
			t.Errorf("step detail carries the password: %q", s.Detail)
		}
	}
}

func TestTooManyRedirects(t *testing.T) {
	c := adsim.Config{
		Hosts:     map[string]adsim.Host{adsim.Domain: {POX: adsim.Endpoint{Mode: adsim.Answer}}},
		Mailboxes: map[string]adsim.Mailbox{},
		Absent:    []string{"autodiscover." + adsim.Domain, adsim.V2Host},
	}
	addr := func(i int) string { return "u" + string(rune('a'+i)) + "@" + adsim.Domain }
	for i := 0; i < 14; i++ {
		c.Mailboxes[addr(i)] = adsim.Mailbox{RedirectAddr: addr(i + 1)}
	}
	_, o := lab(t, c)
	res, err := Discover(context.Background(), addr(0), o)
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("err = %v; steps:\n%s", err, dump(res))
	}
	n := 0
	for _, s := range res.Steps {
		if s.Outcome == OutcomeRedirectAddr {
			n++
		}
	}
	if n != MaxHops+1 {
		t.Errorf("%d address redirects seen, want %d", n, MaxHops+1)
	}
}

func TestCancel(t *testing.T) {
	_, o := lab(t, scenario(t, "slow"))
	o.StepTimeout = 20 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	go func() { time.Sleep(300 * time.Millisecond); once.Do(cancel) }()
	start := time.Now()
	_, err := Discover(ctx, adsim.Address, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %s", d)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		addr string
		o    Options
		want string
	}{
		{"mara", Options{}, "not an e-mail address"},
		{"mara@", Options{}, "not an e-mail address"},
		{"mara@localhost", Options{}, "no valid domain"},
		{"mara@fab..test", Options{}, "no valid domain"},
		{"ma ra@fabrikam.test", Options{}, "cannot have"},
		{"mara@fabrikam.test", Options{Resolve: []string{"host:443"}}, "missing fields"},
		{"mara@fabrikam.test", Options{Resolve: []string{"host:99999:127.0.0.1"}}, "port"},
		{"mara@fabrikam.test", Options{Resolve: []string{"host:443:example.com"}}, "IP address"},
		{"mara@fabrikam.test", Options{DNSServer: "dns.example:53"}, "--dns"},
		{"mara@fabrikam.test", Options{TLS: transport.TLSOptions{PinSHA256: "xyz"}}, "invalid"},
	}
	for _, tc := range tests {
		res, err := Discover(context.Background(), tc.addr, tc.o)
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %+v: err = %v, want ErrInvalidInput saying %q", tc.addr, tc.o.Resolve, err, tc.want)
		}
		if res == nil || len(res.Steps) != 0 {
			t.Errorf("%q: steps were taken on bad input", tc.addr)
		}
	}
}

func TestParseResolve(t *testing.T) {
	tests := []struct{ in, host, port, addr string }{
		{"Autodiscover.Contoso.com:443:10.0.0.5", "autodiscover.contoso.com", "443", "10.0.0.5"},
		{"mail.contoso.com:8443:[::1]", "mail.contoso.com", "8443", "::1"},
		{"mail.contoso.com:80:fe80::1", "mail.contoso.com", "80", "fe80::1"},
	}
	for _, tc := range tests {
		h, p, a, err := ParseResolve(tc.in)
		if err != nil || h != tc.host || p != tc.port || a != tc.addr {
			t.Errorf("%s: %s %s %s %v", tc.in, h, p, a, err)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		scenario, password, configured string
		confirm                        bool
		status                         result.Status
		class                          result.Class
		code                           string
		summary                        string
	}{
		{scenario: "pox", status: result.Pass, class: result.OK, summary: "found via POX"},
		{scenario: "pox", configured: "https://MAIL.fabrikam.test/EWS/Exchange.asmx/", status: result.Pass, class: result.OK},
		{scenario: "pox", configured: "https://old.fabrikam.test/EWS/Exchange.asmx", status: result.Warn, class: result.OK, summary: "but the profile uses"},
		{scenario: "foreign", status: result.Fail, class: result.Other, code: "redirect-refused", summary: adsim.Foreign},
		{scenario: "loop", status: result.Fail, class: result.Other, code: "redirect-loop"},
		{scenario: "pox", password: "wrong", status: result.Fail, class: result.AuthFailed, code: "not-found"},
		{scenario: "none", status: result.Fail, class: result.Other, code: "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.scenario+tc.password+tc.configured, func(t *testing.T) {
			_, o := lab(t, scenario(t, tc.scenario))
			if tc.password != "" {
				o.Auth.Password = tc.password
			}
			res, err := Discover(context.Background(), adsim.Address, o)
			c := Check(res, err, tc.configured)
			if c.ID != result.CheckAutodiscover || c.Status != tc.status || c.Class != tc.class || c.Code != tc.code ||
				!strings.Contains(c.Summary, tc.summary) {
				t.Errorf("check %+v", c)
			}
			if len(c.Evidence) != len(res.Steps) || !strings.HasPrefix(c.Evidence[0], "1. POST POX https://fabrikam.test:") {
				t.Errorf("evidence %q", c.Evidence)
			}
			for _, e := range c.Evidence {
				if tc.password != "" && strings.Contains(e, tc.password) {
					t.Errorf("evidence carries the password: %s", e)
				}
			}
		})
	}
}

func TestCheckPlainHTTPURL(t *testing.T) {
	c := Check(&Result{EWSURL: "http://mail.fabrikam.test/EWS/Exchange.asmx", Via: "POX https://fabrikam.test/autodiscover/autodiscover.xml"}, nil, "")
	if c.Status != result.Warn || !strings.Contains(c.Summary, "plain-http") {
		t.Errorf("check %+v", c)
	}
	c = Check(nil, context.Canceled, "")
	if c.Status != result.Skip {
		t.Errorf("cancelled: %+v", c)
	}
}
