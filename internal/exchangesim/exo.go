package exchangesim

// Exchange Online mode: EWS requires an Entra ID bearer token issued by the fake Entra ID
// (package entra) mounted on the same server, and applies what Exchange Online applies
// in late 2026: the token's signature, audience, expiry and permissions; the
// ExchangeImpersonation header for app-only tokens; the organisation's EwsEnabled and
// EwsAllowedAppIDs; a mailbox's own EwsEnabled; RBAC for Applications scopes (unless
// full_access_as_app is consented tenant-wide, which reaches every mailbox).
//
// The 401 replies follow captured Exchange Online responses (WWW-Authenticate Bearer,
// x-ms-diagnostics 2000001/2000003/2000008). What Exchange Online answers to a policy
// block is not documented (domain brief §6.2): the simulator answers 403 with an
// x-ms-diagnostics reason naming the setting; treat its wording as the simulator's.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"deputy/internal/exchangesim/entra"
)

// EXOConfig is the Exchange Online side of a scenario.
type EXOConfig struct {
	Entra entra.Config // tenants (the first one is Exchange's), apps, users, token lifetime
	// EwsEnabled is Set-OrganizationConfig -EwsEnabled: false blocks EWS for everybody.
	EwsEnabled bool
	// EwsAllowedAppIDs: with EwsEnabled, only these apps may use EWS (empty: any app).
	EwsAllowedAppIDs []string
	// MailboxEwsDisabled are mailboxes with Set-CASMailbox -EwsEnabled $false.
	MailboxEwsDisabled []string
	// RBAC is RBAC for Applications: app id → the scope of its "Application
	// EWS.AccessAsApp" assignment.
	RBAC map[string]Impersonation
}

// EXOScenario is a scenario served in Exchange Online mode.
type EXOScenario struct {
	*Scenario
	EXO EXOConfig
	// Demo credentials (EXODemo): the main app and its secret and certificate.
	ClientID     string
	ClientSecret string
	CertPEM      []byte // certificate + unencrypted key of ClientID's registered certificate
}

// EXOServer is a running simulated Exchange Online with its Entra ID.
type EXOServer struct {
	*Server
	Entra     *entra.Entra
	Authority string // https://host:port (append /<tenant> for MSAL)
	Tenant    string // tenant ID
	X         *EXOScenario
}

// exoMode is what the EWS endpoint consults in Exchange Online mode.
type exoMode struct {
	x     *EXOScenario
	entra *entra.Entra
	now   func() time.Time
}

// StartEXO serves x in Exchange Online mode: EWS and the fake Entra ID on one origin.
func StartEXO(x *EXOScenario, o Options) (*EXOServer, error) {
	if x == nil || x.Scenario == nil || len(x.EXO.Entra.Tenants) == 0 {
		return nil, errors.New("exchangesim: an Exchange Online scenario needs a scenario and a tenant")
	}
	if o.PlainHTTP {
		return nil, errors.New("exchangesim: Exchange Online mode needs HTTPS (MSAL refuses an http authority)")
	}
	e, err := entra.New(x.EXO.Entra)
	if err != nil {
		return nil, fmt.Errorf("exchangesim: %w", err)
	}
	s, err := Start(x.Scenario, o)
	if err != nil {
		return nil, err
	}
	e.Mount(s.Mux())
	s.exo.Store(&exoMode{x: x, entra: e, now: time.Now})
	return &EXOServer{Server: s, Entra: e, Authority: strings.TrimSuffix(s.URL, "/EWS/Exchange.asmx"),
		Tenant: x.EXO.Entra.Tenants[0].ID, X: x}, nil
}

const exoWWWAuth = `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.windows.net/common/oauth2/authorize", error="invalid_token"`

// serveEXO authenticates and authorises a request the way Exchange Online does, then
// hands it to the EWS implementation as the principal the token stands for.
func (s *Server) serveEXO(w http.ResponseWriter, r *http.Request, m *exoMode) {
	h := w.Header()
	reqID := newRequestID()
	h.Set("request-id", reqID)
	h.Set("X-CalculatedBETarget", "AM0PR01MB0001.eurprd01.prod.outlook.com")
	h.Set("X-FEServer", "AM0PR02CA0001")
	h.Set("X-DiagInfo", "AM0PR01MB0001")
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		s.authFail.Add(1)
		h.Set("WWW-Authenticate", exoWWWAuth)
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	deny := func(status int, diag string) {
		if status == http.StatusUnauthorized {
			s.authFail.Add(1)
			h.Set("WWW-Authenticate", exoWWWAuth)
		}
		h.Set("x-ms-diagnostics", diag)
		h.Set("X-BackEndHttpStatus", fmt.Sprint(status))
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
	}
	cl, err := m.entra.Verify(strings.TrimSpace(tok), m.now())
	switch {
	case errors.Is(err, entra.ErrExpired):
		deny(401, `2000001;reason="The token has expired.";error_category="invalid_token"`)
		return
	case err != nil:
		deny(401, `2000001;reason="The OAuth token submitted with the request cannot be parsed.";error_category="invalid_token"`)
		return
	}
	x := m.x
	tenant := x.EXO.Entra.Tenants[0]
	if !strings.EqualFold(strings.TrimRight(cl.Aud, "/"), entra.ResourceEXO) && cl.Aud != "00000002-0000-0ff1-ce00-000000000000" {
		deny(401, fmt.Sprintf(`2000003;reason="The audience claim value is invalid '%s'.";error_category="invalid_resource"`, cl.Aud))
		return
	}
	if !strings.EqualFold(cl.Tid, tenant.ID) {
		deny(401, fmt.Sprintf(`2000004;reason="The tenant for tenant guid '%s' does not exist.";error_category="invalid_tenant"`, cl.Tid))
		return
	}
	app := cl.Client()
	acct := &Account{User: "app:" + strings.ToLower(app)}
	appOnly := cl.AppOnly()
	if appOnly {
		rbac, scoped := x.EXO.RBAC[strings.ToLower(app)]
		switch {
		case slices.Contains(cl.Roles, entra.RoleFullAccess):
			acct.Impersonation = Impersonation{Mode: ModeAll} // tenant-wide consent: every mailbox
		case scoped:
			acct.Impersonation = rbac
			if acct.Impersonation.Mode == "" {
				acct.Impersonation.Mode = ModeScope
			}
		default:
			deny(401, fmt.Sprintf(`2000008;reason="The token should have valid permissions or linked account associated with partner application '%s'.";error_category="invalid_grant"`, app))
			return
		}
	} else {
		if !slices.ContainsFunc(strings.Fields(cl.Scp), func(s string) bool { return strings.EqualFold(s, entra.ScopeEWSDelegated) }) {
			deny(401, fmt.Sprintf(`2000008;reason="The token should have valid permissions or linked account associated with partner application '%s'.";error_category="invalid_grant"`, app))
			return
		}
		_, _, has := x.lookup(cl.UPN)
		acct = &Account{User: cl.UPN, Mailbox: has, Impersonation: Impersonation{Mode: ModeNone}}
	}
	if !x.EXO.EwsEnabled {
		deny(403, `2000011;reason="EWS is disabled for this organization (EwsEnabled is False).";error_category="forbidden"`)
		return
	}
	if len(x.EXO.EwsAllowedAppIDs) > 0 && !slices.ContainsFunc(x.EXO.EwsAllowedAppIDs, func(a string) bool { return strings.EqualFold(a, app) }) {
		deny(403, fmt.Sprintf(`2000012;reason="The application '%s' is not allowed to use EWS: it is not in the organization's EwsAllowedAppIDs.";error_category="forbidden"`, app))
		return
	}
	if r.Method != http.MethodPost {
		s.serveEWS(w, asPrincipal(r, acct))
		return
	}
	body, status, msg := readBody(r)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	target := cl.UPN
	if root, err := parseXML(body); err == nil {
		if req, err := parseEnvelope(root); err == nil {
			switch {
			case req.Imp != nil:
				target = req.Imp.Value
			case appOnly:
				writeFault(w, fault{Code: "ErrorInvalidExchangeImpersonationHeaderData", String: "ExchangeImpersonation SOAP header must be present for this type of OAuth token."})
				return
			}
		}
	}
	if target != "" && slices.ContainsFunc(x.EXO.MailboxEwsDisabled, func(a string) bool { return strings.EqualFold(a, target) }) {
		deny(403, fmt.Sprintf(`2000013;reason="EWS is disabled for the mailbox '%s' (its EwsEnabled is False).";error_category="forbidden"`, target))
		return
	}
	r2 := asPrincipal(r, acct)
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Encoding")
	s.serveEWS(w, r2)
}

// asPrincipal makes the EWS implementation see acct as the authenticated principal (as a
// connection authenticated before), without touching the real connection's state.
func asPrincipal(r *http.Request, acct *Account) *http.Request {
	r2 := r.WithContext(context.WithValue(r.Context(), connKey{}, &connState{principal: acct}))
	r2.Header = r.Header.Clone()
	r2.Header.Del("Authorization")
	return r2
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ExpectClass is the diagnosis class the simulator produces when app (client id) probes
// address with a token carrying roles (app-only; nil roles: no Entra consent).
func (x *EXOScenario) ExpectClass(app string, fullAccess bool, address string) string {
	switch {
	case !x.EXO.EwsEnabled:
		return "access-denied"
	case len(x.EXO.EwsAllowedAppIDs) > 0 && !slices.ContainsFunc(x.EXO.EwsAllowedAppIDs, func(a string) bool { return strings.EqualFold(a, app) }):
		return "access-denied"
	case slices.ContainsFunc(x.EXO.MailboxEwsDisabled, func(a string) bool { return strings.EqualFold(a, address) }):
		return "access-denied"
	}
	acct := &Account{Impersonation: Impersonation{Mode: ModeAll}}
	if !fullAccess {
		rbac, ok := x.EXO.RBAC[strings.ToLower(app)]
		if !ok {
			return "auth-failed"
		}
		acct.Impersonation = rbac
	}
	_, class := x.expectAs(acct, address)
	return class
}

// ---- the demo tenant ----

// EXO demo identities (fictitious).
const (
	EXODemoTenantID    = "6f1c2a4e-0b7d-4c1e-9a53-2d8e4b7f0c11"
	EXODemoTenant      = "fabrikam.onmicrosoft.com"
	EXODemoAppID       = "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c" // scoped with RBAC for Applications, allow-listed
	EXODemoConsentedID = "5c4b3a29-1807-4f6e-9d5c-4b3a29180706" // full_access_as_app consented tenant-wide, allow-listed
	EXODemoUnlistedID  = "7e6d5c4b-3a29-4180-8f6e-5d4c3b2a1908" // consented but not in EwsAllowedAppIDs
	EXODemoNoRoleID    = "8f7e6d5c-4b3a-4291-8807-6f5e4d3c2b1a" // allow-listed, no consent, no RBAC
	EXODemoPublicID    = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e" // delegated sign-in (public client)
	EXODemoSecret      = "Demo-Only~EXO-client-secret-1"
	EXODemoUser        = "adele.vance@" + DemoDomain
)

// EXODemo is Fabrikam in Exchange Online: about 12 mailboxes; the demo app
// (EXODemoAppID, secret EXODemoSecret and a certificate) is scoped by RBAC for
// Applications to everybody outside department "Executive" and is on the EWS
// allow-list; one mailbox has EWS disabled; one address has no mailbox. Further apps
// cover tenant-wide consent, a missing allow-list entry, no permission at all, and
// delegated sign-in (user adele.vance@fabrikam.test).
func EXODemo() (*EXOScenario, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Deputy EWS demo app"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	bundle := append(append([]byte(nil), certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)

	addr := func(l string) string { return l + "@" + DemoDomain }
	sc := &Scenario{Name: "exo-demo", Domain: DemoDomain, NetBIOS: DemoNetBIOS, Host: "outlook.office365.com",
		AuthSchemes: []string{"Basic"},
		Accounts: []Account{{User: EXODemoUser, Password: randomPassword(), Mailbox: true,
			Impersonation: Impersonation{Mode: ModeNone}}}}
	people := []struct{ local, name, dept string }{
		{"adele.vance", "Adele Vance", "IT"},
		{"anna.berg", "Anna Berg", "Sales"}, {"ben.carter", "Ben Carter", "Sales"},
		{"david.ek", "David Ek", "Engineering"}, {"eva.fischer", "Eva Fischer", "Engineering"},
		{"hugo.iversen", "Hugo Iversen", "Finance"}, {"ines.jansen", "Ines Jansen", "Finance"},
		{"kai.lund", "Kai Lund", "Support"}, {"lena.meyer", "Lena Meyer", "Support"},
		{"ceo", "Olivia Ceo", "Executive"}, {"cfo", "Paul Cfo", "Executive"},
	}
	for _, p := range people {
		sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: addr(p.local), Name: p.name, Department: p.dept})
	}
	sc.Mailboxes = append(sc.Mailboxes,
		Mailbox{Address: addr("gone.user"), Name: "Gone User", Department: "Sales", State: StateMissing},
		Mailbox{Address: addr("room-atlas"), Name: "Atlas", Department: "Facilities", Kind: "room"},
		Mailbox{Address: addr("room-board"), Name: "Board Room", Department: "Executive", Kind: "room"})
	sc.RoomLists = []RoomList{{Name: "HQ Rooms", Address: addr("rooms-hq"), Rooms: []string{addr("room-atlas"), addr("room-board")}}}

	exo := map[string][]string{entra.ResourceEXO: {entra.RoleFullAccess}}
	x := &EXOScenario{Scenario: sc, ClientID: EXODemoAppID, ClientSecret: EXODemoSecret, CertPEM: bundle,
		EXO: EXOConfig{
			EwsEnabled:         true,
			EwsAllowedAppIDs:   []string{EXODemoAppID, EXODemoConsentedID, EXODemoNoRoleID, EXODemoPublicID},
			MailboxEwsDisabled: []string{addr("lena.meyer")},
			RBAC: map[string]Impersonation{strings.ToLower(EXODemoAppID): {Mode: ModeScope, ExcludeDepartments: []string{"Executive"},
				ScopeName: "EWS-App-Scope", ScopeFilter: "Department -ne 'Executive'"}},
			Entra: entra.Config{Tenants: []entra.Tenant{{
				ID: EXODemoTenantID, Domain: EXODemoTenant, Name: "Fabrikam",
				Users: []entra.User{{UPN: EXODemoUser, Name: "Adele Vance", ObjectID: "0c5c6f1b-1111-4222-8333-944445555666"}},
				Apps: []entra.App{
					{ClientID: EXODemoAppID, Name: "Deputy EWS app", Secrets: []entra.Secret{{Value: EXODemoSecret}}, Certificates: []string{string(certPEM)}},
					{ClientID: EXODemoConsentedID, Name: "Consented EWS app", Secrets: []entra.Secret{{Value: EXODemoSecret}}, AppRoles: exo},
					{ClientID: EXODemoUnlistedID, Name: "Unlisted EWS app", Secrets: []entra.Secret{{Value: EXODemoSecret}}, AppRoles: exo},
					{ClientID: EXODemoNoRoleID, Name: "No-permission app", Secrets: []entra.Secret{{Value: EXODemoSecret}}},
					{ClientID: EXODemoPublicID, Name: "Deputy delegated", Public: true,
						Scopes: map[string][]string{entra.ResourceEXO: {entra.ScopeEWSDelegated}}},
				},
			}}},
		}}
	return x, nil
}

func randomPassword() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return "Unused-" + hex.EncodeToString(b[:])
}
