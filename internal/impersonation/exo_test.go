package impersonation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"deputy/internal/ews"
	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/setup"
	"deputy/internal/transport"

	"software.sslmate.com/src/go-pkcs12"
)

// nov23 is "today" for the tests: after the 1 Oct 2026 block, before the 1 Apr 2027 end.
var nov23 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func startEXO(t *testing.T, o exchangesim.Options, mutate func(*exchangesim.EXOScenario)) *exchangesim.EXOServer {
	t.Helper()
	x, err := exchangesim.EXODemo()
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(x)
	}
	s, err := exchangesim.StartEXO(x, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exoConfig is a diagnosis of the simulated Exchange Online through MSAL.
func exoConfig(t *testing.T, s *exchangesim.EXOServer, oc oauth.Config, targets ...string) impersonation.Config {
	t.Helper()
	hc, err := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	oc.Authority, oc.HTTPClient = s.Authority, hc
	if oc.Tenant == "" {
		oc.Tenant = s.Tenant
	}
	if oc.Mode == "" {
		oc.Mode = oauth.ModeAppSecret
	}
	if oc.ClientID == "" {
		oc.ClientID = exchangesim.EXODemoAppID
	}
	if oc.Mode == oauth.ModeAppSecret && oc.Secret == "" {
		oc.Secret = exchangesim.EXODemoSecret
	}
	src, err := oauth.NewSource(oc)
	if err != nil {
		t.Fatal(err)
	}
	if targets == nil {
		targets = s.X.Targets()
	}
	return impersonation.Config{
		Profile:   result.Profile{Name: "exo"},
		URL:       s.URL,
		OAuth:     src,
		TLS:       transport.TLSOptions{PinSHA256: s.SHA256},
		Mailboxes: targets,
		Timeout:   5 * time.Second,
		Now:       func() time.Time { return nov23 },
	}
}

func diagnose(t *testing.T, cfg impersonation.Config) *result.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(r *result.Result) string {
	var s []string
	for _, c := range r.Checks {
		s = append(s, c.ID+"="+string(c.Status))
	}
	return strings.Join(s, " ")
}

// Each app-only set-up end to end: token → EWS → every mailbox classified as the
// simulator (an independent implementation) says.
func TestEXOAppOnlyEndToEnd(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	cases := []struct {
		name       string
		oc         oauth.Config
		fullAccess bool
		token      result.Status
	}{
		{"RBAC-scoped app, secret", oauth.Config{}, false, result.Warn},
		{"RBAC-scoped app, certificate PEM", oauth.Config{Mode: oauth.ModeAppCert, CertPEM: s.X.CertPEM}, false, result.Warn},
		{"tenant-wide consent", oauth.Config{ClientID: exchangesim.EXODemoConsentedID}, true, result.Warn},
		{"tenant by domain", oauth.Config{Tenant: exchangesim.EXODemoTenant}, false, result.Warn},
		{"RBAC-scoped app, certificate PFX with password", oauth.Config{Mode: oauth.ModeAppCert, PFX: pfxOf(t, s.X.CertPEM, "pfx-Pa55"), PFXPassword: "pfx-Pa55"}, false, result.Warn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := exoConfig(t, s, tc.oc)
			r := diagnose(t, cfg)
			want := "endpoint=pass tls=pass token=" + string(tc.token) + " auth=pass exo-policy=pass exo-timeline=warn service-mailbox=skip impersonation=fail write=skip rooms=skip"
			if got := ids(r); got != want {
				t.Fatalf("checks\n got %s\nwant %s", got, want)
			}
			if r.Profile.Environment != result.EXO || r.Profile.Auth != cfg.OAuth.Mode() || r.Profile.ClientID != cfg.OAuth.ClientID() {
				t.Errorf("profile %+v", r.Profile)
			}
			app := cfg.OAuth.ClientID()
			for _, m := range r.Mailboxes {
				if want := s.X.ExpectClass(app, tc.fullAccess, m.Address); string(m.Class) != want {
					t.Errorf("%s: got %s (%s), simulator says %s", m.Address, m.Class, m.Message, want)
				}
				switch m.Class {
				case result.ImpersonationDenied:
					for _, w := range []string{"New-ServicePrincipal", "New-ManagementScope", "New-ManagementRoleAssignment -App " + app, `'Application EWS.AccessAsApp'`, "-CustomResourceScope", "Test-ServicePrincipalAuthorization", "overrides any scope"} {
						if !strings.Contains(m.Remediation, w) {
							t.Errorf("%s remediation lacks %q:\n%s", m.Address, w, m.Remediation)
						}
					}
				case result.AccessDenied:
					if !strings.Contains(m.Remediation, "Set-CASMailbox -Identity '"+m.Address+"' -EwsEnabled $true") || !strings.Contains(m.Message, "x-ms-diagnostics") {
						t.Errorf("%s: %s / %s", m.Address, m.Message, m.Remediation)
					}
				}
			}
			tok := check(t, r, result.CheckToken)
			if tc.fullAccess != strings.Contains(tok.Summary, "tenant-wide") {
				t.Errorf("token summary %q", tok.Summary)
			}
			if !tc.fullAccess && !strings.Contains(tok.Remediation, "/adminconsent?client_id="+app) {
				t.Errorf("token remediation lacks the admin consent URL: %s", tok.Remediation)
			}
		})
	}
}

// pfxOf re-packs a PEM certificate and key as a password-protected PFX, as
// Export-PfxCertificate writes them.
func pfxOf(t *testing.T, pemData []byte, password string) []byte {
	t.Helper()
	c, err := oauth.LoadCertificate(pemData, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := pkcs12.Modern.Encode(c.Key, c.Chain[0], nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expiredPEM is a self-signed certificate that expired yesterday, with its key.
func expiredPEM(t *testing.T) []byte { return certPEMValid(t, -24*time.Hour) }

// certPEMValid is a self-signed certificate (and key) valid until now+left.
func certPEMValid(t *testing.T, left time.Duration) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app cert"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(left)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
}

// A certificate that expires soon works and is flagged.
func TestEXOCertificateExpiringSoon(t *testing.T) {
	soon := certPEMValid(t, 10*24*time.Hour)
	c, err := oauth.LoadCertificate(soon, "")
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Chain[0].Raw})
	s := startEXO(t, exchangesim.Options{}, func(x *exchangesim.EXOScenario) {
		x.EXO.Entra.Tenants[0].Apps[1].Certificates = []string{string(pub)} // the consented app
	})
	r := diagnose(t, exoConfig(t, s, oauth.Config{Mode: oauth.ModeAppCert, ClientID: exchangesim.EXODemoConsentedID, CertPEM: soon}, "anna.berg@fabrikam.test"))
	tok := check(t, r, result.CheckToken)
	if tok.Status != result.Warn || !strings.Contains(tok.Summary, "certificate expires in ") || !strings.Contains(tok.Remediation, c.Info().Thumbprint) {
		t.Fatalf("%s %q\n%s", tok.Status, tok.Summary, tok.Remediation)
	}
	if check(t, r, result.CheckImpersonation).Status != result.Pass {
		t.Fatal(ids(r))
	}
}

// An expired certificate is refused before anything is sent, with a clear message.
func TestEXOExpiredCertificate(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	hc, _ := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	_, err := oauth.NewSource(oauth.Config{Mode: oauth.ModeAppCert, Authority: s.Authority, Tenant: s.Tenant, ClientID: exchangesim.EXODemoAppID, CertPEM: expiredPEM(t), HTTPClient: hc})
	var ce *oauth.CertError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "expired on") || !strings.Contains(err.Error(), "thumbprint") {
		t.Fatalf("want a clear *CertError, got %v", err)
	}
	if s.Entra.TokenRequests() != 0 {
		t.Fatal("Entra ID was contacted with an expired certificate")
	}
}

// otherTenant is a tenant ID that is not the demo tenant's.
const otherTenant = "99999999-8888-4777-a666-555555555555"

func TestEXOFailures(t *testing.T) {
	cases := []struct {
		name      string
		mutate    func(*exchangesim.EXOScenario)
		oc        oauth.Config
		failCheck string
		code      string
		remedy    []string
	}{
		{"wrong secret", nil, oauth.Config{Secret: "not-the-secret"}, result.CheckToken, "AADSTS7000215", []string{"Certificates & secrets"}},
		{"unknown tenant", nil, oauth.Config{Tenant: "contoso.onmicrosoft.com"}, result.CheckToken, "AADSTS90002", []string{"tenant ID"}},
		{"graph token for EWS", nil, oauth.Config{ClientID: exchangesim.EXODemoConsentedID, Resource: oauth.ResourceGraph}, result.CheckToken, "invalid-audience", []string{"/.default"}},
		{"no permission at all", nil, oauth.Config{ClientID: exchangesim.EXODemoNoRoleID}, result.CheckAuth, "HTTP 401", []string{"adminconsent"}},
		{"app not allow-listed", nil, oauth.Config{ClientID: exchangesim.EXODemoUnlistedID}, result.CheckEXOPolicy, "app-not-allowed",
			[]string{"Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy", "-notcontains $appId", "Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs ($ids -join ',')", exchangesim.EXODemoUnlistedID,
				`@($policy.EwsAllowedAppIDs) | ForEach-Object { "$_" -split ',' }`}}, // element by element, as the script reads it
		// Entra answers for the profile's tenant ID with a token of another tenant (the
		// fake resolves the ID as an alias of the demo tenant).
		{"token from another tenant", func(x *exchangesim.EXOScenario) { x.EXO.Entra.Tenants[0].Domain = otherTenant }, oauth.Config{Tenant: otherTenant},
			result.CheckToken, "wrong-tenant", []string{"names tenant " + otherTenant + ", but the token comes from tenant " + exchangesim.EXODemoTenantID, "Overview → Tenant ID"}},
		{"EWS disabled for the organisation", func(x *exchangesim.EXOScenario) { x.EXO.EwsEnabled = false }, oauth.Config{}, result.CheckEXOPolicy, "org-ews-disabled",
			[]string{"Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy", "-EwsEnabled $true"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startEXO(t, exchangesim.Options{}, tc.mutate)
			r := diagnose(t, exoConfig(t, s, tc.oc))
			c := check(t, r, tc.failCheck)
			if c.Status != result.Fail || c.Code != tc.code {
				t.Fatalf("%s: %s %s %q (%s)", tc.failCheck, c.Status, c.Code, c.Summary, ids(r))
			}
			for _, w := range tc.remedy {
				if !strings.Contains(c.Remediation, w) {
					t.Errorf("remediation lacks %q:\n%s", w, c.Remediation)
				}
			}
			if check(t, r, result.CheckImpersonation).Status != result.Skip || check(t, r, result.CheckEXOTimeline).Status == result.Skip {
				t.Errorf("after a blocking failure the mailboxes are skipped and the timeline still told: %s", ids(r))
			}
			if r.Verdict != result.Fail {
				t.Errorf("verdict %s", r.Verdict)
			}
		})
	}
}

// An AADSTS error is shown verbatim with its meaning.
func TestEXOAADErrorVerbatim(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	r := diagnose(t, exoConfig(t, s, oauth.Config{Secret: "wrong"}))
	c := check(t, r, result.CheckToken)
	if !strings.HasPrefix(c.Summary, "AADSTS7000215: Invalid client secret provided.") || !strings.Contains(c.Remediation, "Secret ID") {
		t.Fatalf("%q / %q", c.Summary, c.Remediation)
	}
}

func TestEXOLegacyAuthExplained(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	for _, scheme := range []string{"basic", "ntlm"} {
		t.Run(scheme, func(t *testing.T) {
			s.ResetCounters()
			cfg := impersonation.Config{Profile: result.Profile{Environment: result.EXO}, URL: s.URL,
				Auth: transport.Auth{Scheme: scheme, User: exchangesim.EXODemoUser, Password: "Secret-Pa55"},
				TLS:  transport.TLSOptions{PinSHA256: s.SHA256}, Mailboxes: s.X.Targets(), Now: func() time.Time { return nov23 }}
			r := diagnose(t, cfg)
			c := check(t, r, result.CheckToken)
			if c.Status != result.Fail || c.Code != "legacy-auth-exo" || !strings.Contains(c.Summary, "October 2022") || !strings.Contains(c.Summary, "ApplicationImpersonation") ||
				!strings.Contains(c.Remediation, "oauth-app-cert") {
				t.Fatalf("%+v", c)
			}
			if n := s.Counters().Requests; n != 0 {
				t.Errorf("the password was sent to Exchange Online (%d requests)", n)
			}
		})
	}
}

// delegatedConfig is a delegated (signed-in user) diagnosis whose browser is the test's.
func delegatedConfig(t *testing.T, s *exchangesim.EXOServer, targets ...string) impersonation.Config {
	t.Helper()
	oc := oauth.Config{Mode: oauth.ModeDelegated, ClientID: exchangesim.EXODemoPublicID}
	cfg := exoConfig(t, s, oc, targets...)
	bc, _ := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	oc.Authority, oc.HTTPClient, oc.Tenant = s.Authority, bc, s.Tenant
	oc.OpenURL = func(u string) error { return entra.Browse(context.Background(), bc, u) }
	src, err := oauth.NewSource(oc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OAuth = src
	return cfg
}

func TestEXODelegated(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	r := diagnose(t, delegatedConfig(t, s, "anna.berg@fabrikam.test"))
	if got := ids(r); got != "endpoint=pass tls=pass token=pass auth=pass exo-policy=pass exo-timeline=warn service-mailbox=pass impersonation=fail write=skip rooms=skip" {
		t.Fatalf("checks %s", got)
	}
	m := r.Mailboxes[0]
	if m.Class != result.NoImpersonationRight || !strings.Contains(m.Remediation, "app-only") {
		t.Fatalf("%+v", m)
	}
}

// A delegated token without EWS.AccessAsUser.All fails the token check with the consent
// path, and nothing is sent to EWS with it.
func TestEXODelegatedMissingScope(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, func(x *exchangesim.EXOScenario) {
		apps := x.EXO.Entra.Tenants[0].Apps
		for i := range apps {
			if apps[i].ClientID == exchangesim.EXODemoPublicID {
				apps[i].OmitScopes = []string{entra.ScopeEWSDelegated}
			}
		}
	})
	r := diagnose(t, delegatedConfig(t, s, "anna.berg@fabrikam.test"))
	c := check(t, r, result.CheckToken)
	if c.Status != result.Fail || c.Code != "missing-scope" || c.Class != result.NoImpersonationRight || !strings.Contains(c.Summary, "no EWS.AccessAsUser.All scope") {
		t.Fatalf("token check %s %s %s %q (%s)", c.Status, c.Class, c.Code, c.Summary, ids(r))
	}
	for _, w := range []string{"Delegated permissions → EWS.AccessAsUser.All", "/adminconsent?client_id=" + exchangesim.EXODemoPublicID, "sign in again"} {
		if !strings.Contains(c.Remediation, w) {
			t.Errorf("remediation lacks %q:\n%s", w, c.Remediation)
		}
	}
	if check(t, r, result.CheckImpersonation).Status != result.Skip || r.Verdict != result.Fail {
		t.Errorf("after the token failed: %s, verdict %s", ids(r), r.Verdict)
	}
}

// Tokens live 2 s; the run lasts longer: the source refreshes silently through MSAL and
// no request fails.
func TestEXOTokenExpiryDuringRun(t *testing.T) {
	s := startEXO(t, exchangesim.Options{Latency: 250 * time.Millisecond}, func(x *exchangesim.EXOScenario) { x.EXO.Entra.TokenLifetime = 2 * time.Second })
	ok := []string{"anna.berg@fabrikam.test", "ben.carter@fabrikam.test", "david.ek@fabrikam.test", "eva.fischer@fabrikam.test", "hugo.iversen@fabrikam.test", "ines.jansen@fabrikam.test", "kai.lund@fabrikam.test"}
	cfg := exoConfig(t, s, oauth.Config{}, append(append([]string{}, ok...), ok...)...)
	cfg.Concurrency = 1
	cfg.Now = time.Now
	t0 := time.Now()
	r := diagnose(t, cfg)
	if time.Since(t0) < 3*time.Second {
		t.Fatalf("the run was too short (%s) to outlive a token", time.Since(t0))
	}
	if c := check(t, r, result.CheckImpersonation); c.Status != result.Pass {
		t.Fatalf("%s: %s %v", ids(r), c.Summary, c.Evidence)
	}
	if n := s.Entra.TokensIssued(); n < 2 {
		t.Fatalf("tokens issued: %d (expected a silent renewal)", n)
	}
}

// Nothing secret in the result, even with traces: not the client secret, not a token.
func TestEXONoSecretOrTokenInResult(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	cfg := exoConfig(t, s, oauth.Config{})
	cfg.Trace = true
	r := diagnose(t, cfg)
	b, _ := json.Marshal(r)
	if len(r.Traces) == 0 {
		t.Fatal("no traces")
	}
	out := string(b)
	if strings.Contains(out, exchangesim.EXODemoSecret) {
		t.Fatal("the client secret is in the result")
	}
	hdrs := s.Counters().AuthorizationHeaders
	if len(hdrs) == 0 {
		t.Fatal("no bearer tokens were sent")
	}
	for _, h := range hdrs {
		tok := strings.TrimPrefix(h, "Bearer ")
		parts := strings.Split(tok, ".")
		for _, p := range append(parts, tok) {
			if len(p) > 40 && strings.Contains(out, p) {
				t.Fatalf("a token (or its signature/payload) is in the result")
			}
		}
	}
}

func TestTimeline(t *testing.T) {
	cases := []struct {
		date    string
		status  result.Status
		contain string
	}{
		{"2026-06-15", result.Warn, "108 days until 1 October 2026"},
		{"2026-09-30", result.Warn, "1 days until 1 October 2026"},
		{"2026-10-01", result.Warn, "182 days left until EWS in Exchange Online ends on 1 April 2027"},
		{"2026-11-23", result.Warn, "129 days left"},
		{"2027-03-31", result.Warn, "1 days left"},
		{"2027-04-01", result.Fail, "EWS in Exchange Online has ended"},
		{"2028-01-01", result.Fail, "EWS in Exchange Online has ended"},
		{"2025-06-01", result.Warn, "days until 1 October 2026"},
	}
	for _, tc := range cases {
		t.Run(tc.date, func(t *testing.T) {
			d, _ := time.Parse("2006-01-02", tc.date)
			c := impersonation.Timeline(d.Add(9 * time.Hour))
			if c.Status != tc.status || !strings.Contains(c.Summary, tc.contain) || !strings.Contains(c.Remediation, "Calendars.ReadWrite") {
				t.Fatalf("%s: %s %q", tc.date, c.Status, c.Summary)
			}
		})
	}
	// Days are counted down one per day.
	for i := 0; i < 5; i++ {
		d := nov23.AddDate(0, 0, i)
		if want := fmt.Sprintf("%d days left", 129-i); !strings.Contains(impersonation.Timeline(d).Summary, want) {
			t.Errorf("%s: %q", d, impersonation.Timeline(d).Summary)
		}
	}
}

// An app-only token has no mailbox of its own: room lists are read acting as a mailbox,
// so rooms are found without being listed by hand.
func TestEXORoomListsAppOnly(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	cfg := exoConfig(t, s, oauth.Config{})
	cfg.CheckRooms = true
	r := diagnose(t, cfg)
	var rooms int
	for _, m := range r.Mailboxes {
		if m.Kind == result.KindRoom {
			rooms++
		}
	}
	c := r.Checks[len(r.Checks)-1]
	if c.ID != result.CheckRooms || rooms == 0 {
		t.Fatalf("no rooms found through the room lists: %+v", c)
	}
	for _, e := range c.Evidence {
		if strings.Contains(e, "GetRoomLists failed") {
			t.Fatalf("room lists refused: %s", e)
		}
	}
}

// Exchange Online refuses an app-only request without an ExchangeImpersonation header
// (ErrorInvalidExchangeImpersonationHeaderData, "must be present for this type of OAuth
// token"). Deputy classifies it as header-invalid, and the fix says the header was
// missing — not that an address was malformed.
func TestEXOAppOnlyWithoutImpersonationHeader(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	cfg := exoConfig(t, s, oauth.Config{})
	hc, err := transport.NewClient(transport.Options{TLS: cfg.TLS, Auth: transport.Auth{Scheme: transport.SchemeBearer, Token: cfg.OAuth.Token}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &ews.Client{URL: s.URL, HTTP: hc, Version: ews.NewVersion("")}
	_, err = cl.GetFolder(ctx, "", "msgfolderroot")
	var ee *ews.Error
	if !errors.As(err, &ee) || ee.Class != result.HeaderInvalid || ee.Code != "ErrorInvalidExchangeImpersonationHeaderData" || !strings.Contains(ee.Message, "must be present") {
		t.Fatalf("want header-invalid ErrorInvalidExchangeImpersonationHeaderData, got %v", err)
	}
	rem := setup.Remediation(ee.Class, ee.Code, setup.Situation{Environment: result.EXO, AppID: cfg.OAuth.ClientID()})
	for _, w := range []string{"no ExchangeImpersonation header", "act as", "--service-mailbox"} {
		if !strings.Contains(rem, w) {
			t.Errorf("remediation lacks %q:\n%s", w, rem)
		}
	}
	if strings.Contains(rem, "malformed") {
		t.Errorf("a missing header is not a malformed one:\n%s", rem)
	}
	// With a mailbox named, the header was there: its identifier is what was wrong.
	if rem := setup.Remediation(ee.Class, ee.Code, setup.Situation{Environment: result.EXO, AppID: cfg.OAuth.ClientID(), Mailbox: "anna.berg@fabrikam.test"}); !strings.Contains(rem, "primary SMTP address") {
		t.Errorf("header with a bad identifier:\n%s", rem)
	}
}

// An app-only run given only rooms still acts as a mailbox for the room lists (a request
// without the impersonation header would be refused).
func TestEXORoomsOnlyAppOnly(t *testing.T) {
	s := startEXO(t, exchangesim.Options{}, nil)
	cfg := exoConfig(t, s, oauth.Config{})
	cfg.Mailboxes, cfg.Rooms, cfg.CheckRooms = nil, []string{"room-atlas@fabrikam.test"}, true
	r := diagnose(t, cfg)
	c := check(t, r, result.CheckRooms)
	ev := strings.Join(c.Evidence, "\n")
	if strings.Contains(ev, "GetRoomLists failed") || !strings.Contains(ev, "room list HQ Rooms") {
		t.Fatalf("rooms: %s %q\n%s", c.Status, c.Summary, ev)
	}
}
