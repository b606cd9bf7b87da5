package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"deputy/internal/exchangesim/entra"
	"deputy/internal/oauth"
	"deputy/internal/secret"
	"deputy/internal/transport"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"software.sslmate.com/src/go-pkcs12"
)

const (
	tenantID = "6f1c2a4e-0b7d-4c1e-9a53-2d8e4b7f0c11"
	appID    = "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c"
	publicID = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
	noRoleID = "11111111-2222-4333-8444-555555555555"
	secretV  = "Zx8~secret-value-that-must-never-leak"
	pfxPass  = "pfx-password-never-leak"
	upn      = "adele@fabrikam.onmicrosoft.com"
)

type cred struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pem  []byte // cert + key
	pfx  []byte
}

var (
	credOnce sync.Once
	goodC    cred
	expC     cred
	otherC   cred
)

func mkCred(notBefore, notAfter time.Time) cred {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Deputy EWS app"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	p := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	pfx, err := pkcs12.Modern.Encode(key, c, nil, pfxPass)
	if err != nil {
		panic(err)
	}
	return cred{c, key, p, pfx}
}

func creds() {
	credOnce.Do(func() {
		now := time.Now()
		goodC = mkCred(now.Add(-time.Hour), now.Add(300*24*time.Hour))
		expC = mkCred(now.Add(-72*time.Hour), now.Add(-24*time.Hour))
		otherC = mkCred(now.Add(-time.Hour), now.Add(24*time.Hour))
	})
}

type lab struct {
	srv  *httptest.Server
	e    *entra.Entra
	http *http.Client
}

func certPEM(c cred) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
}

func newLab(t *testing.T, life time.Duration) *lab {
	t.Helper()
	creds()
	e, err := entra.New(entra.Config{TokenLifetime: life, Tenants: []entra.Tenant{{
		ID: tenantID, Domain: "fabrikam.onmicrosoft.com",
		Users: []entra.User{{UPN: upn, Name: "Adele Vance", ObjectID: "0c5c6f1b-1111-4222-8333-944445555666"}},
		Apps: []entra.App{
			{ClientID: appID, Name: "Deputy", Secrets: []entra.Secret{{Value: secretV}}, Certificates: []string{certPEM(goodC), certPEM(expC)},
				AppRoles: map[string][]string{entra.ResourceEXO: {entra.RoleFullAccess}}},
			{ClientID: noRoleID, Name: "No consent", Secrets: []entra.Secret{{Value: secretV}}},
			{ClientID: publicID, Name: "Deputy delegated", Public: true, Scopes: map[string][]string{entra.ResourceEXO: {entra.ScopeEWSDelegated}}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.Mount(mux)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	hc, err := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: hex.EncodeToString(sum[:])}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &lab{srv: srv, e: e, http: hc}
}

func (l *lab) cfg(mode, client string) oauth.Config {
	return oauth.Config{Mode: mode, Authority: l.srv.URL, Tenant: tenantID, ClientID: client, HTTPClient: l.http}
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// noLeak fails if any secret or token appears in s.
func noLeak(t *testing.T, what, s string, toks ...string) {
	t.Helper()
	for _, x := range append([]string{secretV, pfxPass}, toks...) {
		if x != "" && strings.Contains(s, x) {
			t.Fatalf("%s leaks a secret or token: %s", what, s)
		}
	}
}

func TestAppOnly(t *testing.T) {
	l := newLab(t, time.Hour)
	cases := []struct {
		name      string
		mutate    func(*oauth.Config)
		wantCode  string // AADSTS code
		wantCert  bool   // *CertError before any request
		wantRoles bool
	}{
		{"secret", func(c *oauth.Config) { c.Secret = secretV }, "", false, true},
		{"certificate PEM", func(c *oauth.Config) { c.Mode, c.CertPEM = oauth.ModeAppCert, goodC.pem }, "", false, true},
		{"certificate PFX with password", func(c *oauth.Config) { c.Mode, c.PFX, c.PFXPassword = oauth.ModeAppCert, goodC.pfx, pfxPass }, "", false, true},
		{"no consent: token without role", func(c *oauth.Config) { c.Secret, c.ClientID = secretV, noRoleID }, "", false, false},
		{"wrong secret", func(c *oauth.Config) { c.Secret = "wrong-" + secretV }, "AADSTS7000215", false, false},
		{"unknown client", func(c *oauth.Config) { c.Secret, c.ClientID = secretV, "00000000-0000-4000-8000-000000000001" }, "AADSTS700016", false, false},
		{"unknown tenant", func(c *oauth.Config) { c.Secret, c.Tenant = secretV, "contoso.onmicrosoft.com" }, "AADSTS90002", false, false},
		{"certificate not registered", func(c *oauth.Config) { c.Mode, c.CertPEM = oauth.ModeAppCert, otherC.pem }, "AADSTS700027", false, false},
		{"expired certificate (checked locally)", func(c *oauth.Config) { c.Mode, c.CertPEM = oauth.ModeAppCert, expC.pem }, "", true, false},
		{"wrong PFX password", func(c *oauth.Config) { c.Mode, c.PFX, c.PFXPassword = oauth.ModeAppCert, goodC.pfx, "nope" }, "", true, false},
		{"PFX without password", func(c *oauth.Config) { c.Mode, c.PFX = oauth.ModeAppCert, goodC.pfx }, "", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := l.cfg(oauth.ModeAppSecret, appID)
			tc.mutate(&cfg)
			before := l.e.TokenRequests()
			src, err := oauth.NewSource(cfg)
			if tc.wantCert {
				var ce *oauth.CertError
				if !errors.As(err, &ce) {
					t.Fatalf("want *CertError, got %v", err)
				}
				noLeak(t, "cert error", err.Error())
				if l.e.TokenRequests() != before {
					t.Fatal("a certificate problem must be found before contacting Entra")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(tctx(t))
			if tc.wantCode != "" {
				var ae *oauth.AADError
				if !errors.As(err, &ae) || ae.Code != tc.wantCode || ae.Meaning == "" || !strings.Contains(ae.Description, tc.wantCode) {
					t.Fatalf("want %s with a meaning, got %#v (%v)", tc.wantCode, ae, err)
				}
				noLeak(t, "error", err.Error()+ae.Description+ae.Meaning)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := src.Claims()
			if c.Aud != entra.ResourceEXO || c.Tid != tenantID || c.Client() != cfg.ClientID || !c.AppOnly() || c.HasRole(oauth.RoleFullAccessAsApp) != tc.wantRoles {
				t.Fatalf("claims %+v", c)
			}
			if cfg.Mode == oauth.ModeAppCert {
				ci := src.Certificate()
				if ci == nil || len(ci.Thumbprint) != 40 || ci.Subject != "CN=Deputy EWS app" {
					t.Fatalf("cert info %+v", ci)
				}
			}
			b, _ := json.Marshal(c)
			noLeak(t, "claims", string(b), tok)
			// A second call is served without Entra.
			n := l.e.TokenRequests()
			tok2, err := src.Token(tctx(t))
			if err != nil || tok2 != tok || l.e.TokenRequests() != n {
				t.Fatalf("second token: %v, requests %d→%d", err, n, l.e.TokenRequests())
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		cfg   oauth.Config
		field string
	}{
		{"no client id", oauth.Config{Mode: oauth.ModeAppSecret, Tenant: "t", Secret: "s"}, "client-id"},
		{"no tenant", oauth.Config{Mode: oauth.ModeAppSecret, ClientID: appID, Secret: "s"}, "tenant"},
		{"no secret", oauth.Config{Mode: oauth.ModeAppSecret, ClientID: appID, Tenant: "t"}, "client-secret"},
		{"no cert", oauth.Config{Mode: oauth.ModeAppCert, ClientID: appID, Tenant: "t"}, "cert"},
		{"bad mode", oauth.Config{Mode: "basic", ClientID: appID, Tenant: "t"}, "auth"},
		{"bad cloud", oauth.Config{Mode: oauth.ModeAppSecret, ClientID: appID, Tenant: "t", Secret: "s", Cloud: "mars"}, "cloud"},
		{"http authority", oauth.Config{Mode: oauth.ModeAppSecret, ClientID: appID, Tenant: "t", Secret: "s", Authority: "http://x"}, "authority"},
		{"bad resource", oauth.Config{Mode: oauth.ModeAppSecret, ClientID: appID, Tenant: "t", Secret: "s", Resource: "sharepoint"}, "resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oauth.NewSource(tc.cfg)
			var ce *oauth.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("want ConfigError on %s, got %v", tc.field, err)
			}
		})
	}
}

func TestClouds(t *testing.T) {
	cases := []struct{ cloud, authority, ews, graph string }{
		{"", "https://login.microsoftonline.com/contoso.onmicrosoft.com", "https://outlook.office365.com/EWS/Exchange.asmx", "https://graph.microsoft.com/.default"},
		{"gcc-high", "https://login.microsoftonline.us/contoso.onmicrosoft.com", "https://outlook.office365.us/EWS/Exchange.asmx", "https://graph.microsoft.us/.default"},
		{"dod", "https://login.microsoftonline.us/contoso.onmicrosoft.com", "https://webmail.apps.mil/EWS/Exchange.asmx", "https://dod-graph.microsoft.us/.default"},
		{"china", "https://login.chinacloudapi.cn/contoso.onmicrosoft.com", "https://partner.outlook.cn/EWS/Exchange.asmx", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	for _, tc := range cases {
		t.Run(tc.cloud, func(t *testing.T) {
			src, err := oauth.NewSource(oauth.Config{Mode: oauth.ModeAppSecret, Cloud: tc.cloud, Tenant: "contoso.onmicrosoft.com", ClientID: appID, Secret: "s", Resource: oauth.ResourceGraph})
			if err != nil {
				t.Fatal(err)
			}
			if src.Authority() != tc.authority || src.Cloud().EWSURL != tc.ews || src.Scopes()[0] != tc.graph {
				t.Fatalf("%s %s %v", src.Authority(), src.Cloud().EWSURL, src.Scopes())
			}
			c := src.Cloud()
			if !c.IsEXOAudience(strings.TrimSuffix(c.EWSURL, "/EWS/Exchange.asmx")) || !c.IsEXOAudience(oauth.EXOAppID) || c.IsEXOAudience(c.GraphResource) {
				t.Fatal("audience check")
			}
			if !strings.HasPrefix(c.AdminConsentURL("t", appID), c.LoginHost+"/t/adminconsent?client_id="+appID) {
				t.Fatal(c.AdminConsentURL("t", appID))
			}
		})
	}
}

// memCache is an in-memory cache.ExportReplace (the keychain variant is tested below).
type memCache struct {
	mu      sync.Mutex
	data    []byte
	deleted bool
}

func (m *memCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	return u.Unmarshal(m.data)
}
func (m *memCache) Export(_ context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	b, err := c.Marshal()
	m.mu.Lock()
	m.data = b
	m.mu.Unlock()
	return err
}
func (m *memCache) Delete(context.Context) error {
	m.mu.Lock()
	m.data, m.deleted = nil, true
	m.mu.Unlock()
	return nil
}

func (l *lab) browse(t *testing.T) func(string) error {
	return func(u string) error { return entra.Browse(context.Background(), l.http, u) }
}

func TestDelegatedInteractiveCacheAndSignOut(t *testing.T) {
	l := newLab(t, time.Hour)
	mc := &memCache{}
	cfg := l.cfg(oauth.ModeDelegated, publicID)
	cfg.Cache, cfg.OpenURL = mc, l.browse(t)
	src, err := oauth.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(tctx(t)); err != nil {
		t.Fatal(err)
	}
	c := src.Claims()
	if c.AppOnly() || !c.HasScope(oauth.ScopeEWSAccessAsUser) || c.UPN != upn {
		t.Fatalf("claims %+v", c)
	}
	// A new source (as after a restart) signs in silently from the saved cache.
	cfg2 := cfg
	cfg2.OpenURL, cfg2.NoPrompt = nil, true
	src2, _ := oauth.NewSource(cfg2)
	n := l.e.TokenRequests()
	if _, err := src2.Token(tctx(t)); err != nil {
		t.Fatalf("silent from cache: %v", err)
	}
	if l.e.TokenRequests() != n {
		t.Fatal("a cached token should not cost a request")
	}
	if err := src2.SignOut(tctx(t)); err != nil || !mc.deleted {
		t.Fatalf("sign out: %v deleted=%v", err, mc.deleted)
	}
	src3, _ := oauth.NewSource(cfg2)
	if _, err := src3.Token(tctx(t)); !errors.Is(err, oauth.ErrNotSignedIn) {
		t.Fatalf("after sign-out want ErrNotSignedIn, got %v", err)
	}
}

func TestDelegatedDeviceCode(t *testing.T) {
	l := newLab(t, time.Hour)
	cfg := l.cfg(oauth.ModeDelegated, publicID)
	var shown string
	cfg.DeviceCode = func(ctx context.Context, msg string) {
		shown = msg
		f := strings.Fields(msg)
		code := f[len(f)-3] // "... enter the code XXXX to authenticate."
		go func() {
			time.Sleep(300 * time.Millisecond)
			if err := l.e.ApproveDevice(code, upn); err != nil {
				panic(err)
			}
		}()
	}
	src, err := oauth.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown, "enter the code") || src.Claims().UPN != upn {
		t.Fatalf("shown %q claims %+v", shown, src.Claims())
	}
}

func TestDelegatedMissingConsent(t *testing.T) {
	l := newLab(t, time.Hour)
	cfg := l.cfg(oauth.ModeDelegated, publicID)
	cfg.OpenURL, cfg.Resource = l.browse(t), oauth.ResourceGraph
	src, _ := oauth.NewSource(cfg)
	_, err := src.Token(tctx(t))
	var ae *oauth.AADError
	if !errors.As(err, &ae) || ae.Code != "AADSTS65001" || ae.Meaning == "" {
		t.Fatalf("want AADSTS65001, got %v", err)
	}
}

// Short-lived tokens: Token refreshes through MSAL (client credentials again, or the
// refresh token for a user) without any prompt.
func TestExpiryAndSilentRefresh(t *testing.T) {
	for _, mode := range []string{oauth.ModeAppSecret, oauth.ModeDelegated} {
		t.Run(mode, func(t *testing.T) {
			l := newLab(t, 2*time.Second)
			cfg := l.cfg(mode, appID)
			cfg.Secret = secretV
			if mode == oauth.ModeDelegated {
				cfg = l.cfg(mode, publicID)
				cfg.OpenURL = l.browse(t)
			}
			src, err := oauth.NewSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t1, err := src.Token(tctx(t))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond) // past half the lifetime
			n := l.e.TokensIssued()
			t2, err := src.Token(tctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if t2 == t1 || l.e.TokensIssued() != n+1 {
				t.Fatalf("expected a silent refresh (issued %d→%d)", n, l.e.TokensIssued())
			}
			if _, err := l.e.Verify(t2, time.Now()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAADErrorParsing(t *testing.T) {
	cases := []struct {
		text, code string
	}{
		{"http call(https://x/t/oauth2/v2.0/token)(POST) error: reply status code was 401:\n" + `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app 'x' are expired.","error_codes":[7000222],"trace_id":"a","correlation_id":"b"}`, "AADSTS7000222"},
		{"AADSTS53003: Access has been blocked by Conditional Access policies.", "AADSTS53003"},
		{"connection refused", ""},
		{"http call(x) error: reply status code was 500:\n{not json", ""},
	}
	for _, tc := range cases {
		src := fmt.Errorf("wrapped: %w", errors.New(tc.text))
		code := ""
		var ae *oauth.AADError
		if err := oauth.AsAAD(src); err != nil && errors.As(err, &ae) {
			code = ae.Code
		}
		if code != tc.code {
			t.Errorf("%q: got %q want %q", tc.text, code, tc.code)
		}
	}
}

func TestDecodeClaimsHostile(t *testing.T) {
	for _, s := range []string{"", "a.b", "a.!!.c", "a." + "e30" + ".c", "a.bnVsbA.c"} {
		c, err := oauth.DecodeClaims(s)
		if err == nil && c.Aud != "" {
			t.Errorf("%q decoded to %+v", s, c)
		}
	}
}

// The token cache in a real Secret Service: sign in once, restart (new Source), silent.
func TestKeychainCacheRoundTrip(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	l := newLab(t, time.Hour)
	store := secret.New()
	kc := oauth.NewKeychainCache(store, "oauth-test-"+fmt.Sprint(time.Now().UnixNano()))
	t.Cleanup(func() { _ = kc.Delete(context.Background()) })
	cfg := l.cfg(oauth.ModeDelegated, publicID)
	cfg.Cache, cfg.OpenURL = kc, l.browse(t)
	src, _ := oauth.NewSource(cfg)
	tok, err := src.Token(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := store.Get(tctx(t), kc.Key)
	if err != nil || len(saved) < 1000 {
		t.Fatalf("saved cache: %d bytes, %v", len(saved), err)
	}
	cfg.OpenURL, cfg.NoPrompt = nil, true
	src2, _ := oauth.NewSource(cfg)
	n := l.e.TokenRequests()
	tok2, err := src2.Token(tctx(t))
	if err != nil || tok2 != tok || l.e.TokenRequests() != n {
		t.Fatalf("silent from keychain: %v", err)
	}
	if err := src2.SignOut(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if has, err := store.Has(tctx(t), kc.Key); err != nil || has {
		t.Fatalf("cache entry still there after sign-out: %v %v", has, err)
	}
}
