package main

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"deputy/internal/setup"
)

const demoResultPath = "../../internal/report/testdata/demo-result.json"

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	bad := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notJSON := bad("x.json", "<html>")
	noSchema := bad("y.json", `{"verdict":"pass"}`)
	v2 := bad("z.json", `{"schema":"deputy.diagnostics/v2"}`)
	two := bad("two.json", `{"schema":"deputy.diagnostics/v1"} {}`)
	script := bad("setup.ps1", "\xEF\xBB\xBF# my setup\r\n$Account = 'svc@contoso.com'\r\n")
	demo, err := os.ReadFile(demoResultPath)
	if err != nil {
		t.Fatal(err)
	}
	// Without --script the report carries the script diagnose --report would include.
	r, err := reportReadResult(nil, demoResultPath)
	if err != nil {
		t.Fatal(err)
	}
	generated := setup.ForResult(r)
	if !strings.Contains(generated, "Set-StrictMode -Version Latest") {
		t.Fatalf("no setup script for the demo result: %q", generated)
	}

	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
		out    string // file that must exist afterwards
		magic  string
		has    string
		not    string // text the file must not hold
	}{
		{"html", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "r.html")}, exitOK, "fail, 120 mailboxes (110 passed, 8 failed)", "r.html", "<!DOCTYPE html>", "Outside the impersonation scope", ""},
		{"html has the setup script for the situation", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "g.html")}, exitOK, "Wrote", "g.html", "<!DOCTYPE html>", "<pre>" + html.EscapeString(strings.TrimSpace(generated)) + "</pre>", ""},
		{"pdf", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "r.pdf")}, exitOK, "Wrote", "r.pdf", "%PDF-", "", ""},
		{"json from stdin", string(demo), []string{"report", "--in", "-", "--out", filepath.Join(dir, "r.json")}, exitOK, "Wrote", "r.json", "{\n  \"schema\": \"deputy.diagnostics/v1\"", "", ""},
		{"with script", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "s.html"), "--script", script}, exitOK, "Wrote", "s.html", "<!DOCTYPE html>", "$Account = &#39;svc@contoso.com&#39;", "Set-StrictMode"},
		{"missing flags", "", []string{"report", "--in", demoResultPath}, exitUsage, "--in and --out are required", "", "", "", ""},
		{"unknown format", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "r.docx")}, exitUsage, `unknown format ".docx"`, "", "", "", ""},
		{"not json", "", []string{"report", "--in", notJSON, "--out", filepath.Join(dir, "a.html")}, exitUsage, "not valid JSON", "", "", "", ""},
		{"no schema", "", []string{"report", "--in", noSchema, "--out", filepath.Join(dir, "a.html")}, exitUsage, `no "schema" field`, "", "", "", ""},
		{"other schema", "", []string{"report", "--in", v2, "--out", filepath.Join(dir, "a.html")}, exitUsage, "deputy.diagnostics/v2", "", "", "", ""},
		{"two documents", "", []string{"report", "--in", two, "--out", filepath.Join(dir, "a.html")}, exitUsage, "more than one JSON document", "", "", "", ""},
		{"missing input", "", []string{"report", "--in", filepath.Join(dir, "nope.json"), "--out", filepath.Join(dir, "a.html")}, exitUsage, "nope.json", "", "", "", ""},
		{"missing script", "", []string{"report", "--in", demoResultPath, "--out", filepath.Join(dir, "a.html"), "--script", filepath.Join(dir, "nope.ps1")}, exitUsage, "--script", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, errOut := scriptCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if tt.out == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join(dir, tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(tt.magic)) {
				t.Errorf("%s starts %q", tt.out, b[:min(40, len(b))])
			}
			if tt.has != "" && !bytes.Contains(b, []byte(tt.has)) {
				t.Errorf("%s lacks %q", tt.out, tt.has)
			}
			if tt.not != "" && bytes.Contains(b, []byte(tt.not)) {
				t.Errorf("%s has %q", tt.out, tt.not)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a.html")); err == nil {
		t.Error("a failed report left a file behind")
	}
}
