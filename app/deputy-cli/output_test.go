package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// TestProgressLine: the live line on a terminal redraws in place and its ETA is the
// remaining work over the rate, not truncated to whole seconds first.
func TestProgressLine(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		done, total int
		rate        float64
		want        string
		notWant     string
	}{
		{"half a second left", "tty", 10, 20, 20, "\r\033[Kimpersonation: 10/20 mailboxes (9 ok, 1 failed), 20/s, ETA 500ms", ""},
		{"1.5 s left, not 1 s", "tty", 17, 20, 2, "17/20 mailboxes (16 ok, 1 failed), 2/s, ETA 1.5s", "ETA 1s"},
		{"minutes", "tty", 0, 600, 4, "0/600 mailboxes (0 ok, 0 failed), 4/s, ETA 2m30s", ""},
		{"no rate yet", "tty", 0, 5, 0, "0/5 mailboxes (0 ok, 0 failed), 0/s, ETA –", ""},
		{"plain has no escapes", "plain", 10, 20, 20, "impersonation: 10/20 mailboxes (9 ok, 1 failed), 20/s, ETA 500ms\n", "\033"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			p := &progress{w: &b, mode: tt.mode}
			p.Observe(impersonation.Event{Kind: impersonation.CheckStarted, Check: &result.Check{ID: result.CheckImpersonation}})
			failed := min(tt.done, 1)
			p.Observe(impersonation.Event{Kind: impersonation.MailboxFinished, Done: tt.done, Total: tt.total, Passed: tt.done - failed, Failed: failed, Rate: tt.rate})
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("got %q, want it to contain %q", b.String(), tt.want)
			}
			if tt.notWant != "" && strings.Contains(b.String(), tt.notWant) {
				t.Errorf("got %q, which contains %q", b.String(), tt.notWant)
			}
			if tt.mode == "tty" {
				b.Reset()
				p.clear()
				if b.String() != "\r\033[K" {
					t.Errorf("clear wrote %q; the line would stay on screen", b.String())
				}
			}
		})
	}
}

// TestProgressOnTerminal: with stderr a terminal, --progress auto draws the live line
// there (and nothing of it reaches stdout).
func TestProgressOnTerminal(t *testing.T) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		isTTY: func(f any) bool { return f == any(&errb) }}
	if code := run(context.Background(), e, []string{"demo", "--json"}); code != exitFailed {
		t.Fatalf("demo exit %d\n%s", code, errb.String())
	}
	line := regexp.MustCompile(`\r\033\[K[a-z-]+: \d+/\d+ mailboxes \(\d+ ok, \d+ failed\), \d+/s, ETA \S+`)
	if !line.MatchString(errb.String()) {
		t.Errorf("no live progress line on the terminal:\n%q", errb.String())
	}
	if !strings.HasSuffix(errb.String(), "\r\033[K") {
		t.Errorf("the progress line was not cleared at the end: %q", errb.String()[max(0, errb.Len()-80):])
	}
	if strings.Contains(out.String(), "\033") {
		t.Error("progress reached stdout")
	}
}
