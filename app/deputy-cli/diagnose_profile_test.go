package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/result"
)

// startSimServer serves sc in-process for the test, so the test can read its counters.
func startSimServer(t *testing.T, sc *exchangesim.Scenario, o exchangesim.Options) *exchangesim.Server {
	t.Helper()
	srv, err := exchangesim.Start(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func checkStatus(r result.Result, id string) result.Status {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

// TestDiagnoseProfile runs saved profiles as Task Scheduler would: the password from the
// keychain, or from --password-stdin / $DEPUTY_PASSWORD, which win over the saved one
// without the keychain being read at all; other flags override the profile's fields.
func TestDiagnoseProfile(t *testing.T) {
	srv := startSimServer(t, exchangesim.Demo(8), exchangesim.Options{Latency: 20 * time.Millisecond})
	targets := srv.Scenario().Targets()
	dir := filepath.Join(t.TempDir(), "cfg")
	list := profWriteFile(t, t.TempDir(), "mailboxes.txt", strings.Join(targets, "\n")+"\n")
	add := func(name string, extra ...string) []string {
		return append([]string{"profile", "add", name, "--url", srv.URL, "--pin-sha256", srv.SHA256, "--auth", "ntlm",
			"--user", srv.User, "--mailboxes", list, "--concurrency", "1"}, extra...)
	}
	const wrong = "Not-The-Password-1"
	type tc struct {
		name      string
		vars      map[string]string
		stdin     string
		args      []string // after diagnose --profile NAME
		exit      int
		auth      result.Status // the auth check's status ("" = not looked at)
		mailboxes int
		peak      func(int64) bool // the simulator's peak concurrency
		stderr    string
	}
	runCases := func(t *testing.T, profileName string, cases []tc) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				srv.ResetCounters()
				args := append([]string{"diagnose", "--profile", profileName, "--json", "--progress", "none"}, c.args...)
				code, out, errs := profCLI(t, dir, c.vars, c.stdin, args...)
				if code != c.exit {
					t.Fatalf("exit %d, want %d\n%s\n%s", code, c.exit, errs, out)
				}
				if c.stderr != "" && !strings.Contains(errs, c.stderr) {
					t.Errorf("stderr lacks %q:\n%s", c.stderr, errs)
				}
				if c.exit == exitUsage {
					return
				}
				var r result.Result
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("--json: %v", err)
				}
				if r.Profile.Name != profileName {
					t.Errorf("result names profile %q", r.Profile.Name)
				}
				if c.auth != "" && checkStatus(r, result.CheckAuth) != c.auth {
					t.Errorf("auth check %q, want %q", checkStatus(r, result.CheckAuth), c.auth)
				}
				if len(r.Mailboxes) != c.mailboxes {
					t.Errorf("%d mailboxes, want %d", len(r.Mailboxes), c.mailboxes)
				}
				if peak := srv.Counters().PeakConcurrency; c.peak != nil && !c.peak(peak) {
					t.Errorf("peak concurrency %d", peak)
				}
			})
		}
	}
	one := func(p int64) bool { return p == 1 }

	// A profile without a saved password: the one given at run time is used and the
	// keychain is never asked, so this part needs no Secret Service.
	if code, out, errs := profCLI(t, dir, nil, "", add("Unsaved")...); code != exitOK {
		t.Fatalf("profile add: %d\n%s%s", code, out, errs)
	}
	runCases(t, "Unsaved", []tc{
		{name: "password from stdin", stdin: srv.Password + "\n", args: []string{"--password-stdin"}, exit: exitOK, auth: result.Pass, mailboxes: len(targets), peak: one},
		{name: "password from the environment", vars: map[string]string{"DEPUTY_PASSWORD": srv.Password}, exit: exitOK, auth: result.Pass, mailboxes: len(targets), peak: one},
	})

	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("the rest needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	if code, out, errs := profCLI(t, dir, nil, srv.Password+"\n", add("Saved", "--password-stdin")...); code != exitOK || !strings.Contains(out, "password: saved") {
		t.Fatalf("profile add --password-stdin: %d\n%s%s", code, out, errs)
	}
	runCases(t, "Saved", []tc{
		{name: "password from the keychain", exit: exitOK, auth: result.Pass, mailboxes: len(targets), peak: one},
		{name: "stdin wins over the keychain", stdin: wrong + "\n", args: []string{"--password-stdin"}, exit: exitFailed, auth: result.Fail},
		{name: "environment wins over the keychain", vars: map[string]string{"DEPUTY_PASSWORD": wrong}, exit: exitFailed, auth: result.Fail},
		{name: "right password from stdin", stdin: srv.Password + "\n", args: []string{"--password-stdin"}, exit: exitOK, auth: result.Pass, mailboxes: len(targets)},
		{name: "--concurrency overrides", args: []string{"--concurrency", "4"}, exit: exitOK, mailboxes: len(targets), peak: func(p int64) bool { return p >= 2 && p <= 4 }},
		{name: "a mailbox argument replaces the list", args: []string{targets[3]}, exit: exitOK, mailboxes: 1},
		{name: "--auth overrides", args: []string{"--auth", "basic", targets[0]}, exit: exitOK, auth: result.Pass, mailboxes: 1},
	})
	runCases(t, "Unsaved", []tc{
		{name: "no password anywhere", exit: exitUsage, stderr: `profile "Unsaved" has no password saved`},
	})
}
