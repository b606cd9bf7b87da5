package oauth

import (
	"context"
	"errors"
	"fmt"

	"deputy/internal/secret"
)

// FromKeychain completes cfg with what profile profileID keeps in the keychain, without
// overriding what the caller already set (typed or piped credentials win): the client
// secret (kind client-secret) for ModeAppSecret, the certificate with its key as PEM
// (kind cert-key) for ModeAppCert when no PEM or PFX is given, and MSAL's token cache
// (kind token-cache) for ModeDelegated. Nothing saved is not an error; a failing
// keychain is (*secret.Error, wrapped). deputy-cli and the window share it.
func FromKeychain(ctx context.Context, keys *secret.Store, profileID string, cfg *Config) error {
	if keys == nil || profileID == "" {
		return nil
	}
	get := func(kind string) (string, error) {
		v, err := keys.Get(ctx, secret.Key{Profile: profileID, Kind: kind})
		if errors.Is(err, secret.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("keychain (%s): %w", kind, err)
		}
		return v, nil
	}
	switch cfg.Mode {
	case ModeAppSecret:
		if cfg.Secret == "" {
			v, err := get(secret.ClientSecret)
			if err != nil {
				return err
			}
			cfg.Secret = v
		}
	case ModeAppCert:
		if len(cfg.CertPEM) == 0 && len(cfg.PFX) == 0 {
			v, err := get(secret.CertKey)
			if err != nil {
				return err
			}
			if v != "" {
				cfg.CertPEM = []byte(v)
			}
		}
	case ModeDelegated:
		if cfg.Cache == nil {
			cfg.Cache = NewKeychainCache(keys, profileID)
		}
	}
	return nil
}
