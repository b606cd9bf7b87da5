package oauth

import (
	"context"
	"errors"
	"time"

	"deputy/internal/secret"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// KeychainCache persists MSAL's token cache in the OS keychain: one entry (kind
// token-cache, chunked by internal/secret) per profile. It implements cache.ExportReplace.
type KeychainCache struct {
	Store *secret.Store
	Key   secret.Key
}

// NewKeychainCache is the token cache of a profile.
func NewKeychainCache(store *secret.Store, profileID string) *KeychainCache {
	return &KeychainCache{Store: store, Key: secret.Key{Profile: profileID, Kind: secret.TokenCache}}
}

var _ cache.ExportReplace = (*KeychainCache)(nil)

const cacheTimeout = 10 * time.Second

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, cacheTimeout)
}

// Replace loads the saved cache into MSAL; nothing saved is an empty cache.
func (k *KeychainCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	v, err := k.Store.Get(ctx, k.Key)
	switch {
	case errors.Is(err, secret.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if err := u.Unmarshal([]byte(v)); err != nil {
		// A damaged cache only costs a new sign-in; never fail the caller over it.
		return nil
	}
	return nil
}

// Export saves MSAL's cache.
func (k *KeychainCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	return k.Store.Set(ctx, k.Key, string(b))
}

// Delete removes the saved cache (sign out).
func (k *KeychainCache) Delete(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	err := k.Store.Delete(ctx, k.Key)
	if errors.Is(err, secret.ErrNotFound) {
		return nil
	}
	return err
}
