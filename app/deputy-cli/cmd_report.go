package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"deputy/internal/report"
	"deputy/internal/result"
	"deputy/internal/setup"
)

func init() {
	register("report", "--in result.json --out FILE(.html|.pdf|.json)", runReport)
}

// maxResultSize bounds what report reads: a 10,000-mailbox result is about 5 MB.
const maxResultSize = 256 << 20

func runReport(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var in, out, script string
	fs.StringVar(&in, "in", "", "a deputy.diagnostics/v1 result `FILE` (from diagnose --json or --report x.json; - for stdin)")
	fs.StringVar(&out, "out", "", "the report `FILE`; the extension picks the format: .html, .pdf or .json")
	fs.StringVar(&script, "script", "", "include this setup script `FILE` instead of the one Deputy writes for the result's situation (e.g. from deputy-cli script --out)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: deputy-cli report --in result.json --out FILE(.html|.pdf|.json) [--script setup.ps1]\n\nRenders a saved diagnosis as a report to attach to a ticket.\nExit: 0 written, 2 usage or input error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "deputy-cli report: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if in == "" || out == "" {
		fmt.Fprintln(e.stderr, "deputy-cli report: --in and --out are required")
		fs.Usage()
		return exitUsage
	}
	r, err := reportReadResult(e, in)
	if err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli report: %v\n", err)
		return exitUsage
	}
	// The setup script for the result's situation, as diagnose --report and the window's
	// export include it; --script replaces it with the admin's own.
	o := report.Options{Script: setup.ForResult(r)}
	if script != "" {
		b, err := os.ReadFile(script)
		if err != nil {
			fmt.Fprintf(e.stderr, "deputy-cli report: --script: %v\n", err)
			return exitUsage
		}
		b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
		o.Script = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if err := ctx.Err(); err != nil {
		return exitCancelled
	}
	if err := report.Write(out, r, o); err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli report: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "Wrote %s: %s, %d mailboxes (%d passed, %d failed).\n", out, r.Verdict, len(r.Mailboxes), reportCount(r, result.Pass), reportCount(r, result.Fail))
	return exitOK
}

func reportCount(r *result.Result, s result.Status) int {
	n := 0
	for _, m := range r.Mailboxes {
		if m.Status == s {
			n++
		}
	}
	return n
}

// reportReadResult reads and checks a saved result: the right schema, one JSON document.
func reportReadResult(e *env, path string) (*result.Result, error) {
	var src io.Reader
	if path == "-" {
		src = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = f
	}
	b, err := io.ReadAll(io.LimitReader(src, maxResultSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxResultSize {
		return nil, fmt.Errorf("%s is larger than %d MB; not a Deputy result", path, maxResultSize>>20)
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	var r result.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s is not valid JSON (at byte %d): %v", path, se.Offset, err)
		}
		return nil, fmt.Errorf("%s is not a Deputy result: %v", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON document", path)
	}
	if r.Schema != result.Schema {
		if r.Schema == "" {
			return nil, fmt.Errorf("%s has no \"schema\" field; is it a Deputy result (deputy-cli diagnose --json)?", path)
		}
		return nil, fmt.Errorf("%s has schema %q; this Deputy reads %q", path, r.Schema, result.Schema)
	}
	return &r, nil
}
