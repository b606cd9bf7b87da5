package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/profile"
	"deputy/internal/report"
	"deputy/internal/result"
	"deputy/internal/setup"
)

func init() {
	register("diagnose", "[flags] [MAILBOX...]", runDiagnose)
}

// diagFlags are the diagnose flags shared with demo.
type diagFlags struct {
	url, autodiscover, auth, user, serviceMailbox, mailboxes, pin, caFile, reportPath, progress, profileName, environment string
	passwordStdin, rooms, writeTest, allowHTTP, jsonOut, trace                                                            bool
	concurrency, retries                                                                                                  int
	maxBackoff, timeout                                                                                                   time.Duration
	protocol, graphURL                                                                                                    string // diagnose_graph.go
}

func (f *diagFlags) register(fs *flag.FlagSet) {
	registerProtocol(fs, &f.protocol, &f.graphURL)
	fs.IntVar(&f.concurrency, "concurrency", 10, "parallel requests (1–27; 27 is Exchange's EWSMaxConcurrency)")
	fs.IntVar(&f.retries, "retries", 3, "retries for throttled or transient failures")
	fs.DurationVar(&f.maxBackoff, "max-backoff", 2*time.Minute, "longest server back-off to wait for; longer ones are reported as throttled")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as deputy.diagnostics/v1 JSON")
	fs.StringVar(&f.reportPath, "report", "", "also write a report `FILE` (.json, .html or .pdf)")
	fs.BoolVar(&f.trace, "trace", false, "include redacted request/response traces in the result")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto|plain|none")
	fs.BoolVar(&f.rooms, "rooms", false, "also check room lists and every room")
	fs.BoolVar(&f.writeTest, "write-test", false, "create and hard-delete a calendar item in every reachable mailbox")
}

func runDiagnose(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f diagFlags
	f.register(fs)
	fs.StringVar(&f.profileName, "profile", "", "run a saved profile (other flags override it)")
	fs.StringVar(&f.url, "url", "", "EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx")
	fs.StringVar(&f.autodiscover, "autodiscover", "", "find the EWS URL with Autodiscover from this `ADDRESS` (credentials go only to hosts in its domain)")
	fs.StringVar(&f.environment, "environment", "", "onprem|exo (default onprem)")
	fs.StringVar(&f.auth, "auth", "", "basic|ntlm|oauth-app-secret|oauth-app-cert|oauth-delegated (default ntlm; OAuth is Exchange Online)")
	fs.StringVar(&f.user, "user", "", "service account: UPN (svc@contoso.com) or DOMAIN\\user")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of stdin (else $DEPUTY_PASSWORD)")
	fs.StringVar(&f.serviceMailbox, "service-mailbox", "", "the service account's own mailbox address")
	fs.StringVar(&f.mailboxes, "mailboxes", "", "target mailboxes: a `FILE` with one address per line or a CSV export (- for stdin)")
	fs.StringVar(&f.pin, "pin-sha256", "", "trust the server certificate with this SHA-256 fingerprint (hex, colons optional)")
	fs.StringVar(&f.caFile, "ca-file", "", "trust this PEM CA bundle in addition to the system's")
	fs.BoolVar(&f.allowHTTP, "allow-http", false, "allow a plain http:// URL (lab only: credentials travel unencrypted)")
	var of oauthFlags
	of.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: deputy-cli diagnose [flags] [MAILBOX...]\n\nProves that the service account can impersonate every mailbox.\nExit: 0 all pass, 1 something failed, 2 usage/input error, 3 cancelled.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.mailboxes == "-" && f.passwordStdin {
		return usageErr(e, "--mailboxes - and --password-stdin both want stdin; put the mailboxes in a file")
	}

	// The password given at run time is read first: it wins over the profile's, and then
	// the keychain is not asked (it may be locked, or hold no password for the profile).
	var password string
	if f.passwordStdin {
		pw, err := readPasswordLine(e.stdin)
		if err != nil {
			return usageErr(e, "--password-stdin: "+err.Error())
		}
		password = pw
	} else {
		password = e.getenv("DEPUTY_PASSWORD")
	}

	cfg := impersonation.Config{}
	if f.profileName != "" {
		if code := applyProfile(ctx, e, f.profileName, &cfg, password != ""); code != exitOK {
			return code
		}
	}
	if set["url"] || cfg.URL == "" {
		cfg.URL = f.url
	}
	if f.autodiscover != "" {
		if err := profile.ValidateAddress(f.autodiscover); err != nil {
			return usageErr(e, fmt.Sprintf("--autodiscover %q: %v", f.autodiscover, err))
		}
		cfg.AutodiscoverAddress = f.autodiscover
	}
	if f.environment != "" {
		cfg.Profile.Environment = f.environment
	}
	if cfg.Profile.Environment != "" && cfg.Profile.Environment != result.OnPrem && cfg.Profile.Environment != result.EXO {
		return usageErr(e, "--environment must be onprem or exo")
	}
	if f.auth != "" {
		cfg.Auth.Scheme = f.auth
	} else if cfg.Auth.Scheme == "" {
		cfg.Auth.Scheme = "ntlm"
	}
	if f.user != "" {
		cfg.Auth.User = f.user
	}
	if f.serviceMailbox != "" {
		cfg.ServiceMailbox = f.serviceMailbox
	}
	if f.pin != "" {
		cfg.TLS.PinSHA256 = f.pin
	}
	if f.caFile != "" {
		cfg.TLS.CAFile = f.caFile
	}
	cfg.TLS.AllowHTTP = cfg.TLS.AllowHTTP || f.allowHTTP
	if set["rooms"] || f.profileName == "" {
		cfg.CheckRooms = f.rooms
	}
	if set["write-test"] || f.profileName == "" {
		cfg.WriteTest = f.writeTest
	}
	if set["concurrency"] || cfg.Concurrency == 0 {
		cfg.Concurrency = f.concurrency
	}
	cfg.Retries, cfg.MaxBackoff, cfg.Timeout, cfg.Trace = f.retries, f.maxBackoff, f.timeout, f.trace
	if f.retries == 0 {
		cfg.Retries = -1 // "no retries", as asked
	}

	// Targets: positional addresses and/or a file.
	if f.mailboxes != "" || fs.NArg() > 0 {
		cfg.Mailboxes = nil
	}
	var inputs []string
	inputs = append(inputs, fs.Args()...)
	if f.mailboxes != "" {
		addrs, code := profReadList(e, "mailboxes", f.mailboxes)
		if code != exitOK {
			return code
		}
		inputs = append(inputs, addrs...)
	}
	seen := map[string]bool{}
	for _, a := range inputs {
		a = strings.TrimSpace(a)
		if err := profile.ValidateAddress(a); err != nil {
			return usageErr(e, fmt.Sprintf("mailbox %q: %v", a, err))
		}
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			cfg.Mailboxes = append(cfg.Mailboxes, a)
		}
	}
	if cfg.ServiceMailbox != "" {
		if err := profile.ValidateAddress(cfg.ServiceMailbox); err != nil {
			return usageErr(e, fmt.Sprintf("--service-mailbox %q: %v", cfg.ServiceMailbox, err))
		}
	}

	if password != "" {
		cfg.Auth.Password = password
	}
	credential := cfg.Auth.Password
	if isOAuth(cfg.Auth.Scheme) {
		if code := setupOAuth(ctx, e, &cfg, of, f.profileName, cfg.Auth.Password); code != exitOK {
			return code
		}
	}
	if code := setupGraph(ctx, e, &cfg, f.protocol, f.graphURL, of, f.profileName, credential); code != exitOK {
		return code
	}
	return execute(ctx, e, cfg, f)
}

// execute runs a diagnosis and prints it; shared by diagnose and demo.
func execute(ctx context.Context, e *env, cfg impersonation.Config, f diagFlags) int {
	if f.reportPath != "" {
		switch strings.ToLower(filepath.Ext(f.reportPath)) {
		case ".json", ".html", ".htm", ".pdf":
		default:
			return usageErr(e, "--report: the file name must end in .json, .html or .pdf")
		}
	}
	mode := f.progress
	switch mode {
	case "auto":
		mode = "none"
		if e.isTTY(e.stderr) {
			mode = "tty"
		}
	case "plain", "none":
	default:
		return usageErr(e, "--progress must be auto, plain or none")
	}
	pr := &progress{w: e.stderr, mode: mode}
	res, err := impersonation.Diagnose(ctx, cfg, pr)
	pr.clear()
	if err != nil {
		var ce *impersonation.ConfigError
		if errors.As(err, &ce) {
			return usageErr(e, "--"+ce.Field+": "+ce.Msg)
		}
		fmt.Fprintln(e.stderr, "deputy-cli:", err)
		return exitFailed
	}
	if f.jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli: writing JSON:", err)
			return exitFailed
		}
	} else {
		printHuman(e.stdout, res)
	}
	if f.reportPath != "" {
		if err := report.Write(f.reportPath, res, report.Options{Script: setup.ForResult(res)}); err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli: report:", err)
			return exitFailed
		}
		fmt.Fprintf(e.stderr, "report written to %s\n", f.reportPath)
	}
	switch {
	case res.Cancelled:
		return exitCancelled
	case res.Verdict == result.Fail:
		return exitFailed
	}
	return exitOK
}

func usageErr(e *env, msg string) int {
	fmt.Fprintln(e.stderr, "deputy-cli:", msg)
	return exitUsage
}

func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("stdin was empty")
	}
	return line, nil
}
