package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/result"
)

// cli runs deputy-cli in-process with its own streams and environment.
func cli(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] }, isTTY: func(any) bool { return false }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

type simInfo struct{ URL, SHA256, User, Password, Domain string }

// startSimCommand runs `deputy-cli sim` as a user would and reads its first stdout line.
func startSimCommand(t *testing.T, args ...string) simInfo {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }, isTTY: func(any) bool { return false }}
	go func() { done <- run(ctx, e, append([]string{"sim"}, args...)); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("sim exited %d", code)
			}
		case <-time.After(5 * time.Second):
			t.Error("sim did not stop within 5 s of the interrupt")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("sim printed nothing: %v", err)
	}
	go io.Copy(io.Discard, pr)
	var s simInfo
	if err := json.Unmarshal([]byte(line), &s); err != nil || s.URL == "" || len(s.SHA256) != 64 || s.User == "" || s.Password == "" || s.Domain == "" {
		t.Fatalf("sim's first line %q: %v", line, err)
	}
	return s
}

func TestSimThenDiagnose(t *testing.T) {
	s := startSimCommand(t, "--mailboxes", "30")
	dir := t.TempDir()
	list := filepath.Join(dir, "mailboxes.csv")
	var b strings.Builder
	b.WriteString("\"DisplayName\",\"PrimarySmtpAddress\"\r\n")
	targets := exchangesim.Demo(30).Targets() // the same directory the sim command serves
	for i, a := range targets {
		b.WriteString("\"User " + strconv.Itoa(i) + "\",\"" + a + "\"\r\n")
	}
	if err := os.WriteFile(list, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		user string
		auth string
	}{
		{"basic-upn", s.User, "basic"},
		{"ntlm-upn", s.User, "ntlm"},
		{"ntlm-domain-user", s.Domain + `\` + strings.SplitN(s.User, "@", 2)[0], "ntlm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := cli(t, nil, s.Password+"\n", "diagnose", "--url", s.URL, "--pin-sha256", colons(s.SHA256),
				"--auth", tc.auth, "--user", tc.user, "--password-stdin", "--mailboxes", list, "--json")
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, stderr, out)
			}
			var r result.Result
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("--json output does not parse: %v", err)
			}
			if r.Schema != result.Schema || r.Verdict != result.Pass || r.Summary.Passed != 30 || len(r.Mailboxes) != 30 {
				t.Fatalf("schema %q verdict %s passed %d of %d", r.Schema, r.Verdict, r.Summary.Passed, len(r.Mailboxes))
			}
			if strings.Contains(out+stderr, s.Password) || strings.Contains(out+stderr, base64.StdEncoding.EncodeToString([]byte(s.Password))) {
				t.Error("the password appears in the output")
			}
		})
	}
	t.Run("wrong pin exits 1 and names the fix", func(t *testing.T) {
		code, out, _ := cli(t, map[string]string{"DEPUTY_PASSWORD": s.Password}, "", "diagnose", "--url", s.URL,
			"--pin-sha256", strings.Repeat("0", 64), "--auth", "basic", "--user", s.User, targets[0])
		if code != exitFailed || !strings.Contains(out, "--pin-sha256 "+s.SHA256) {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("wrong password exits 1", func(t *testing.T) {
		code, out, _ := cli(t, map[string]string{"DEPUTY_PASSWORD": "nope"}, "", "diagnose", "--url", s.URL,
			"--pin-sha256", s.SHA256, "--auth", "ntlm", "--user", s.User, targets[0])
		if code != exitFailed || !strings.Contains(out, "could not sign in") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
}

func TestDiagnoseUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("ok@contoso.com\nnot an address\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"diagnose", "--user", "a@b.c", "x@contoso.com"}, "--url"},
		{"bad url", []string{"diagnose", "--url", "mail.contoso.com/EWS", "--user", "a@b.c"}, "https://"},
		{"http refused", []string{"diagnose", "--url", "http://mail/EWS/Exchange.asmx", "--user", "a@b.c"}, "allow"},
		{"bad mailbox", []string{"diagnose", "--url", "https://m/EWS/Exchange.asmx", "--user", "a@b.c", "not-an-address"}, "not-an-address"},
		{"rejected line named", []string{"diagnose", "--url", "https://m/EWS/Exchange.asmx", "--user", "a@b.c", "--mailboxes", bad}, ":2:"},
		{"bad pin", []string{"diagnose", "--url", "https://m/EWS/Exchange.asmx", "--user", "a@b.c", "--pin-sha256", "abcd"}, "64"},
		{"concurrency", []string{"diagnose", "--url", "https://m/EWS/Exchange.asmx", "--user", "a@b.c", "--concurrency", "40"}, "27"},
		{"report ext", []string{"diagnose", "--url", "https://m/EWS/Exchange.asmx", "--user", "a@b.c", "--report", "x.docx"}, ".pdf"},
		{"unknown flag", []string{"diagnose", "--password", "hunter2"}, "password"},
		{"unknown command", []string{"diagnoze"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(t, map[string]string{"DEPUTY_PASSWORD": "pw"}, "", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
		})
	}
}

func TestDemoCommand(t *testing.T) {
	code, out, stderr := cli(t, nil, "", "demo", "--json", "--write-test")
	if code != exitFailed {
		t.Fatalf("demo exit %d (want 1: the demo contains failures)\n%s", code, stderr)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	classes := map[result.Class]bool{}
	for _, m := range r.Mailboxes {
		classes[m.Class] = true
	}
	for _, c := range result.Classes {
		if !classes[c] {
			t.Errorf("demo shows no %s mailbox", c)
		}
	}
	code, out, _ = cli(t, nil, "", "demo")
	for _, want := range []string{"✘ impersonation", "impersonation-denied", "Fix:", "New-ManagementRoleAssignment", "FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("human output lacks %q", want)
		}
	}
	if code != exitFailed {
		t.Errorf("exit %d", code)
	}
}

func colons(hex string) string {
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex[i : i+2]))
	}
	return b.String()
}

// Ctrl+C: in-flight work stops within a second, the partial result is printed, exit 3.
func TestDiagnoseCancelled(t *testing.T) {
	srv, err := exchangesim.Start(exchangesim.Demo(400), exchangesim.Options{Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return map[string]string{"DEPUTY_PASSWORD": srv.Password}[k] }, isTTY: func(any) bool { return false }}
	args := append([]string{"diagnose", "--url", srv.URL, "--pin-sha256", srv.SHA256, "--auth", "ntlm", "--user", srv.User, "--concurrency", "4"}, srv.Scenario().Targets()...)
	interrupt, _ := ctx.Deadline()
	code := run(ctx, e, args)
	if late := time.Since(interrupt); late > time.Second {
		t.Errorf("returned %s after the interrupt", late)
	}
	if code != exitCancelled {
		t.Fatalf("exit %d, want 3\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Cancelled: the results above are partial.") || !strings.Contains(out.String(), "passed") {
		t.Fatalf("no partial result printed:\n%s", out.String())
	}
}

// TestDemoReport: demo --report writes each format, and the report explains the result on
// its own: the verdict and the fixes.
func TestDemoReport(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		file string
		has  []string // for HTML: the verdict and a fix
	}{
		{"html", []string{"demo"}, "x.html", []string{"<!DOCTYPE html>", `class="summary fail"`, "Failed", "New-ManagementRoleAssignment"}},
		{"pdf", []string{"demo"}, "x.pdf", []string{"%PDF-"}},
		{"json", []string{"demo"}, "x.json", nil},
		{"exo both json", []string{"demo", "--scenario", "exo-demo", "--protocol", "both"}, "both.json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the demo mostly waits out its throttled mailbox's back-off
			path := filepath.Join(dir, tt.file)
			code, _, stderr := cli(t, nil, "", append(tt.args, "--progress", "none", "--report", path)...)
			if code != exitFailed { // the demos contain failures
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "report written to "+path) {
				t.Errorf("stderr does not say where the report is: %q", stderr)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.has {
				if !bytes.Contains(b, []byte(want)) {
					t.Errorf("%s lacks %q", tt.file, want)
				}
			}
			if filepath.Ext(path) != ".json" {
				return
			}
			var r result.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("%s does not parse: %v", tt.file, err)
			}
			fixes := 0
			for _, c := range r.Checks {
				if c.Remediation != "" {
					fixes++
				}
			}
			for _, m := range r.Mailboxes {
				if m.Remediation != "" {
					fixes++
				}
			}
			if r.Schema != result.Schema || r.Verdict != result.Fail || fixes == 0 || len(r.Mailboxes) == 0 {
				t.Errorf("schema %q verdict %q, %d remediations, %d mailboxes", r.Schema, r.Verdict, fixes, len(r.Mailboxes))
			}
			if tt.name == "exo both json" && (r.Profile.Protocol != "both" || r.Migration == nil) {
				t.Errorf("protocol %q, migration %v", r.Profile.Protocol, r.Migration)
			}
		})
	}
}
