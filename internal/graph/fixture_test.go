package graph_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/graph"
	"deputy/internal/transport"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

const (
	tenantID = "8f0e6c5a-3b1d-4e2f-9a7b-1c2d3e4f5a6b"
	appID    = "0c5d7e9f-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
	secret   = "graph-test-secret-value-0123456789"
	domain   = "fabrikam.test"
)

// fixture is the simulated Exchange Online: one HTTPS server with the fake Entra ID and
// the simulated Graph on its mux; tokens come from MSAL against the fake Entra ID.
type fixture struct {
	srv   *exchangesim.Server
	entra *entra.Entra
	sim   *graphsim.Sim
	base  string
}

func addr(local string) string { return local + "@" + domain }

// newFixture serves cfg (Key and Tenant are filled in) and an app holding roles for Graph.
func newFixture(t *testing.T, cfg graphsim.Config, roles []string) *fixture {
	t.Helper()
	srv, err := exchangesim.Start(exchangesim.Demo(0), exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e, err := entra.New(entra.Config{Tenants: []entra.Tenant{{
		ID: tenantID, Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam",
		Apps: []entra.App{{ClientID: appID, Name: "Deputy Graph Test", Secrets: []entra.Secret{{Value: secret}},
			AppRoles: map[string][]string{entra.ResourceGraph: roles, entra.ResourceEXO: {entra.RoleFullAccess}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	e.Mount(srv.Mux())
	cfg.Key, cfg.Tenant = e.PublicKey(), tenantID
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim.Mount(srv.Mux())
	return &fixture{srv: srv, entra: e, sim: sim, base: strings.TrimSuffix(srv.URL, "/EWS/Exchange.asmx")}
}

// tokenSource is an MSAL confidential client for scope, pointed at the fake Entra ID.
func (f *fixture) tokenSource(t *testing.T, scope string) func(context.Context) (string, error) {
	t.Helper()
	hc, err := transport.NewClient(transport.Options{TLS: transport.TLSOptions{PinSHA256: f.srv.SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(f.base+"/"+tenantID, appID, cred, confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		res, err := app.AcquireTokenByCredential(ctx, []string{scope})
		if err != nil {
			return "", err
		}
		return res.AccessToken, nil
	}
}

// client is a Graph client authenticated with tokens for scope, with a trace recorder.
func (f *fixture) client(t *testing.T, scope string) (*graph.Client, *transport.Recorder) {
	c, rec, _ := f.clientAndToken(t, scope)
	return c, rec
}

func (f *fixture) clientAndToken(t *testing.T, scope string) (*graph.Client, *transport.Recorder, func(context.Context) (string, error)) {
	t.Helper()
	rec := transport.NewRecorder(1000)
	ts := f.tokenSource(t, scope)
	hc, err := transport.NewClient(transport.Options{
		TLS:      transport.TLSOptions{PinSHA256: f.srv.SHA256},
		Auth:     transport.Auth{Scheme: transport.SchemeBearer, Token: ts},
		Recorder: rec, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &graph.Client{Base: f.base, HTTP: hc}, rec, ts
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
