package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/secret"
	"deputy/internal/transport"
)

// OAuthEnv is how the window reaches Entra ID: where secrets live and, for the
// simulator or a test, which authority to use. The zero value signs in to the real
// cloud the profile names, without a keychain (secrets only as typed).
type OAuthEnv struct {
	// Keys is the keychain (client secret, certificate key, token cache); nil: none.
	Keys *secret.Store
	// Authority replaces the cloud's login host (the simulator); its TLS is trusted with
	// the profile's pin or CA file, as deputy-cli --authority does.
	Authority string
	// GraphURL replaces the cloud's Graph root ("" = the cloud's, or the authority's host).
	GraphURL string
	// OpenURL replaces the system browser for "Connect account" (tests).
	OpenURL func(url string) error
	// ProfileID is the profile the form shows ("" = not saved yet); called on the UI
	// goroutine only.
	ProfileID func() string

	mu        sync.Mutex
	delegated map[string]*oauth.Source // signed-in sources: keep MSAL's cache when there is no keychain
}

// OAuthSecrets are credentials typed or loaded in the form and not yet saved.
type OAuthSecrets struct {
	ClientSecret string
	CertPEM      []byte // certificate + unencrypted key, from oauth.Certificate.PEM
}

func (o *OAuthEnv) profileID() string {
	if o == nil || o.ProfileID == nil {
		return ""
	}
	return o.ProfileID()
}

// sourceConfig is the oauth.Config of a profile, for resource ews or graph, mirroring
// deputy-cli's setupOAuth: typed secrets first, then the keychain.
func (o *OAuthEnv) sourceConfig(ctx context.Context, v FormValues, tls transport.TLSOptions, id string, typed OAuthSecrets, resource string) (oauth.Config, error) {
	oc := oauth.Config{Mode: v.Auth, Cloud: v.Cloud, Tenant: strings.TrimSpace(v.Tenant),
		ClientID: strings.Trim(strings.TrimSpace(v.ClientID), "{}"), Resource: resource}
	trust := tls
	if o != nil {
		oc.Authority, oc.OpenURL = o.Authority, o.OpenURL
	}
	if oc.Authority == "" {
		trust.PinSHA256 = "" // the pin is the Exchange server's, not Entra ID's
	}
	switch v.Auth {
	case AuthAppSecret:
		oc.Secret = typed.ClientSecret
	case AuthAppCert:
		oc.CertPEM = typed.CertPEM
	case AuthDelegated:
		oc.LoginHint = strings.TrimSpace(v.User)
	default:
		return oc, fmt.Errorf("%q is not an OAuth mode", v.Auth)
	}
	if o != nil && o.Keys != nil {
		kctx, cancel := context.WithTimeout(ctx, keychainTimeout)
		err := oauth.FromKeychain(kctx, o.Keys, id, &oc) // the same lookup as deputy-cli
		cancel()
		if err != nil {
			return oc, err
		}
	}
	switch {
	case v.Auth == AuthAppSecret && oc.Secret == "":
		return oc, errors.New("no client secret: type it on the Profile tab (Save stores it in the keychain)")
	case v.Auth == AuthAppCert && len(oc.CertPEM) == 0:
		return oc, errors.New("no certificate: choose the PEM or PFX file on the Profile tab and Load it (Save keeps its key in the keychain)")
	}
	hc, err := oauth.NewHTTPClient(trust, 30*time.Second)
	if err != nil {
		return oc, fmt.Errorf("%s: %w", FieldCAFile, err)
	}
	oc.HTTPClient = hc
	return oc, nil
}

func sourceError(err error) error {
	var ce *oauth.ConfigError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", ce.Field, ce.Msg)
	}
	return err
}

func delegatedKey(id string, v FormValues) string {
	return strings.Join([]string{id, strings.ToLower(strings.TrimSpace(v.Tenant)), strings.ToLower(strings.TrimSpace(v.ClientID)), v.Cloud, strings.ToLower(strings.TrimSpace(v.User))}, "|")
}

// Source is the EWS token source of the profile; a delegated one is reused so that a
// sign-in (Connect account) carries over to the run even without a keychain.
func (o *OAuthEnv) Source(ctx context.Context, id string, v FormValues, tls transport.TLSOptions, typed OAuthSecrets) (*oauth.Source, error) {
	if v.Auth == AuthDelegated && o != nil {
		o.mu.Lock()
		s := o.delegated[delegatedKey(id, v)]
		o.mu.Unlock()
		if s != nil {
			return s, nil
		}
	}
	oc, err := o.sourceConfig(ctx, v, tls, id, typed, oauth.ResourceEWS)
	if err != nil {
		return nil, err
	}
	s, err := oauth.NewSource(oc)
	if err != nil {
		return nil, sourceError(err)
	}
	if v.Auth == AuthDelegated && o != nil {
		o.mu.Lock()
		if o.delegated == nil {
			o.delegated = map[string]*oauth.Source{}
		}
		o.delegated[delegatedKey(id, v)] = s
		o.mu.Unlock()
	}
	return s, nil
}

// Configure completes cfg (from BuildConfig) for an OAuth profile: the EWS token source,
// the cloud's EWS URL when none is given, and for protocol graph|both a Graph source with
// the same app and credential. A non-OAuth profile is left as it is.
func (o *OAuthEnv) Configure(ctx context.Context, id string, cfg *impersonation.Config, v FormValues, typed OAuthSecrets) error {
	if !IsOAuth(v.Auth) {
		return nil
	}
	src, err := o.Source(ctx, id, v, cfg.TLS, typed)
	if err != nil {
		return err
	}
	cfg.OAuth = src
	cfg.Auth = transport.Auth{Scheme: v.Auth}
	cfg.Profile.Auth = v.Auth
	cfg.Profile.TenantID, cfg.Profile.ClientID = src.Tenant(), src.ClientID()
	cfg.Profile.ServiceAccount = ""
	if v.Auth == AuthDelegated {
		cfg.Profile.ServiceAccount = strings.TrimSpace(v.User)
	}
	if strings.TrimSpace(cfg.URL) == "" && cfg.AutodiscoverAddress == "" { // else found at run time
		cfg.URL = src.Cloud().EWSURL
		cfg.Profile.EWSURL = cfg.URL
	}
	protocol := v.Protocol
	switch protocol {
	case "", impersonation.ProtocolEWS:
		cfg.Protocol = impersonation.ProtocolEWS
		return nil
	case impersonation.ProtocolGraph, impersonation.ProtocolBoth:
	default:
		return fmt.Errorf("protocol %q: choose EWS, Microsoft Graph or Both", protocol)
	}
	if !src.AppOnly() {
		return errors.New("app-only OAuth (client secret or certificate) is needed for Microsoft Graph: a signed-in user cannot prove other people's mailboxes")
	}
	oc, err := o.sourceConfig(ctx, v, cfg.TLS, id, typed, oauth.ResourceGraph)
	if err != nil {
		return err
	}
	gs, err := oauth.NewSource(oc)
	if err != nil {
		return sourceError(err)
	}
	cfg.Protocol, cfg.Profile.Protocol = protocol, protocol
	cfg.GraphToken = gs.Token
	switch {
	case o != nil && o.GraphURL != "":
		cfg.GraphURL = o.GraphURL
	case o != nil && o.Authority != "":
		u, err := url.Parse(o.Authority)
		if err != nil || u.Host == "" {
			return fmt.Errorf("authority %q is not a URL", o.Authority)
		}
		cfg.GraphURL = u.Scheme + "://" + u.Host // the simulator serves Graph on its origin
	default:
		cfg.GraphURL = gs.Cloud().GraphResource
	}
	return nil
}

// BuildConfigFor is BuildConfig for every auth mode: password for Basic/NTLM, and for
// OAuth the token sources (typed secrets first, then the keychain).
func (o *OAuthEnv) BuildConfigFor(ctx context.Context, id string, v FormValues, password string, typed OAuthSecrets) (impersonation.Config, error) {
	cfg, err := BuildConfig(v, password)
	if err != nil {
		return cfg, err
	}
	if err := o.Configure(ctx, id, &cfg, v, typed); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// SignIn signs the delegated profile in (system browser, or device code when deviceCode
// is set) and returns who signed in. Cancelling ctx abandons the sign-in.
func (o *OAuthEnv) SignIn(ctx context.Context, id string, v FormValues, tls transport.TLSOptions, deviceCode func(ctx context.Context, message string)) (oauth.Claims, error) {
	if v.Auth != AuthDelegated {
		return oauth.Claims{}, errors.New("Connect account is for delegated sign-in")
	}
	oc, err := o.sourceConfig(ctx, v, tls, id, OAuthSecrets{}, oauth.ResourceEWS)
	if err != nil {
		return oauth.Claims{}, err
	}
	oc.DeviceCode = deviceCode
	s, err := oauth.NewSource(oc)
	if err != nil {
		return oauth.Claims{}, sourceError(err)
	}
	if _, err := s.Token(ctx); err != nil {
		return oauth.Claims{}, err
	}
	// Runs use a source without the device-code callback: the sign-in is in its cache.
	o.mu.Lock()
	if o.delegated == nil {
		o.delegated = map[string]*oauth.Source{}
	}
	o.delegated[delegatedKey(id, v)] = s
	o.mu.Unlock()
	return s.Claims(), nil
}

// SignedIn returns the claims of the account signed in for v, if this session knows one.
func (o *OAuthEnv) SignedIn(id string, v FormValues) (oauth.Claims, bool) {
	if o == nil {
		return oauth.Claims{}, false
	}
	o.mu.Lock()
	s := o.delegated[delegatedKey(id, v)]
	o.mu.Unlock()
	if s == nil {
		return oauth.Claims{}, false
	}
	c := s.Claims()
	return c, c.UPN != "" || !c.Exp.IsZero()
}

// SignOut forgets the delegated sign-in: MSAL's accounts and the saved token cache.
func (o *OAuthEnv) SignOut(ctx context.Context, id string, v FormValues, tls transport.TLSOptions) error {
	o.mu.Lock()
	s := o.delegated[delegatedKey(id, v)]
	delete(o.delegated, delegatedKey(id, v))
	o.mu.Unlock()
	if s == nil {
		oc, err := o.sourceConfig(ctx, v, tls, id, OAuthSecrets{}, oauth.ResourceEWS)
		if err != nil {
			return err
		}
		if s, err = oauth.NewSource(oc); err != nil {
			return sourceError(err)
		}
	}
	return s.SignOut(ctx)
}

// SaveSecrets stores what the form holds for profile id: the client secret (kind
// client-secret) and the certificate with its key as PEM (kind cert-key). A PFX password
// is never stored: the key is kept decrypted in the keychain instead.
func (o *OAuthEnv) SaveSecrets(ctx context.Context, id string, typed OAuthSecrets) error {
	if o == nil || o.Keys == nil {
		return errors.New("no keychain: the secret is used for this session only")
	}
	if id == "" {
		return errors.New("save the profile first")
	}
	ctx, cancel := context.WithTimeout(ctx, keychainTimeout)
	defer cancel()
	if typed.ClientSecret != "" {
		if err := o.Keys.Set(ctx, secret.Key{Profile: id, Kind: secret.ClientSecret}, typed.ClientSecret); err != nil {
			return err
		}
	}
	if len(typed.CertPEM) > 0 {
		if err := o.Keys.Set(ctx, secret.Key{Profile: id, Kind: secret.CertKey}, string(typed.CertPEM)); err != nil {
			return err
		}
	}
	return nil
}
