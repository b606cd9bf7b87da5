// Package entra is a fake Microsoft Entra ID (Azure AD v2.0 endpoints) for the simulated
// Exchange Online: OpenID configuration, JWKS, the token endpoint (client credentials with
// a client secret or a certificate-signed client assertion, refresh tokens, authorization
// code with PKCE, device code), the device-code and authorize endpoints. It issues real
// RS256-signed JWT access tokens with the claims Exchange Online checks (aud, tid, appid,
// roles or scp, exp) and answers errors the way Entra does: JSON with error,
// error_description "AADSTS…", error_codes, timestamp, trace_id, correlation_id.
//
// It shares no code with Deputy's client side (internal/oauth) on purpose; MSAL is the
// client it is tested against.
package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Well-known resources (audiences) and permissions.
const (
	ResourceEXO       = "https://outlook.office365.com"
	ResourceGraph     = "https://graph.microsoft.com"
	RoleFullAccess    = "full_access_as_app"
	ScopeEWSDelegated = "EWS.AccessAsUser.All"
)

// Tenant is one directory.
type Tenant struct {
	ID     string // GUID
	Domain string // e.g. fabrikam.onmicrosoft.com (also accepted in the authority path)
	Name   string // display name
	Apps   []App
	Users  []User
}

// App is an app registration with its enterprise application (consents) in the tenant.
type App struct {
	ClientID     string
	Name         string
	Secrets      []Secret
	Certificates []string // PEM certificates registered as credentials ("Certificates & secrets")
	// AppRoles: resource (e.g. ResourceEXO) → application permissions with admin consent.
	AppRoles map[string][]string
	// Scopes: resource → delegated permissions consented.
	Scopes map[string][]string
	// Public allows public-client flows (interactive, device code): "Allow public client flows".
	Public bool
	// OmitScopes are delegated permissions left out of the scp claim of this app's access
	// tokens although asked for and consented: a test knob for a client's own check of
	// the token it got.
	OmitScopes []string
}

// Secret is a client secret.
type Secret struct {
	Value   string
	Expires time.Time // zero: never
}

// User can sign in to delegated flows.
type User struct {
	UPN      string
	Name     string
	ObjectID string
}

// Config is the directory the fake serves.
type Config struct {
	Tenants       []Tenant
	TokenLifetime time.Duration // access tokens; default 1 h
	// Resources are the audiences that exist (others: AADSTS500011). Default EXO and Graph.
	Resources []string
}

// Entra is a running fake identity provider. Mount it on a mux served over TLS.
type Entra struct {
	key *rsa.PrivateKey
	kid string

	mu      sync.Mutex
	cfg     Config
	certs   map[string][]regCert // client id → parsed certificates
	refresh map[string]*grant    // refresh token → grant
	codes   map[string]*grant    // authorization code → grant
	devices map[string]*device   // device_code → state
	issued  int
	reqs    int
}

type regCert struct {
	cert   *x509.Certificate
	sha1   []byte
	sha256 []byte
}

// grant is what a refresh token or code stands for.
type grant struct {
	tenant    *Tenant
	app       *App
	user      *User
	resource  string
	scopes    []string
	expires   time.Time
	challenge string // PKCE S256 (codes only)
	redirect  string
}

type device struct {
	grant    *grant
	userCode string
	approved bool
	expires  time.Time
}

// New creates the fake with a fresh signing key.
func New(cfg Config) (*Entra, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	e := &Entra{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12]),
		refresh: map[string]*grant{}, codes: map[string]*grant{}, devices: map[string]*device{}}
	if err := e.set(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// Update changes the directory while serving (consent granted or revoked, lifetime, …).
func (e *Entra) Update(f func(*Config)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := cloneConfig(e.cfg)
	f(&cfg)
	return e.setLocked(cfg)
}

func (e *Entra) set(cfg Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.setLocked(cfg)
}

func (e *Entra) setLocked(cfg Config) error {
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if len(cfg.Resources) == 0 {
		cfg.Resources = []string{ResourceEXO, ResourceGraph}
	}
	certs := map[string][]regCert{}
	for _, t := range cfg.Tenants {
		if t.ID == "" {
			return errors.New("entra: a tenant has no ID")
		}
		for _, a := range t.Apps {
			for i, p := range a.Certificates {
				b, _ := pem.Decode([]byte(p))
				if b == nil || b.Type != "CERTIFICATE" {
					return fmt.Errorf("entra: app %s certificate %d is not a PEM certificate", a.ClientID, i)
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return fmt.Errorf("entra: app %s certificate %d: %w", a.ClientID, i, err)
				}
				s1 := sha1.Sum(c.Raw)
				s2 := sha256.Sum256(c.Raw)
				certs[strings.ToLower(a.ClientID)] = append(certs[strings.ToLower(a.ClientID)], regCert{c, s1[:], s2[:]})
			}
		}
	}
	e.cfg, e.certs = cfg, certs
	return nil
}

func cloneConfig(c Config) Config {
	out := c
	out.Resources = slices.Clone(c.Resources)
	out.Tenants = make([]Tenant, len(c.Tenants))
	for i, t := range c.Tenants {
		t.Users = slices.Clone(t.Users)
		apps := make([]App, len(t.Apps))
		for j, a := range t.Apps {
			a.Secrets = slices.Clone(a.Secrets)
			a.Certificates = slices.Clone(a.Certificates)
			a.AppRoles = cloneMap(a.AppRoles)
			a.Scopes = cloneMap(a.Scopes)
			a.OmitScopes = slices.Clone(a.OmitScopes)
			apps[j] = a
		}
		t.Apps = apps
		out.Tenants[i] = t
	}
	return out
}

func cloneMap(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// PublicKey is the token-signing key (what Exchange Online fetches from the JWKS).
func (e *Entra) PublicKey() *rsa.PublicKey { return &e.key.PublicKey }

// TokensIssued counts access tokens issued (for cache and refresh tests).
func (e *Entra) TokensIssued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued
}

// TokenRequests counts requests to the token endpoint.
func (e *Entra) TokenRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reqs
}

// Mount registers the endpoints on mux:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/discovery/v2.0/keys
//	POST /{tenant}/oauth2/v2.0/token
//	POST /{tenant}/oauth2/v2.0/devicecode
//	GET  /{tenant}/oauth2/v2.0/authorize
//	GET, POST /{tenant}/oauth2/deviceauth (the page a user enters the device code on)
func (e *Entra) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.openIDConfig)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", e.jwks)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", e.deviceCode)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", e.authorize)
	mux.HandleFunc("GET /{tenant}/oauth2/deviceauth", e.deviceAuthPage)
	mux.HandleFunc("POST /{tenant}/oauth2/deviceauth", e.deviceAuthSubmit)
}

// tenant resolves the authority path segment: tenant ID or domain.
func (e *Entra) tenantLocked(name string) *Tenant {
	for i := range e.cfg.Tenants {
		t := &e.cfg.Tenants[i]
		if strings.EqualFold(t.ID, name) || (t.Domain != "" && strings.EqualFold(t.Domain, name)) {
			return t
		}
	}
	return nil
}

func (t *Tenant) app(clientID string) *App {
	for i := range t.Apps {
		if strings.EqualFold(t.Apps[i].ClientID, clientID) {
			return &t.Apps[i]
		}
	}
	return nil
}

func (t *Tenant) user(upn string) *User {
	for i := range t.Users {
		if strings.EqualFold(t.Users[i].UPN, upn) {
			return &t.Users[i]
		}
	}
	return nil
}

func (t *Tenant) displayName() string {
	if t.Name != "" {
		return t.Name
	}
	if t.Domain != "" {
		return t.Domain
	}
	return t.ID
}

// base is https://host of the request (the fake lives on the simulator's origin).
func base(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func (e *Entra) openIDConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("tenant")
	e.mu.Lock()
	t := e.tenantLocked(name)
	e.mu.Unlock()
	if t == nil {
		writeError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", name))
		return
	}
	b := base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        b + "/" + t.ID + "/oauth2/v2.0/token",
		"authorization_endpoint":                b + "/" + t.ID + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         b + "/" + t.ID + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              b + "/" + t.ID + "/discovery/v2.0/keys",
		"issuer":                                b + "/" + t.ID + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (e *Entra) jwks(w http.ResponseWriter, r *http.Request) {
	pub := e.key.PublicKey
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	eb := base64.RawURLEncoding.EncodeToString(bigEndian(pub.E))
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": e.kid, "n": n, "e": eb, "alg": "RS256",
	}}})
}

func bigEndian(v int) []byte {
	var out []byte
	for v > 0 {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
	}
	return out
}
