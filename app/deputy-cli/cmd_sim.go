package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"deputy/internal/exchangesim"
)

func init() {
	register("sim", "[--listen ADDR] [--scenario demo|exo-demo|FILE] [--latency D] [--mailboxes N] [--http]", runSim)
}

// runSim serves the simulated Exchange until interrupted. Its first stdout line is JSON
// with the URL, the certificate fingerprint and the demo account's credentials (demo only).
func runSim(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	scenario := fs.String("scenario", "demo", "demo, exo-demo (Exchange Online with Entra ID), or a scenario JSON file")
	latency := fs.Duration("latency", 0, "added latency per EWS request")
	n := fs.Int("mailboxes", 0, "with the demo scenario: N ordinary mailboxes instead of the ~40 demo ones")
	plain := fs.Bool("http", false, "serve plain HTTP instead of HTTPS")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr(e, "sim takes no arguments")
	}
	if *scenario == "exo-demo" {
		return runEXOSim(ctx, e, exchangesim.Options{Listen: *listen, Latency: *latency, PlainHTTP: *plain})
	}
	srv, code := startSim(e, *scenario, *n, exchangesim.Options{Listen: *listen, Latency: *latency, PlainHTTP: *plain})
	if code != exitOK {
		return code
	}
	defer srv.Close()
	line, _ := json.Marshal(map[string]string{
		"url": srv.URL, "sha256": srv.SHA256, "user": srv.User, "password": srv.Password, "domain": srv.Domain,
	})
	fmt.Fprintln(e.stdout, string(line))
	fmt.Fprintf(e.stderr, "simulated Exchange at %s — Ctrl+C to stop\n", srv.URL)
	<-ctx.Done()
	c := srv.Counters()
	fmt.Fprintf(e.stderr, "served %d requests on %d connections (%d NTLM handshakes, peak concurrency %d)\n", c.Requests, c.Conns, c.NTLMHandshakes, c.PeakConcurrency)
	return exitOK
}

func startSim(e *env, scenario string, n int, o exchangesim.Options) (*exchangesim.Server, int) {
	var sc *exchangesim.Scenario
	if scenario == "demo" {
		if n < 0 {
			return nil, usageErr(e, "--mailboxes must be positive")
		}
		sc = exchangesim.Demo(n)
	} else {
		var err error
		if sc, err = exchangesim.LoadScenario(scenario); err != nil {
			return nil, usageErr(e, "--scenario: "+err.Error())
		}
	}
	srv, err := exchangesim.Start(sc, o)
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: starting the simulator:", err)
		return nil, exitFailed
	}
	return srv, exitOK
}
