package entra_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"deputy/internal/exchangesim/entra"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

const (
	tenantID  = "6f1c2a4e-0b7d-4c1e-9a53-2d8e4b7f0c11"
	appID     = "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c"
	publicID  = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
	noRoleID  = "11111111-2222-4333-8444-555555555555"
	goodValue = "demo-secret-value-Abc123~"
)

type certKey struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pem  string
}

var (
	keyOnce sync.Once
	rsaKeys []*rsa.PrivateKey
)

func keys(t *testing.T) []*rsa.PrivateKey {
	keyOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	return rsaKeys
}

func makeCert(t *testing.T, key *rsa.PrivateKey, notBefore, notAfter time.Time) certKey {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "deputy-app"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return certKey{c, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

type fixture struct {
	srv     *httptest.Server
	e       *entra.Entra
	good    certKey
	expired certKey
	other   certKey // not registered
}

func setup(t *testing.T, life time.Duration) *fixture {
	t.Helper()
	k := keys(t)
	now := time.Now()
	f := &fixture{
		good:    makeCert(t, k[0], now.Add(-time.Hour), now.Add(365*24*time.Hour)),
		expired: makeCert(t, k[1], now.Add(-48*time.Hour), now.Add(-24*time.Hour)),
		other:   makeCert(t, k[2], now.Add(-time.Hour), now.Add(24*time.Hour)),
	}
	e, err := entra.New(entra.Config{TokenLifetime: life, Tenants: []entra.Tenant{{
		ID: tenantID, Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam",
		Users: []entra.User{{UPN: "adele@fabrikam.onmicrosoft.com", Name: "Adele Vance", ObjectID: "0c5c6f1b-1111-4222-8333-944445555666"}},
		Apps: []entra.App{
			{ClientID: appID, Name: "Deputy scheduler", Secrets: []entra.Secret{{Value: goodValue}, {Value: "old-secret", Expires: now.Add(-time.Hour)}},
				Certificates: []string{f.good.pem, f.expired.pem},
				AppRoles:     map[string][]string{entra.ResourceEXO: {entra.RoleFullAccess}}},
			{ClientID: noRoleID, Name: "No consent", Secrets: []entra.Secret{{Value: goodValue}}},
			{ClientID: publicID, Name: "Deputy delegated", Public: true,
				Scopes: map[string][]string{entra.ResourceEXO: {entra.ScopeEWSDelegated}}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.Mount(mux)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	f.e = e
	return f
}

func (f *fixture) confidential(t *testing.T, tenant, client string, cred confidential.Credential) confidential.Client {
	t.Helper()
	c, err := confidential.New(f.srv.URL+"/"+tenant, client, cred, confidential.WithHTTPClient(f.srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// forged builds a PS256 client assertion naming ck's thumbprint but signed with key.
func forged(t *testing.T, ck certKey, key *rsa.PrivateKey, aud string) confidential.Credential {
	return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		sum := sha256.Sum256(ck.cert.Raw)
		return signJWT("PS256", map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])},
			assertionClaims(aud), key)
	})
}

func forgedRS256(t *testing.T, ck certKey, aud string) confidential.Credential {
	return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		sum := sha1.Sum(ck.cert.Raw)
		return signJWT("RS256", map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(sum[:])},
			assertionClaims(aud), ck.key)
	})
}

func assertionClaims(aud string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"aud": aud, "iss": appID, "sub": appID, "jti": "x", "nbf": now, "exp": now + 600}
}

func signJWT(alg string, hdr, claims map[string]any, key *rsa.PrivateKey) (string, error) {
	h, _ := json.Marshal(hdr)
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), err
}

var exoDefault = []string{entra.ResourceEXO + "/.default"}

func TestClientCredentials(t *testing.T) {
	f := setup(t, time.Hour)
	secret := func(s string) confidential.Credential {
		c, err := confidential.NewCredFromSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cert := func(ck certKey, key *rsa.PrivateKey) confidential.Credential {
		c, err := confidential.NewCredFromCert([]*x509.Certificate{ck.cert}, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name, tenant, client string
		cred                 confidential.Credential
		scopes               []string
		wantErr              string // AADSTS code in the error; "" = success
		wantRoles            []string
	}{
		{"secret", tenantID, appID, secret(goodValue), exoDefault, "", []string{"full_access_as_app"}},
		{"secret, tenant by domain", "fabrikam.onmicrosoft.com", appID, secret(goodValue), exoDefault, "", []string{"full_access_as_app"}},
		{"certificate", tenantID, appID, cert(f.good, f.good.key), exoDefault, "", []string{"full_access_as_app"}},
		{"no consent: token without roles", tenantID, noRoleID, secret(goodValue), exoDefault, "", nil},
		{"graph token has no EXO role", tenantID, appID, secret(goodValue), []string{entra.ResourceGraph + "/.default"}, "", nil},
		{"wrong secret", tenantID, appID, secret("nope"), exoDefault, "AADSTS7000215", nil},
		{"expired secret", tenantID, appID, secret("old-secret"), exoDefault, "AADSTS7000222", nil},
		{"unknown client", tenantID, "00000000-0000-4000-8000-000000000000", secret(goodValue), exoDefault, "AADSTS700016", nil},
		{"unknown tenant", "contoso.onmicrosoft.com", appID, secret(goodValue), exoDefault, "AADSTS90002", nil},
		{"expired certificate", tenantID, appID, cert(f.expired, f.expired.key), exoDefault, "AADSTS700027", nil},
		{"unregistered certificate", tenantID, appID, cert(f.other, f.other.key), exoDefault, "AADSTS700027", nil},
		{"signature by another key", tenantID, appID, forged(t, f.good, f.other.key, f.srv.URL+"/"+tenantID+"/oauth2/v2.0/token"), exoDefault, "AADSTS700027", nil},
		{"assertion for another audience", tenantID, appID, forged(t, f.good, f.good.key, "https://login.microsoftonline.com/"+tenantID+"/oauth2/v2.0/token"), exoDefault, "AADSTS700212", nil},
		{"RS256 with x5t (ADFS style)", tenantID, appID, forgedRS256(t, f.good, f.srv.URL+"/"+tenantID+"/oauth2/v2.0/token"), exoDefault, "", []string{"full_access_as_app"}},
		{"unknown resource", tenantID, appID, secret(goodValue), []string{"https://nothing.example/.default"}, "AADSTS500011", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.confidential(t, tc.tenant, tc.client, tc.cred)
			res, err := c.AcquireTokenByCredential(ctx(t), tc.scopes)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want %s, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cl, err := f.e.Verify(res.AccessToken, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(tc.scopes[0], "/.default")
			if cl.Aud != want || cl.Tid != tenantID || cl.AppID != tc.client || !cl.AppOnly() || cl.Ver != "1.0" {
				t.Errorf("claims %+v", cl)
			}
			if strings.Join(cl.Roles, ",") != strings.Join(tc.wantRoles, ",") {
				t.Errorf("roles %v, want %v", cl.Roles, tc.wantRoles)
			}
		})
	}
}

// Entra's error body: every field a client may parse.
func TestErrorShape(t *testing.T) {
	f := setup(t, time.Hour)
	resp, err := f.srv.Client().PostForm(f.srv.URL+"/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {"wrong"}, "scope": {exoDefault[0]}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error, ErrorDescription, Timestamp, TraceID, CorrelationID string
		ErrorCodes                                                 []int
	}
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	body.Error, _ = m["error"].(string)
	body.ErrorDescription, _ = m["error_description"].(string)
	body.TraceID, _ = m["trace_id"].(string)
	body.CorrelationID, _ = m["correlation_id"].(string)
	body.Timestamp, _ = m["timestamp"].(string)
	if resp.StatusCode != 401 || body.Error != "invalid_client" || !strings.HasPrefix(body.ErrorDescription, "AADSTS7000215: Invalid client secret provided.") ||
		body.TraceID == "" || body.CorrelationID == "" || body.Timestamp == "" || m["error_codes"] == nil {
		t.Fatalf("status %d body %s", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "wrong") {
		t.Fatal("the error echoes the secret")
	}
}

func TestInteractiveAndSilentRefresh(t *testing.T) {
	f := setup(t, 2*time.Second) // below MSAL's 5-minute margin: every silent call refreshes
	pc, err := public.New(publicID, public.WithAuthority(f.srv.URL+"/"+tenantID), public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{entra.ResourceEXO + "/" + entra.ScopeEWSDelegated}
	res, err := pc.AcquireTokenInteractive(ctx(t), scopes, public.WithOpenURL(func(u string) error {
		return entra.Browse(context.Background(), f.srv.Client(), u)
	}))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := f.e.Verify(res.AccessToken, time.Now())
	if err != nil || cl.Scp != entra.ScopeEWSDelegated || cl.UPN != "adele@fabrikam.onmicrosoft.com" || cl.AppOnly() {
		t.Fatalf("claims %+v err %v", cl, err)
	}
	accts, err := pc.Accounts(ctx(t))
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts %v %v", accts, err)
	}
	before := f.e.TokensIssued()
	res2, err := pc.AcquireTokenSilent(ctx(t), scopes, public.WithSilentAccount(accts[0]))
	if err != nil {
		t.Fatal(err)
	}
	if f.e.TokensIssued() != before+1 || res2.AccessToken == res.AccessToken {
		t.Fatalf("silent call should have refreshed: issued %d→%d", before, f.e.TokensIssued())
	}
	time.Sleep(2100 * time.Millisecond)
	if _, err := f.e.Verify(res.AccessToken, time.Now()); !errors.Is(err, entra.ErrExpired) {
		t.Fatalf("old token: want ErrExpired, got %v", err)
	}
}

func TestInteractiveLongLifetimeServedFromCache(t *testing.T) {
	f := setup(t, time.Hour)
	pc, _ := public.New(publicID, public.WithAuthority(f.srv.URL+"/"+tenantID), public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	scopes := []string{entra.ResourceEXO + "/" + entra.ScopeEWSDelegated}
	if _, err := pc.AcquireTokenInteractive(ctx(t), scopes, public.WithOpenURL(func(u string) error {
		return entra.Browse(context.Background(), f.srv.Client(), u)
	})); err != nil {
		t.Fatal(err)
	}
	accts, _ := pc.Accounts(ctx(t))
	n := f.e.TokenRequests()
	if _, err := pc.AcquireTokenSilent(ctx(t), scopes, public.WithSilentAccount(accts[0])); err != nil {
		t.Fatal(err)
	}
	if f.e.TokenRequests() != n {
		t.Fatal("a valid cached token should not cost a request")
	}
}

func TestDelegatedWithoutConsent(t *testing.T) {
	f := setup(t, time.Hour)
	pc, _ := public.New(publicID, public.WithAuthority(f.srv.URL+"/"+tenantID), public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	_, err := pc.AcquireTokenInteractive(ctx(t), []string{entra.ResourceGraph + "/Calendars.ReadWrite"}, public.WithOpenURL(func(u string) error {
		return entra.Browse(context.Background(), f.srv.Client(), u)
	}))
	if err == nil || !strings.Contains(err.Error(), "AADSTS65001") {
		t.Fatalf("want AADSTS65001, got %v", err)
	}
}

func TestDeviceCode(t *testing.T) {
	f := setup(t, time.Hour)
	pc, _ := public.New(publicID, public.WithAuthority(f.srv.URL+"/"+tenantID), public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	dc, err := pc.AcquireTokenByDeviceCode(ctx(t), []string{entra.ResourceEXO + "/" + entra.ScopeEWSDelegated})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dc.Result.Message, dc.Result.UserCode) || dc.Result.UserCode == "" {
		t.Fatalf("message %q", dc.Result.Message)
	}
	n := f.e.TokenRequests()
	go func() {
		time.Sleep(400 * time.Millisecond) // let MSAL poll and see authorization_pending
		form := url.Values{"user_code": {dc.Result.UserCode}}
		resp, err := f.srv.Client().PostForm(dc.Result.VerificationURL, form)
		if err == nil {
			resp.Body.Close()
		}
	}()
	res, err := dc.AuthenticationResult(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.e.TokenRequests()-n < 2 {
		t.Errorf("expected at least one authorization_pending poll, got %d requests", f.e.TokenRequests()-n)
	}
	if cl, err := f.e.Verify(res.AccessToken, time.Now()); err != nil || cl.Scp != entra.ScopeEWSDelegated {
		t.Fatalf("%+v %v", cl, err)
	}
	if err := f.e.ApproveDevice("NOSUCHCODE", ""); !errors.Is(err, entra.ErrUnknownCode) {
		t.Fatalf("want ErrUnknownCode, got %v", err)
	}
}

// PKCE: a code redeemed with the wrong verifier is refused.
func TestPKCEVerified(t *testing.T) {
	f := setup(t, time.Hour)
	var got url.Values
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm
	}))
	defer loop.Close()
	redirect := strings.Replace(loop.URL, "127.0.0.1", "localhost", 1)
	q := url.Values{"client_id": {publicID}, "redirect_uri": {redirect}, "response_mode": {"form_post"}, "state": {"s1"},
		"scope": {entra.ResourceEXO + "/" + entra.ScopeEWSDelegated + " openid"}, "code_challenge_method": {"S256"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}} // RFC 7636 appendix B
	if err := entra.Browse(ctx(t), f.srv.Client(), f.srv.URL+"/"+tenantID+"/oauth2/v2.0/authorize?"+q.Encode()); err != nil {
		t.Fatal(err)
	}
	if got.Get("state") != "s1" || got.Get("code") == "" {
		t.Fatalf("posted %v", got)
	}
	redeem := func(code, verifier string) (int, string) {
		resp, err := f.srv.Client().PostForm(f.srv.URL+"/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"},
			"client_id": {publicID}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := redeem(got.Get("code"), "wrong-verifier-wrong-verifier-wrong-verifier"); st != 400 || !strings.Contains(body, "AADSTS501481") {
		t.Fatalf("wrong verifier: %d %s", st, body)
	}
	// The code was used up by the failed attempt, as at Entra.
	if st, body := redeem(got.Get("code"), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); st != 400 || !strings.Contains(body, "AADSTS70008") {
		t.Fatalf("reused code: %d %s", st, body)
	}
	got = nil
	if err := entra.Browse(ctx(t), f.srv.Client(), f.srv.URL+"/"+tenantID+"/oauth2/v2.0/authorize?"+q.Encode()); err != nil {
		t.Fatal(err)
	}
	if st, body := redeem(got.Get("code"), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); st != 200 || !strings.Contains(body, "access_token") {
		t.Fatalf("right verifier: %d %s", st, body)
	}
}

func TestVerifyHostileTokens(t *testing.T) {
	f := setup(t, time.Hour)
	c := f.confidential(t, tenantID, appID, func() confidential.Credential { c, _ := confidential.NewCredFromSecret(goodValue); return c }())
	res, err := c.AcquireTokenByCredential(ctx(t), exoDefault)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(res.AccessToken, ".")
	cases := []struct {
		name, tok string
		at        time.Time
		want      error
	}{
		{"valid", res.AccessToken, time.Now(), nil},
		{"expired", res.AccessToken, time.Now().Add(2 * time.Hour), entra.ErrExpired},
		{"tampered payload", parts[0] + "." + parts[1] + "x." + parts[2], time.Now(), entra.ErrSignature},
		{"alg none", "eyJhbGciOiJub25lIn0." + parts[1] + ".", time.Now(), entra.ErrSignature},
		{"garbage", "not a token", time.Now(), entra.ErrMalformed},
		{"empty", "", time.Now(), entra.ErrMalformed},
		{"bad base64", "@@.@@.@@", time.Now(), entra.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.e.Verify(tc.tok, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}
