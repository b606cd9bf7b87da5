package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	adsim "deputy/internal/exchangesim/autodiscover"
)

// adLab starts a simulated deployment and returns the flags that aim the real code path
// at it: --resolve for every host, the test CA, the sim's DNS server and ports.
func adLab(t *testing.T, scenario string) (*adsim.Server, []string) {
	t.Helper()
	c, err := adsim.Scenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	s, err := adsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--ca-file", ca, "--dns", s.DNSAddr, "--https-port", strconv.Itoa(s.HTTPSPort),
		"--http-port", strconv.Itoa(s.HTTPPort), "--v2-host", adsim.V2Host, "--timeout", "2s"}
	for _, r := range s.Resolve() {
		flags = append(flags, "--resolve", r)
	}
	return s, flags
}

type adRun struct {
	stdin string
	env   map[string]string
	tty   bool
}

func (r adRun) do(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(r.stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return r.env[k] }, isTTY: func(any) bool { return r.tty }}
	code := run(context.Background(), e, append([]string{"autodiscover"}, args...))
	return code, out.String(), errb.String()
}

func TestAutodiscoverCommand(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		run      adRun
		extra    []string // flags after the lab's
		stdin    bool     // password on stdin (else $DEPUTY_PASSWORD)
		code     int
		stdout   []string
		stderr   []string
		json     bool
		pin      bool // trust by --pin-sha256 instead of --ca-file
	}{
		{name: "pox", scenario: "pox", stdin: true, code: exitOK,
			stdout: []string{"EWS URL:      " + adsim.EWSURL, "Found via:    POX https://fabrikam.test:", "found"}},
		{name: "pinned certificate", scenario: "pox", pin: true, code: exitOK, stdout: []string{"EWS URL:      " + adsim.EWSURL}},
		{name: "http 302 chain shows the path", scenario: "http-302", code: exitOK,
			stdout: []string{"EWS URL:      " + adsim.EWSURL, "HTTP http://autodiscover.fabrikam.test:", "(http-redirect)", "POX https://ad.fabrikam.test:"}},
		{name: "redirect address", scenario: "redirect-addr", code: exitOK,
			stdout: []string{adsim.RedirectedEWSURL, "Address:      " + adsim.RedirectedAddress + " (redirected from " + adsim.Address + ")"}},
		{name: "srv", scenario: "srv", code: exitOK, stdout: []string{"SRV _autodiscover._tcp.fabrikam.test", "skipped"}},
		{name: "foreign, json: fail closed", scenario: "foreign", json: true, code: exitFailed,
			stderr: []string{"refused to send credentials to " + adsim.Foreign, "--trust-redirect " + adsim.Foreign}},
		{name: "foreign, no tty: fail closed", scenario: "foreign", code: exitFailed,
			stdout: []string{"No EWS URL found", "refused"}, stderr: []string{adsim.Foreign}},
		{name: "foreign, trusted", scenario: "foreign", extra: []string{"--trust-redirect", strings.ToUpper(adsim.Foreign)}, code: exitOK,
			stdout: []string{adsim.ForeignEWSURL}},
		{name: "foreign, tty yes", scenario: "foreign", run: adRun{tty: true, stdin: "y\n"}, code: exitOK,
			stdout: []string{adsim.ForeignEWSURL}, stderr: []string{"Autodiscover wants to send your credentials to " + adsim.Foreign + " — allow? [y/N]"}},
		{name: "foreign, tty no", scenario: "foreign", run: adRun{tty: true, stdin: "\n"}, code: exitFailed,
			stderr: []string{"allow? [y/N]", "refused to send credentials to " + adsim.Foreign}},
		{name: "redirect to http", scenario: "redirect-http", code: exitFailed, stdout: []string{"credentials are never sent over http"}},
		{name: "loop", scenario: "loop", code: exitFailed, stderr: []string{"redirect loop"}},
		{name: "nothing", scenario: "none", json: true, code: exitFailed, stderr: []string{"found no EWS URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, flags := adLab(t, tc.scenario)
			r := tc.run
			if tc.pin {
				flags = append(flags[2:], "--pin-sha256", s.LeafSHA256)
			}
			args := append([]string{adsim.Address, "--user", s.User}, flags...)
			if tc.stdin {
				args = append(args, "--password-stdin")
				r.stdin = s.Password + "\n" + r.stdin
			} else {
				r.env = map[string]string{"DEPUTY_PASSWORD": s.Password}
			}
			if tc.json {
				args = append(args, "--json")
			}
			code, out, errs := r.do(t, append(args, tc.extra...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(out+errs, s.Password) {
				t.Error("the password appears in the output")
			}
			if tc.json {
				var doc struct {
					Found       bool
					RefusedHost string
					EWSURL      string `json:"ewsUrl"`
					Steps       []struct{ URL, Outcome string }
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("--json output does not parse: %v\n%s", err, out)
				}
				if doc.Found != (tc.code == exitOK) || len(doc.Steps) == 0 {
					t.Errorf("json: found %v, %d steps", doc.Found, len(doc.Steps))
				}
				if tc.scenario == "foreign" && doc.RefusedHost != adsim.Foreign {
					t.Errorf("json refusedHost %q", doc.RefusedHost)
				}
			}
			// Whatever happened, no credentials went over http or to an unconfirmed host.
			allowed := code == exitOK && tc.scenario == "foreign"
			for _, rec := range s.Records() {
				if rec.Authorization == "" {
					continue
				}
				if rec.Scheme != "https" || (!allowed && !strings.HasSuffix("."+rec.Host, "."+adsim.Domain)) {
					t.Errorf("credentials reached %s://%s", rec.Scheme, rec.Host)
				}
			}
		})
	}
}

func TestAutodiscoverUsage(t *testing.T) {
	tests := []struct {
		name string
		run  adRun
		args []string
		want string
	}{
		{"no address", adRun{}, nil, "needs an e-mail address"},
		{"two addresses", adRun{}, []string{"a@contoso.com", "b@contoso.com"}, "one address at a time"},
		{"not an address", adRun{}, []string{"contoso.com"}, "not an e-mail address"},
		{"user without password", adRun{}, []string{"a@contoso.com", "--user", "svc@contoso.com"}, "--password-stdin or set DEPUTY_PASSWORD"},
		{"empty stdin password", adRun{stdin: "\n"}, []string{"a@contoso.com", "--user", "svc@contoso.com", "--password-stdin"}, "needs a password"},
		{"password-stdin alone", adRun{stdin: "pw\n"}, []string{"a@contoso.com", "--password-stdin"}, "needs --user"},
		{"bad auth", adRun{env: map[string]string{"DEPUTY_PASSWORD": "pw"}}, []string{"a@contoso.com", "--user", "u@contoso.com", "--auth", "kerberos"}, "use basic or ntlm"},
		{"bad resolve", adRun{}, []string{"a@contoso.com", "--resolve", "contoso.com:443"}, "HOST:PORT:ADDRESS"},
		{"bad dns", adRun{}, []string{"a@contoso.com", "--dns", "dns.contoso.com"}, "--dns"},
		{"bad pin", adRun{}, []string{"--pin-sha256", "12:34", "a@contoso.com"}, "pin"},
		{"missing CA file", adRun{}, []string{"a@contoso.com", "--ca-file", "/nonexistent/ca.pem"}, "CA file"},
		{"bad trust host", adRun{}, []string{"a@contoso.com", "--trust-redirect", "https://evil.test/x"}, "expected a host name"},
		{"unknown flag", adRun{}, []string{"a@contoso.com", "--insecure"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := tc.run.do(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %s", code, exitUsage, errs)
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errs)
			}
			if out != "" {
				t.Errorf("stdout not empty on a usage error: %s", out)
			}
		})
	}
}
