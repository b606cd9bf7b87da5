package main

import (
	"context"
	"flag"
	"fmt"

	"deputy/internal/exchangesim"
	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/transport"
)

func init() {
	register("demo", "[--scenario demo|exo-demo] [--json] [--mailboxes N] [--write-test] [--rooms=false]", runDemo)
}

// runDemo starts the simulated Exchange in-process and diagnoses it end to end, exactly as
// `diagnose` would a real server: HTTPS with the certificate pinned, NTLM, every mailbox.
func runDemo(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f diagFlags
	f.register(fs)
	n := fs.Int("mailboxes", 0, "N ordinary mailboxes instead of the ~40 demo ones")
	auth := fs.String("auth", "", "basic|ntlm (default ntlm); with --scenario exo-demo: oauth-app-secret (default)|oauth-app-cert|oauth-delegated|basic|ntlm")
	scenario := fs.String("scenario", "demo", "demo (on-premises Exchange) or exo-demo (Exchange Online with Entra ID and OAuth)")
	fs.Lookup("rooms").DefValue = "true"
	f.rooms = true
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	switch *scenario {
	case "exo-demo":
		return runEXODemo(ctx, e, f, *auth)
	case "demo":
		if f.protocol != "" && f.protocol != "ews" {
			return usageErr(e, "--protocol "+f.protocol+" needs --scenario exo-demo (Microsoft Graph is Exchange Online)")
		}
	default:
		return usageErr(e, "--scenario must be demo or exo-demo")
	}
	if *auth == "" {
		*auth = "ntlm"
	}
	srv, code := startSim(e, "demo", *n, exchangesim.Options{})
	if code != exitOK {
		return code
	}
	defer srv.Close()
	user := srv.User
	cfg := impersonation.Config{
		Profile:        result.Profile{Name: "Demo", Environment: result.OnPrem},
		URL:            srv.URL,
		Auth:           transport.Auth{Scheme: *auth, User: user, Password: srv.Password},
		TLS:            transport.TLSOptions{PinSHA256: srv.SHA256},
		ServiceMailbox: srv.User,
		Mailboxes:      srv.Scenario().Targets(),
		CheckRooms:     f.rooms,
		WriteTest:      f.writeTest,
		Concurrency:    f.concurrency,
		Retries:        f.retries,
		MaxBackoff:     f.maxBackoff,
		Timeout:        f.timeout,
		Trace:          f.trace,
	}
	if f.retries == 0 {
		cfg.Retries = -1
	}
	if !f.jsonOut {
		fmt.Fprintf(e.stdout, "Simulated Exchange at %s (certificate pinned: %s)\n", srv.URL, srv.SHA256)
	}
	return execute(ctx, e, cfg, f)
}
