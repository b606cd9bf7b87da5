package oauth

import (
	"context"
	"os"
	"testing"

	"deputy/internal/secret"
)

func TestFromKeychain(t *testing.T) {
	ctx := context.Background()
	// Without a keychain or a saved profile nothing changes and nothing fails.
	for _, c := range []struct {
		keys *secret.Store
		id   string
	}{{nil, "p1"}, {secret.New(), ""}} {
		cfg := Config{Mode: ModeAppSecret}
		if err := FromKeychain(ctx, c.keys, c.id, &cfg); err != nil || cfg.Secret != "" {
			t.Errorf("keys %v id %q: err %v, secret set %v", c.keys != nil, c.id, err, cfg.Secret != "")
		}
	}
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	keys := secret.New()
	id := "oauth-fromkeychain-test"
	t.Cleanup(func() { _ = keys.DeleteProfile(context.Background(), id) })
	const saved, certPEM = "saved-client-secret-value", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	if err := keys.Set(ctx, secret.Key{Profile: id, Kind: secret.ClientSecret}, saved); err != nil {
		t.Fatal(err)
	}
	if err := keys.Set(ctx, secret.Key{Profile: id, Kind: secret.CertKey}, certPEM); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		in         Config
		wantSecret string
		wantPEM    string
		wantCache  bool
	}{
		{"secret from keychain", Config{Mode: ModeAppSecret}, saved, "", false},
		{"typed secret wins", Config{Mode: ModeAppSecret, Secret: "typed"}, "typed", "", false},
		{"cert from keychain", Config{Mode: ModeAppCert}, "", certPEM, false},
		{"PFX given wins", Config{Mode: ModeAppCert, PFX: []byte{0x30}}, "", "", false},
		{"delegated cache", Config{Mode: ModeDelegated}, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.in
			if err := FromKeychain(ctx, keys, id, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Secret != c.wantSecret {
				t.Errorf("secret: got %d bytes, want %d", len(cfg.Secret), len(c.wantSecret))
			}
			if string(cfg.CertPEM) != c.wantPEM {
				t.Errorf("cert PEM: got %d bytes, want %d", len(cfg.CertPEM), len(c.wantPEM))
			}
			if (cfg.Cache != nil) != c.wantCache {
				t.Errorf("cache set %v, want %v", cfg.Cache != nil, c.wantCache)
			}
		})
	}
}
