package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"deputy/internal/transport"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// Authentication modes (the profile's Auth values).
const (
	ModeAppSecret = "oauth-app-secret"
	ModeAppCert   = "oauth-app-cert"
	ModeDelegated = "oauth-delegated"
)

// Resources a Source asks tokens for.
const (
	ResourceEWS   = "ews"
	ResourceGraph = "graph"
)

// Config says how to get tokens. Secret, CertPEM, PFX and PFXPassword are held in memory
// only and never shown.
type Config struct {
	Mode      string // ModeAppSecret | ModeAppCert | ModeDelegated
	Cloud     string // global (default) | gcc-high | dod | china
	Authority string // override the authority host (tests, simulator): https://host[:port][/tenant]
	Tenant    string // tenant ID or domain
	ClientID  string
	Secret    string // ModeAppSecret
	CertPEM   []byte // ModeAppCert: certificate + unencrypted RSA key, PEM
	PFX       []byte // ModeAppCert: PKCS#12 …
	// PFXPassword is the PFX's password.
	PFXPassword string
	Resource    string       // ResourceEWS (default) | ResourceGraph
	HTTPClient  *http.Client // nil: MSAL's default; use NewHTTPClient to trust a simulator
	Cache       cache.ExportReplace
	// OpenURL replaces the system browser for interactive sign-in (tests, the window).
	OpenURL func(url string) error
	// DeviceCode, if set, makes delegated sign-in use the device-code flow; it receives
	// the message to show ("To sign in, use a web browser to open … and enter the code …").
	DeviceCode func(ctx context.Context, message string)
	LoginHint  string
	// NoPrompt: never start an interactive or device-code sign-in (scheduled runs); a
	// delegated profile without a saved sign-in fails with ErrNotSignedIn.
	NoPrompt bool
	Now      func() time.Time
}

// Source hands out access tokens, all acquired through MSAL. Safe for concurrent use.
type Source struct {
	cfg       Config
	cloud     Cloud
	authority string
	scopes    []string
	cert      *Certificate
	conf      *confidential.Client
	pub       *public.Client

	mu     sync.Mutex // one acquisition at a time: a sign-in must not open a browser per worker
	tok    string
	exp    time.Time
	iat    time.Time
	claims Claims
	have   bool
}

// NewHTTPClient is an HTTP client for MSAL built on Deputy's transport: verified TLS, with
// an optional SHA-256 pin or CA file (e.g. to trust the simulator), no credentials.
func NewHTTPClient(tls transport.TLSOptions, timeout time.Duration) (*http.Client, error) {
	return transport.NewClient(transport.Options{TLS: tls, Timeout: timeout})
}

// ConfigError is a problem with the input, before any network call.
type ConfigError struct{ Field, Msg string }

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// NewSource checks cfg and prepares the MSAL client. A certificate is loaded and checked
// here (wrong PFX password, expired certificate: *CertError).
func NewSource(cfg Config) (*Source, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cl, err := LookupCloud(cfg.Cloud)
	if err != nil {
		return nil, &ConfigError{"cloud", err.Error()}
	}
	s := &Source{cfg: cfg, cloud: cl}
	switch {
	case strings.TrimSpace(cfg.ClientID) == "":
		return nil, &ConfigError{"client-id", "the application (client) ID is required (Entra admin center → App registrations → your app → Overview)"}
	case strings.TrimSpace(cfg.Tenant) == "":
		return nil, &ConfigError{"tenant", "the tenant is required: its ID (GUID) or domain (contoso.onmicrosoft.com)"}
	case strings.ContainsAny(cfg.Tenant, "/?#@ "):
		return nil, &ConfigError{"tenant", fmt.Sprintf("%q is not a tenant ID or domain", cfg.Tenant)}
	}
	s.authority, err = authorityURL(cl, cfg.Authority, cfg.Tenant)
	if err != nil {
		return nil, err
	}
	res := cl.EWSResource
	switch cfg.Resource {
	case "", ResourceEWS:
	case ResourceGraph:
		res = cl.GraphResource
	default:
		return nil, &ConfigError{"resource", fmt.Sprintf("unknown resource %q (ews or graph)", cfg.Resource)}
	}
	override := cfg.Authority != ""
	switch cfg.Mode {
	case ModeAppSecret, ModeAppCert:
		s.scopes = []string{res + "/.default"}
		var cred confidential.Credential
		if cfg.Mode == ModeAppSecret {
			if cfg.Secret == "" {
				return nil, &ConfigError{"client-secret", "no client secret given (--password-stdin or DEPUTY_CLIENT_SECRET; in the window: the profile's secret)"}
			}
			cred, err = confidential.NewCredFromSecret(cfg.Secret)
		} else {
			data, pw := cfg.CertPEM, ""
			if len(data) == 0 {
				data, pw = cfg.PFX, cfg.PFXPassword
			}
			if len(data) == 0 {
				return nil, &ConfigError{"cert", "certificate authentication needs the certificate (PEM with its key, or PFX)"}
			}
			if s.cert, err = LoadCertificate(data, pw); err != nil {
				return nil, err
			}
			if err := s.cert.CheckValidity(cfg.Now()); err != nil {
				return nil, err
			}
			cred, err = confidential.NewCredFromCert(s.cert.Chain, s.cert.Key)
		}
		if err != nil {
			return nil, &ConfigError{"credential", err.Error()}
		}
		var opts []confidential.Option
		if cfg.HTTPClient != nil {
			opts = append(opts, confidential.WithHTTPClient(cfg.HTTPClient))
		}
		if override {
			opts = append(opts, confidential.WithInstanceDiscovery(false))
		}
		if cfg.Cache != nil {
			opts = append(opts, confidential.WithCache(cfg.Cache))
		}
		c, err := confidential.New(s.authority, cfg.ClientID, cred, opts...)
		if err != nil {
			return nil, &ConfigError{"authority", err.Error()}
		}
		s.conf = &c
	case ModeDelegated:
		if cfg.Resource == ResourceGraph {
			s.scopes = []string{res + "/" + GraphCalendarsRW}
		} else {
			s.scopes = []string{res + "/" + ScopeEWSAccessAsUser}
		}
		opts := []public.Option{public.WithAuthority(s.authority)}
		if cfg.HTTPClient != nil {
			opts = append(opts, public.WithHTTPClient(cfg.HTTPClient))
		}
		if override {
			opts = append(opts, public.WithInstanceDiscovery(false))
		}
		if cfg.Cache != nil {
			opts = append(opts, public.WithCache(cfg.Cache))
		}
		p, err := public.New(cfg.ClientID, opts...)
		if err != nil {
			return nil, &ConfigError{"authority", err.Error()}
		}
		s.pub = &p
	default:
		return nil, &ConfigError{"auth", fmt.Sprintf("%q is not an OAuth mode (oauth-app-secret, oauth-app-cert, oauth-delegated)", cfg.Mode)}
	}
	return s, nil
}

func authorityURL(cl Cloud, override, tenant string) (string, error) {
	if override == "" {
		return cl.LoginHost + "/" + tenant, nil
	}
	u, err := url.Parse(strings.TrimRight(override, "/"))
	if err != nil || u.Host == "" {
		return "", &ConfigError{"authority", fmt.Sprintf("%q is not a URL such as https://login.microsoftonline.com", override)}
	}
	if u.Scheme != "https" {
		return "", &ConfigError{"authority", "the authority must be https://"}
	}
	if u.Path == "" {
		u.Path = "/" + tenant
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Token returns a valid access token (it plugs into transport.Auth.Token). It reuses the
// last token until close to its expiry, then asks MSAL, which serves it from its cache
// or refreshes it silently; a delegated profile without a saved sign-in signs in
// (browser or device code) unless NoPrompt.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if s.tok != "" {
		margin := min(5*time.Minute, s.exp.Sub(s.iat)/2)
		if now.Add(margin).Before(s.exp) {
			return s.tok, nil
		}
	}
	var tok string
	var err error
	if s.conf != nil {
		var r confidential.AuthResult
		r, err = s.conf.AcquireTokenByCredential(ctx, s.scopes)
		tok = r.AccessToken
	} else {
		tok, err = s.delegated(ctx)
	}
	if err != nil {
		return "", wrap("getting a token from Entra ID", err)
	}
	c, derr := DecodeClaims(tok)
	if derr != nil {
		return "", fmt.Errorf("the access token from Entra ID cannot be read: %w", derr)
	}
	s.tok, s.claims, s.have = tok, c, true
	s.exp, s.iat = c.Exp, c.Iat
	if s.iat.IsZero() {
		s.iat = now
	}
	return tok, nil
}

func (s *Source) delegated(ctx context.Context) (string, error) {
	accts, err := s.pub.Accounts(ctx)
	if err != nil {
		return "", err
	}
	var silentErr error
	for _, a := range accts {
		if s.cfg.LoginHint != "" && !strings.EqualFold(a.PreferredUsername, s.cfg.LoginHint) {
			continue
		}
		r, err := s.pub.AcquireTokenSilent(ctx, s.scopes, public.WithSilentAccount(a))
		if err == nil {
			return r.AccessToken, nil
		}
		if AsAAD(err) == nil {
			return "", err // network or keychain trouble: a new sign-in would not help
		}
		silentErr = err
		break
	}
	if s.cfg.NoPrompt {
		if silentErr != nil {
			return "", fmt.Errorf("%w (the saved sign-in no longer works: %v)", ErrNotSignedIn, AsAAD(silentErr))
		}
		return "", ErrNotSignedIn
	}
	if s.cfg.DeviceCode != nil {
		dc, err := s.pub.AcquireTokenByDeviceCode(ctx, s.scopes)
		if err != nil {
			return "", err
		}
		s.cfg.DeviceCode(ctx, dc.Result.Message)
		r, err := dc.AuthenticationResult(ctx)
		if err != nil {
			return "", err
		}
		return r.AccessToken, nil
	}
	var opts []public.AcquireInteractiveOption
	if s.cfg.OpenURL != nil {
		opts = append(opts, public.WithOpenURL(s.cfg.OpenURL))
	}
	if s.cfg.LoginHint != "" {
		opts = append(opts, public.WithLoginHint(s.cfg.LoginHint))
	}
	r, err := s.pub.AcquireTokenInteractive(ctx, s.scopes, opts...)
	if err != nil {
		return "", err
	}
	return r.AccessToken, nil
}

// Claims is the decoded payload of the last token (zero before the first).
func (s *Source) Claims() Claims {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims
}

// SignOut forgets the signed-in accounts and deletes the saved token cache.
func (s *Source) SignOut(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok, s.claims, s.have = "", Claims{}, false
	var errs []error
	if s.pub != nil {
		accts, err := s.pub.Accounts(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, a := range accts {
			if err := s.pub.RemoveAccount(ctx, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if d, ok := s.cfg.Cache.(interface{ Delete(context.Context) error }); ok {
		if err := d.Delete(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Mode is the authentication mode.
func (s *Source) Mode() string { return s.cfg.Mode }

// Cloud is the cloud the source signs in to.
func (s *Source) Cloud() Cloud { return s.cloud }

// Tenant and ClientID as configured.
func (s *Source) Tenant() string   { return s.cfg.Tenant }
func (s *Source) ClientID() string { return s.cfg.ClientID }

// Authority is the authority URL MSAL uses.
func (s *Source) Authority() string { return s.authority }

// Scopes requested.
func (s *Source) Scopes() []string { return append([]string(nil), s.scopes...) }

// AppOnly reports whether the source gets application tokens.
func (s *Source) AppOnly() bool { return s.conf != nil }

// Certificate describes the client certificate (nil unless ModeAppCert).
func (s *Source) Certificate() *CertInfo {
	if s.cert == nil {
		return nil
	}
	i := s.cert.Info()
	return &i
}
