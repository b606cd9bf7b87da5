package ui

import (
	"context"

	"deputy/internal/autodiscover"
	"deputy/internal/exchangesim"
	"deputy/internal/impersonation"
	"deputy/internal/secret"
)

// SecretKeychain stores each profile's password in the OS keychain (internal/secret).
type SecretKeychain struct{ S *secret.Store }

func (k SecretKeychain) key(id string) secret.Key {
	return secret.Key{Profile: id, Kind: secret.Password}
}

func (k SecretKeychain) Backend() string { return secret.Backend() }

func (k SecretKeychain) Has(ctx context.Context, id string) (bool, error) {
	return k.S.Has(ctx, k.key(id))
}

func (k SecretKeychain) Get(ctx context.Context, id string) (string, error) {
	return k.S.Get(ctx, k.key(id))
}

func (k SecretKeychain) Set(ctx context.Context, id, pw string) error {
	return k.S.Set(ctx, k.key(id), pw)
}

func (k SecretKeychain) DeleteProfile(ctx context.Context, id string) error {
	return k.S.DeleteProfile(ctx, id)
}

// StartDemoServer starts the simulated Exchange with the built-in demo company on
// 127.0.0.1; its self-signed certificate is pinned by the Demo profile.
func StartDemoServer() (*DemoServer, error) {
	sc := exchangesim.Demo(0)
	srv, err := exchangesim.Start(sc, exchangesim.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	return &DemoServer{
		URL: srv.URL, SHA256: srv.SHA256, User: srv.User, Password: srv.Password,
		Mailboxes: sc.Targets(), Rooms: nil,
		Close: func() { srv.Close() },
	}, nil
}

// DefaultEnv wires the window to the real core packages; profiles live in dir
// ("" = the standard location).
func DefaultEnv(version string, store ProfileStore) Env {
	keys := secret.New()
	return Env{
		Profiles:      store,
		Keychain:      SecretKeychain{S: keys},
		OAuth:         &OAuthEnv{Keys: keys},
		Diagnose:      impersonation.Diagnose,
		StartDemo:     StartDemoServer,
		Export:        ExportReport, // reports carry the setup script for the profile's situation
		ExportFormats: []string{".html", ".pdf", ".json"},
		Discover:      autodiscover.Discover,
		Version:       version,
	}
}
