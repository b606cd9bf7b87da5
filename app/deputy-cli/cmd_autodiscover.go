package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"deputy/internal/autodiscover"
	"deputy/internal/transport"
)

func init() {
	register("autodiscover", "ADDRESS [--user U --password-stdin] [--auth basic|ntlm] [--trust-redirect HOST]... [--ca-file PEM] [--pin-sha256 HEX] [--resolve HOST:PORT:ADDR]... [--dns ADDR:PORT] [--json]", runAutodiscover)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type autodiscoverFlags struct {
	auth, user, caFile, pin, dns, v2Host string
	passwordStdin, jsonOut, noV2         bool
	trust, resolve                       listFlag
	timeout                              time.Duration
	httpsPort, httpPort                  int
}

func runAutodiscover(ctx context.Context, e *env, args []string) int {
	var f autodiscoverFlags
	fs := flag.NewFlagSet("autodiscover", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.auth, "auth", "basic", "authentication: basic or ntlm (with --user)")
	fs.StringVar(&f.user, "user", "", "account to authenticate as (UPN or DOMAIN\\user); without it only the unauthenticated steps can succeed")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of stdin (else $DEPUTY_PASSWORD)")
	fs.Var(&f.trust, "trust-redirect", "allow credentials to go to this host outside the address's domain (repeatable)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of extra CA certificates to trust")
	fs.StringVar(&f.pin, "pin-sha256", "", "trust only the certificate with this SHA-256 fingerprint")
	fs.Var(&f.resolve, "resolve", "HOST:PORT:ADDR — connect to ADDR for HOST:PORT, like curl (repeatable)")
	fs.StringVar(&f.dns, "dns", "", "DNS server ADDR[:PORT] for the SRV lookup")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as JSON (never asks: an unlisted outside host is refused)")
	fs.DurationVar(&f.timeout, "timeout", autodiscover.DefaultStepTimeout, "deadline of each step")
	fs.IntVar(&f.httpsPort, "https-port", 443, "https port of the candidate URLs (labs)")
	fs.IntVar(&f.httpPort, "http-port", 80, "http port of the redirect step (labs)")
	fs.StringVar(&f.v2Host, "v2-host", autodiscover.DefaultV2Host, "Autodiscover v2 JSON host (labs)")
	fs.BoolVar(&f.noV2, "no-v2", false, "do not ask the Exchange Online v2 endpoint")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: deputy-cli autodiscover ADDRESS [flags]")
		fmt.Fprintln(e.stderr, "Finds the EWS URL of ADDRESS and shows every step. Credentials go only over https,")
		fmt.Fprintln(e.stderr, "and to a host outside the address's domain only with --trust-redirect or your yes.")
		fs.PrintDefaults()
	}

	// Accept the address before, between or after the flags.
	var address string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		if address != "" {
			return adUsage(e, fmt.Sprintf("unexpected argument %q (one address at a time)", fs.Arg(0)))
		}
		address, args = fs.Arg(0), fs.Args()[1:]
	}
	if address == "" {
		return adUsage(e, "autodiscover needs an e-mail address, e.g. deputy-cli autodiscover mara@contoso.com")
	}

	in := bufio.NewReader(e.stdin)
	o := autodiscover.Options{
		TLS:         transport.TLSOptions{CAFile: f.caFile, PinSHA256: f.pin},
		Resolve:     f.resolve,
		DNSServer:   f.dns,
		StepTimeout: f.timeout,
		HTTPSPort:   f.httpsPort,
		HTTPPort:    f.httpPort,
		V2Host:      f.v2Host,
		NoV2:        f.noV2,
	}
	switch {
	case f.user != "":
		scheme := strings.ToLower(f.auth)
		if scheme != transport.SchemeBasic && scheme != transport.SchemeNTLM {
			return adUsage(e, fmt.Sprintf("--auth %q: use basic or ntlm", f.auth))
		}
		pw := e.getenv("DEPUTY_PASSWORD")
		if f.passwordStdin {
			line, err := in.ReadString('\n')
			if err != nil && err != io.EOF {
				return adUsage(e, "--password-stdin: "+err.Error())
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if pw == "" {
			return adUsage(e, "--user needs a password: pipe it with --password-stdin or set DEPUTY_PASSWORD")
		}
		o.Auth = transport.Auth{Scheme: scheme, User: f.user, Password: pw}
	case f.passwordStdin:
		return adUsage(e, "--password-stdin needs --user")
	}
	if f.timeout <= 0 {
		return adUsage(e, "--timeout must be positive")
	}

	trusted := map[string]bool{}
	for _, h := range f.trust {
		raw := h
		h = strings.ToLower(strings.TrimSpace(h))
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		if h == "" || strings.ContainsAny(raw, "/@ \\") {
			return adUsage(e, fmt.Sprintf("--trust-redirect %q: expected a host name such as autodiscover-s.outlook.com", raw))
		}
		trusted[strings.TrimSuffix(h, ".")] = true
	}
	interactive := !f.jsonOut && e.isTTY(e.stdin)
	o.Confirm = func(ctx context.Context, host string) bool {
		if trusted[host] {
			return true
		}
		if !interactive {
			return false
		}
		return adAsk(ctx, e, in, host)
	}

	res, err := autodiscover.Discover(ctx, address, o)
	if errors.Is(err, autodiscover.ErrInvalidInput) {
		return adUsage(e, strings.TrimPrefix(err.Error(), autodiscover.ErrInvalidInput.Error()+": "))
	}
	if f.jsonOut {
		adPrintJSON(e.stdout, address, res, err)
	} else {
		adPrintHuman(e.stdout, address, res)
	}
	var refused *autodiscover.RefusedError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.stderr, "deputy-cli autodiscover: cancelled")
		return exitCancelled
	case errors.As(err, &refused):
		fmt.Fprintf(e.stderr, "deputy-cli autodiscover: refused to send credentials to %s (outside %s). If you trust it, rerun with --trust-redirect %s\n",
			refused.Host, refused.Domain, refused.Host)
		return exitFailed
	}
	fmt.Fprintln(e.stderr, "deputy-cli autodiscover:", err)
	return exitFailed
}

// adAsk asks on the terminal; a cancelled run or an unreadable answer is a no.
func adAsk(ctx context.Context, e *env, in *bufio.Reader, host string) bool {
	fmt.Fprintf(e.stderr, "Autodiscover wants to send your credentials to %s — allow? [y/N] ", host)
	ans := make(chan string, 1)
	go func() {
		line, _ := in.ReadString('\n')
		ans <- strings.ToLower(strings.TrimSpace(line))
	}()
	select {
	case a := <-ans:
		return a == "y" || a == "yes"
	case <-ctx.Done():
		fmt.Fprintln(e.stderr)
		return false
	}
}

func adUsage(e *env, msg string) int {
	fmt.Fprintln(e.stderr, "deputy-cli autodiscover:", msg)
	return exitUsage
}

func adPrintHuman(w io.Writer, address string, r *autodiscover.Result) {
	if r.EWSURL != "" {
		fmt.Fprintf(w, "EWS URL:      %s\n", r.EWSURL)
		if !strings.EqualFold(r.Address, address) {
			fmt.Fprintf(w, "Address:      %s (redirected from %s)\n", r.Address, address)
		}
		if r.DisplayName != "" {
			fmt.Fprintf(w, "Display name: %s\n", r.DisplayName)
		}
		if r.CasVersion != "" {
			fmt.Fprintf(w, "CAS version:  %s\n", r.CasVersion)
		}
		fmt.Fprintf(w, "Found via:    %s\n", r.Via)
		// The path: the redirects that led to the answer, in order.
		var path []string
		for _, s := range r.Steps {
			switch s.Outcome {
			case autodiscover.OutcomeRedirectAddr, autodiscover.OutcomeRedirectURL, autodiscover.OutcomeHTTPRedirect, autodiscover.OutcomeFound:
				if s.Method == "SRV" {
					path = append(path, "SRV "+s.URL)
					continue
				}
				path = append(path, fmt.Sprintf("%s %s (%s)", s.Protocol, s.URL, s.Outcome))
			}
		}
		fmt.Fprintf(w, "Path:         %s\n", strings.Join(path, "\n           →  "))
	} else {
		fmt.Fprintf(w, "No EWS URL found for %s.\n", address)
	}
	fmt.Fprintf(w, "\nSteps (%d):\n", len(r.Steps))
	for i, s := range r.Steps {
		status := "   "
		if s.Status != 0 {
			status = fmt.Sprint(s.Status)
		}
		fmt.Fprintf(w, "%3d. %-4s %-4s %s\n     %s %-13s %6s  %s\n", i+1, s.Method, s.Protocol, s.URL,
			status, s.Outcome, s.Duration.Round(time.Millisecond), s.Detail)
	}
}

func adPrintJSON(w io.Writer, address string, r *autodiscover.Result, err error) {
	out := struct {
		Schema      string `json:"schema"`
		Query       string `json:"query"`
		Found       bool   `json:"found"`
		RefusedHost string `json:"refusedHost,omitempty"`
		Error       string `json:"error,omitempty"`
		*autodiscover.Result
	}{Schema: "deputy.autodiscover/v1", Query: address, Found: err == nil && r.EWSURL != "", Result: r}
	var refused *autodiscover.RefusedError
	if errors.As(err, &refused) {
		out.RefusedHost = refused.Host
	}
	if err != nil {
		out.Error = err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
