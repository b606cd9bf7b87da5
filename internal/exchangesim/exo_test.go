package exchangesim

import (
	"context"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim/entra"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

func startEXO(t *testing.T, mutate func(*EXOScenario)) *EXOServer {
	t.Helper()
	x, err := EXODemo()
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(x)
	}
	s, err := StartEXO(x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appToken gets an app-only token through MSAL for scope (default EXO).
func appToken(t *testing.T, s *EXOServer, app, scope string) string {
	t.Helper()
	cred, _ := confidential.NewCredFromSecret(EXODemoSecret)
	c, err := confidential.New(s.Authority+"/"+s.Tenant, app, cred, confidential.WithHTTPClient(client(s.Server)), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	if scope == "" {
		scope = entra.ResourceEXO + "/.default"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.AcquireTokenByCredential(ctx, []string{scope})
	if err != nil {
		t.Fatal(err)
	}
	return r.AccessToken
}

func bearer(tok string) reqOpt { return header("Authorization", "Bearer "+tok) }

func TestEXOAppOnly(t *testing.T) {
	s := startEXO(t, nil)
	c := client(s.Server)
	rbac := appToken(t, s, EXODemoAppID, "")
	consented := appToken(t, s, EXODemoConsentedID, "")
	cases := []struct {
		name, tok, imp string
		status         int
		code           string // EWS ResponseCode
		diag           string // x-ms-diagnostics prefix
	}{
		{"rbac app, in scope", rbac, "anna.berg@fabrikam.test", 200, "NoError", ""},
		{"rbac app, out of scope", rbac, "ceo@fabrikam.test", 500, "ErrorImpersonateUserDenied", ""},
		{"tenant-wide consent overrides scope", consented, "ceo@fabrikam.test", 200, "NoError", ""},
		{"no impersonation header", rbac, "", 500, "ErrorInvalidExchangeImpersonationHeaderData", ""},
		{"mailbox with EWS disabled", consented, "lena.meyer@fabrikam.test", 403, "", "2000013"},
		{"no mailbox", consented, "gone.user@fabrikam.test", 500, "ErrorNonExistentMailbox", ""},
		{"app not allow-listed", appToken(t, s, EXODemoUnlistedID, ""), "anna.berg@fabrikam.test", 403, "", "2000012"},
		{"no permission at all", appToken(t, s, EXODemoNoRoleID, ""), "anna.berg@fabrikam.test", 401, "", "2000008"},
		{"graph token", appToken(t, s, EXODemoConsentedID, entra.ResourceGraph+"/.default"), "anna.berg@fabrikam.test", 401, "", "2000003"},
		{"garbage token", "abc.def.ghi", "anna.berg@fabrikam.test", 401, "", "2000001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, c, s.URL, []byte(getFolder(tc.imp)), bearer(tc.tok), header("X-AnchorMailbox", tc.imp))
			if r.Status != tc.status || r.code() != tc.code || !strings.HasPrefix(r.Header.Get("x-ms-diagnostics"), tc.diag) {
				t.Fatalf("got %d %q diag %q\n%s", r.Status, r.code(), r.Header.Get("x-ms-diagnostics"), r.Body)
			}
			if r.Header.Get("request-id") == "" {
				t.Error("no request-id header")
			}
			if tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\"") {
				t.Errorf("401 without the Bearer challenge: %q", r.Header.Get("WWW-Authenticate"))
			}
			if tc.code == "ErrorInvalidExchangeImpersonationHeaderData" && !strings.Contains(r.Body, "must be present for this type of OAuth token") {
				t.Errorf("body %s", r.Body)
			}
			if tc.imp != "" && tc.status != 401 && tc.status != 403 {
				app := EXODemoAppID
				if tc.tok == consented {
					app = EXODemoConsentedID
				}
				if want := s.X.ExpectClass(app, tc.tok == consented, tc.imp); (want == "ok") != (tc.code == "NoError") {
					t.Errorf("ExpectClass %s disagrees with %s", want, tc.code)
				}
			}
		})
	}
	// Without any token: the Bearer challenge, and Basic is not accepted.
	r := post(t, c, s.URL, []byte(getFolder("")), basic(EXODemoUser, "x"))
	if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("basic: %d %v", r.Status, r.Header)
	}
}

func TestEXOPolicyAndExpiry(t *testing.T) {
	t.Run("org EWS disabled", func(t *testing.T) {
		s := startEXO(t, func(x *EXOScenario) { x.EXO.EwsEnabled = false })
		r := post(t, client(s.Server), s.URL, []byte(getFolder("anna.berg@fabrikam.test")), bearer(appToken(t, s, EXODemoConsentedID, "")))
		if r.Status != 403 || !strings.Contains(r.Header.Get("x-ms-diagnostics"), "EwsEnabled is False") {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		s := startEXO(t, func(x *EXOScenario) { x.EXO.Entra.TokenLifetime = time.Second })
		tok := appToken(t, s, EXODemoConsentedID, "")
		time.Sleep(1100 * time.Millisecond)
		r := post(t, client(s.Server), s.URL, []byte(getFolder("anna.berg@fabrikam.test")), bearer(tok))
		if r.Status != 401 || !strings.Contains(r.Header.Get("x-ms-diagnostics"), "expired") || !strings.Contains(r.Header.Get("x-ms-diagnostics"), "invalid_token") {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
	})
}

func TestEXODelegated(t *testing.T) {
	s := startEXO(t, nil)
	pc, err := public.New(EXODemoPublicID, public.WithAuthority(s.Authority+"/"+EXODemoTenant), public.WithHTTPClient(client(s.Server)), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := pc.AcquireTokenInteractive(ctx, []string{entra.ResourceEXO + "/" + entra.ScopeEWSDelegated}, public.WithOpenURL(func(u string) error {
		return entra.Browse(ctx, client(s.Server), u)
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := client(s.Server)
	if r := post(t, c, s.URL, []byte(getFolder("")), bearer(res.AccessToken)); r.Status != 200 || r.code() != "NoError" {
		t.Fatalf("own mailbox: %d %s", r.Status, r.Body)
	}
	if r := post(t, c, s.URL, []byte(getFolder("anna.berg@fabrikam.test")), bearer(res.AccessToken)); r.code() != "ErrorImpersonationDenied" {
		t.Fatalf("delegated impersonation: %d %s", r.Status, r.Body)
	}
}
