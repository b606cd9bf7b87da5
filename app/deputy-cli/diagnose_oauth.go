package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/secret"
	"deputy/internal/transport"
)

// oauthFlags are diagnose's Exchange Online OAuth flags.
type oauthFlags struct {
	tenant, clientID, cert, cloud, authority string
	deviceCode                               bool
}

func (o *oauthFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.tenant, "tenant", "", "OAuth: tenant ID or domain (contoso.onmicrosoft.com)")
	fs.StringVar(&o.clientID, "client-id", "", "OAuth: the app's application (client) ID")
	fs.StringVar(&o.cert, "cert", "", "oauth-app-cert: certificate `FILE` — PEM with its unencrypted RSA key, or PFX (password from --password-stdin or $DEPUTY_PASSWORD)")
	fs.StringVar(&o.cloud, "cloud", "", "OAuth: global|gcc-high|dod|china (default global)")
	fs.StringVar(&o.authority, "authority", "", "OAuth: authority `URL` instead of the cloud's (e.g. the simulator's; trusted with --pin-sha256/--ca-file)")
	fs.BoolVar(&o.deviceCode, "device-code", false, "oauth-delegated: sign in with a device code (for machines without a browser)")
}

func isOAuth(scheme string) bool {
	switch scheme {
	case oauth.ModeAppSecret, oauth.ModeAppCert, oauth.ModeDelegated:
		return true
	}
	return false
}

// setupOAuth builds cfg.OAuth for an OAuth run. credential is what --password-stdin or
// $DEPUTY_PASSWORD gave (the client secret, or the PFX password); $DEPUTY_CLIENT_SECRET
// also gives the client secret. A saved profile supplies tenant, app, certificate file,
// cloud and its keychain secrets (client secret, certificate key, token cache).
func setupOAuth(ctx context.Context, e *env, cfg *impersonation.Config, o oauthFlags, profileName, credential string) int {
	oc := oauth.Config{Mode: cfg.Auth.Scheme, Tenant: cfg.Profile.TenantID, ClientID: cfg.Profile.ClientID, Authority: o.authority}
	certFile := ""
	var keys *secret.Store
	profileID := ""
	if profileName != "" {
		st, err := openProfiles(e)
		if err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli: profiles:", err)
			return exitFailed
		}
		p, err := st.Get(profileName)
		if err != nil {
			return usageErr(e, "--profile: "+err.Error())
		}
		oc.Cloud, certFile, profileID = p.Cloud, p.CertFile, p.ID
		keys = secret.New()
		if p.EWSURL == "" && cfg.URL == p.URL() {
			cfg.URL = "" // the cloud's EWS endpoint, set below (GCC High, DoD and China differ)
		}
	}
	if o.tenant != "" {
		oc.Tenant = o.tenant
	}
	if o.clientID != "" {
		oc.ClientID = o.clientID
	}
	if o.cloud != "" {
		oc.Cloud = o.cloud
	}
	if o.cert != "" {
		certFile = o.cert
	}
	// saved completes oc from the profile's keychain entries (internal/oauth, shared with
	// the window); without a profile it changes nothing.
	saved := func() int {
		if err := oauth.FromKeychain(ctx, keys, profileID, &oc); err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli:", err)
			return exitFailed
		}
		return exitOK
	}
	switch oc.Mode {
	case oauth.ModeAppSecret:
		oc.Secret = credential
		if oc.Secret == "" {
			oc.Secret = e.getenv("DEPUTY_CLIENT_SECRET")
		}
		if oc.Secret == "" {
			if code := saved(); code != exitOK {
				return code
			}
		}
		if oc.Secret == "" {
			return usageErr(e, "oauth-app-secret needs the client secret: --password-stdin, $DEPUTY_CLIENT_SECRET, or saved in the profile")
		}
	case oauth.ModeAppCert:
		if o.cert == "" {
			// A profile keeps the certificate with its key in the keychain (PEM).
			if code := saved(); code != exitOK {
				return code
			}
		}
		if len(oc.CertPEM) == 0 {
			if certFile == "" {
				return usageErr(e, "oauth-app-cert needs --cert FILE (PEM with key, or PFX)")
			}
			data, err := os.ReadFile(certFile)
			if err != nil {
				return usageErr(e, "--cert: "+err.Error())
			}
			if strings.Contains(string(data), "-----BEGIN") {
				oc.CertPEM = data
			} else {
				oc.PFX, oc.PFXPassword = data, credential
			}
		}
	case oauth.ModeDelegated:
		if code := saved(); code != exitOK { // MSAL's token cache of the profile
			return code
		}
		if o.deviceCode {
			oc.DeviceCode = func(_ context.Context, msg string) { fmt.Fprintln(e.stderr, msg) }
		} else if !e.isTTY(e.stderr) {
			oc.NoPrompt = true // nobody to sign in (Task Scheduler): use the saved sign-in only
		}
		oc.LoginHint = cfg.Auth.User
	}
	src, code := newTokenSource(e, o, cfg.TLS, oc)
	if code != exitOK {
		return code
	}
	cfg.OAuth = src
	cfg.Auth.Password = ""
	cfg.Profile.Environment = result.EXO
	if cfg.URL == "" && cfg.AutodiscoverAddress == "" {
		cfg.URL = src.Cloud().EWSURL
	}
	return exitOK
}

// runEXODemo is `demo --scenario exo-demo`: the simulated Exchange Online with its Entra
// ID, diagnosed through MSAL exactly as a real tenant would be. auth picks the demo app's
// credential (oauth-app-secret by default, oauth-app-cert, oauth-delegated with an
// automatic sign-in, or basic/ntlm to see why those cannot work).
func runEXODemo(ctx context.Context, e *env, f diagFlags, auth string) int {
	x, err := exchangesim.EXODemo()
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: exo-demo:", err)
		return exitFailed
	}
	if code := prepareDemoGraph(e, x, f.protocol, auth); code != exitOK { // diagnose_graph.go
		return code
	}
	srv, err := exchangesim.StartEXO(x, exchangesim.Options{})
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: starting the simulator:", err)
		return exitFailed
	}
	defer srv.Close()
	tls := transport.TLSOptions{PinSHA256: srv.SHA256}
	cfg := impersonation.Config{
		Profile: result.Profile{Name: "Exchange Online demo", Environment: result.EXO}, URL: srv.URL, TLS: tls,
		Mailboxes: x.Targets(), Rooms: x.Rooms(), CheckRooms: f.rooms, WriteTest: f.writeTest,
		Concurrency: f.concurrency, Retries: f.retries, MaxBackoff: f.maxBackoff, Timeout: f.timeout, Trace: f.trace,
	}
	if f.retries == 0 {
		cfg.Retries = -1
	}
	switch auth {
	case "", oauth.ModeAppSecret, oauth.ModeAppCert, oauth.ModeDelegated:
		hc, err := oauth.NewHTTPClient(tls, 30*time.Second)
		if err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli:", err)
			return exitFailed
		}
		oc := oauth.Config{Mode: oauth.ModeAppSecret, Authority: srv.Authority, Tenant: srv.Tenant, ClientID: x.ClientID, Secret: x.ClientSecret, HTTPClient: hc}
		switch auth {
		case oauth.ModeAppCert:
			oc.Mode, oc.Secret, oc.CertPEM = auth, "", x.CertPEM
		case oauth.ModeDelegated:
			// The simulator's sign-in page signs the demo user in at once.
			oc.Mode, oc.Secret, oc.ClientID = auth, "", exchangesim.EXODemoPublicID
			oc.OpenURL = func(u string) error { return entra.Browse(ctx, hc, u) }
		}
		if cfg.OAuth, err = oauth.NewSource(oc); err != nil {
			fmt.Fprintln(e.stderr, "deputy-cli:", err)
			return exitFailed
		}
		if code := demoGraph(e, &cfg, srv, f.protocol, oc); code != exitOK { // diagnose_graph.go
			return code
		}
	case "basic", "ntlm":
		cfg.Auth = transport.Auth{Scheme: auth, User: exchangesim.EXODemoUser, Password: "not-used-in-exchange-online"}
	default:
		return usageErr(e, "--auth must be oauth-app-secret, oauth-app-cert, oauth-delegated, basic or ntlm")
	}
	if !f.jsonOut {
		fmt.Fprintf(e.stdout, "Simulated Exchange Online at %s with Entra ID at %s/%s (certificate pinned: %s)\n", srv.URL, srv.Authority, srv.Tenant, srv.SHA256)
	}
	return execute(ctx, e, cfg, f)
}

// runEXOSim is `sim --scenario exo-demo`: its first stdout line has what a diagnosis
// needs, the demo app's secret included (demo only).
func runEXOSim(ctx context.Context, e *env, o exchangesim.Options) int {
	x, err := exchangesim.EXODemo()
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: exo-demo:", err)
		return exitFailed
	}
	graphsim.PrepareEXODemo(x) // Microsoft Graph on the same origin (diagnose --protocol graph|both)
	srv, err := exchangesim.StartEXO(x, o)
	if err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: starting the simulator:", err)
		return exitFailed
	}
	defer srv.Close()
	if _, err := graphsim.MountEXO(srv, o.Latency); err != nil {
		fmt.Fprintln(e.stderr, "deputy-cli: starting the simulator:", err)
		return exitFailed
	}
	line, _ := json.Marshal(map[string]string{"url": srv.URL, "sha256": srv.SHA256, "authority": srv.Authority,
		"tenant": srv.Tenant, "clientId": x.ClientID, "clientSecret": x.ClientSecret})
	fmt.Fprintln(e.stdout, string(line))
	fmt.Fprintf(e.stderr, "simulated Exchange Online at %s, Entra ID at %s/%s — Ctrl+C to stop\n", srv.URL, srv.Authority, srv.Tenant)
	<-ctx.Done()
	return exitOK
}

// newTokenSource is the MSAL token source for oc, its flag errors as usage errors. Entra ID
// is reached with the trust of the EWS server minus its pin (the pin is the Exchange
// server's), unless --authority points at a simulator behind the same certificate.
func newTokenSource(e *env, o oauthFlags, trust transport.TLSOptions, oc oauth.Config) (*oauth.Source, int) {
	if o.authority == "" {
		trust.PinSHA256 = ""
	}
	hc, err := oauth.NewHTTPClient(trust, 30*time.Second)
	if err != nil {
		return nil, usageErr(e, "--ca-file: "+err.Error())
	}
	oc.HTTPClient = hc
	src, err := oauth.NewSource(oc)
	if err != nil {
		var ce *oauth.ConfigError
		if errors.As(err, &ce) {
			return nil, usageErr(e, "--"+ce.Field+": "+ce.Msg)
		}
		return nil, usageErr(e, err.Error()) // *CertError: a clear message, no secret in it
	}
	return src, exitOK
}
