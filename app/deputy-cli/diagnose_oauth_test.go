package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/transport"
)

type exoSimInfo struct{ URL, SHA256, Authority, Tenant, ClientID, ClientSecret string }

// startEXOSim runs `deputy-cli sim --scenario exo-demo` and reads its first line.
func startEXOSim(t *testing.T) exoSimInfo {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }, isTTY: func(any) bool { return false }}
	go func() { done <- run(ctx, e, []string{"sim", "--scenario", "exo-demo"}); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("sim did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	var s exoSimInfo
	if err := json.Unmarshal([]byte(line), &s); err != nil || s.URL == "" || s.Authority == "" || s.Tenant == "" || s.ClientID == "" || s.ClientSecret == "" || len(s.SHA256) != 64 {
		t.Fatalf("first line %q: %v", line, err)
	}
	return s
}

func TestDiagnoseOAuthAgainstSim(t *testing.T) {
	s := startEXOSim(t)
	base := []string{"diagnose", "--tenant", s.Tenant, "--client-id", s.ClientID, "--authority", s.Authority, "--pin-sha256", s.SHA256,
		"--url", s.URL, "--json", "--trace", "--progress", "none"}
	dir := t.TempDir()
	x, err := exchangesim.EXODemo()
	if err != nil {
		t.Fatal(err)
	}
	// The demo's certificate is fresh per EXODemo call, so only the simulator's own can
	// sign in: a foreign one must be refused by Entra (AADSTS700027).
	foreign := filepath.Join(dir, "foreign.pem")
	if err := os.WriteFile(foreign, x.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		vars      map[string]string
		stdin     string
		args      []string
		exit      int
		check     string // check id expected to fail ("" = none)
		code      string
		mailboxes int
	}{
		{"secret via stdin", nil, s.ClientSecret + "\n", []string{"--auth", "oauth-app-secret", "--password-stdin", "anna.berg@fabrikam.test", "ben.carter@fabrikam.test"}, exitOK, "", "", 2},
		{"secret via environment", map[string]string{"DEPUTY_CLIENT_SECRET": s.ClientSecret}, "", []string{"--auth", "oauth-app-secret", "anna.berg@fabrikam.test"}, exitOK, "", "", 1},
		{"out of scope", nil, s.ClientSecret + "\n", []string{"--auth", "oauth-app-secret", "--password-stdin", "ceo@fabrikam.test"}, exitFailed, result.CheckImpersonation, "", 1},
		{"wrong secret", nil, "wrong\n", []string{"--auth", "oauth-app-secret", "--password-stdin", "anna.berg@fabrikam.test"}, exitFailed, result.CheckToken, "AADSTS7000215", 0},
		{"foreign certificate", nil, "", []string{"--auth", "oauth-app-cert", "--cert", foreign, "anna.berg@fabrikam.test"}, exitFailed, result.CheckToken, "AADSTS700027", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, tc.vars, tc.stdin, append(append([]string{}, base...), tc.args...)...)
			if code != tc.exit {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.exit, errs, out)
			}
			var r result.Result
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Profile.Environment != result.EXO || r.Profile.ClientID != s.ClientID || len(r.Mailboxes) != tc.mailboxes {
				t.Fatalf("profile %+v, %d mailboxes", r.Profile, len(r.Mailboxes))
			}
			if tc.check != "" {
				for _, c := range r.Checks {
					if c.ID == tc.check && (c.Status != result.Fail || (tc.code != "" && c.Code != tc.code)) {
						t.Fatalf("%s: %s %s %s", c.ID, c.Status, c.Code, c.Summary)
					}
				}
			}
			if strings.Contains(out+errs, s.ClientSecret) {
				t.Fatal("the client secret is in the output")
			}
			if strings.Contains(out, "eyJ") {
				t.Fatal("something JWT-like (a token) is in the output")
			}
		})
	}
}

func TestDiagnoseOAuthUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"diagnose", "--auth", "oauth-app-secret", "--client-id", "x", "a@b.test"}, "--tenant"},
		{[]string{"diagnose", "--auth", "oauth-app-secret", "--tenant", "t", "--client-id", "x", "a@b.test"}, "client secret"},
		{[]string{"diagnose", "--auth", "oauth-app-cert", "--tenant", "t", "--client-id", "x", "a@b.test"}, "--cert"},
		{[]string{"diagnose", "--auth", "oauth-app-cert", "--tenant", "t", "--client-id", "x", "--cert", "/nonexistent.pfx", "a@b.test"}, "--cert"},
		{[]string{"diagnose", "--auth", "oauth-app-secret", "--tenant", "t", "--client-id", "x", "--cloud", "mars", "a@b.test"}, "--cloud"},
	}
	for _, tc := range cases {
		code, _, errs := cli(t, map[string]string{"DEPUTY_CLIENT_SECRET": map[bool]string{true: "", false: "s"}[strings.Contains(tc.want, "secret")]}, "", tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errs)
		}
	}
}

func TestDemoEXO(t *testing.T) {
	for _, auth := range []string{"oauth-app-secret", "oauth-app-cert", "oauth-delegated", "basic"} {
		t.Run(auth, func(t *testing.T) {
			code, out, errs := cli(t, nil, "", "demo", "--scenario", "exo-demo", "--auth", auth, "--json", "--progress", "none")
			if code != exitFailed { // the demo has failures to show
				t.Fatalf("exit %d\n%s", code, errs)
			}
			var r result.Result
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Profile.Auth != auth || r.Checks[0].ID == "" {
				t.Fatalf("%+v", r.Profile)
			}
			want := map[string]string{"oauth-app-secret": "impersonation-denied", "oauth-app-cert": "impersonation-denied", "oauth-delegated": "no-impersonation-right"}[auth]
			found := want == ""
			for _, m := range r.Mailboxes {
				found = found || string(m.Class) == want
			}
			if !found {
				t.Errorf("no %s mailbox in the %s demo", want, auth)
			}
		})
	}
}

// Device code from the CLI: the code is shown on stderr, a "person" enters it on the
// verification page, the diagnosis then runs with the user's token.
func TestDiagnoseDeviceCode(t *testing.T) {
	s := startEXOSim(t)
	pr, pw := io.Pipe()
	var out strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: pw, getenv: func(string) string { return "" }, isTTY: func(any) bool { return false }}
	hc, err := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	approved := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 4 && strings.Contains(sc.Text(), "enter the code") {
				page, code := f[len(f)-8], f[len(f)-3]
				resp, err := hc.PostForm(page, url.Values{"user_code": {code}})
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("verification page answered %d", resp.StatusCode)
					}
				}
				approved <- err
				if err != nil {
					cancel()
				}
			}
		}
	}()
	code := run(ctx, e, []string{"diagnose", "--auth", "oauth-delegated", "--device-code", "--tenant", s.Tenant,
		"--client-id", exchangesim.EXODemoPublicID, "--authority", s.Authority, "--pin-sha256", s.SHA256, "--url", s.URL,
		"--json", "--progress", "none", "anna.berg@fabrikam.test"})
	pw.Close()
	select {
	case err := <-approved:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("no device code was shown")
	}
	var r result.Result
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	for _, c := range r.Checks {
		if c.ID == result.CheckToken && (c.Status != result.Pass || !strings.Contains(c.Summary, exchangesim.EXODemoUser)) {
			t.Fatalf("token check %+v", c)
		}
	}
	if len(r.Mailboxes) != 1 || r.Mailboxes[0].Class != result.NoImpersonationRight {
		t.Fatalf("%+v", r.Mailboxes)
	}
}
