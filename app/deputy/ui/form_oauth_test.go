package ui

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/secret"

	"software.sslmate.com/src/go-pkcs12"
)

func formLabels(f *ProfileForm) []string {
	var s []string
	for _, it := range f.form.Items {
		s = append(s, it.Text)
	}
	return s
}

func TestOAuthFormModes(t *testing.T) {
	test.NewTempApp(t)
	cases := []struct {
		auth      string
		want      []string
		notWanted []string
	}{
		{AuthAppSecret, []string{FieldTenant, FieldClientID, "Cloud", "Client secret", "Protocol"}, []string{"Password", FieldCertFile}},
		{AuthAppCert, []string{FieldTenant, FieldClientID, "Cloud", FieldCertFile, "Protocol"}, []string{"Password", "Client secret"}},
		{AuthDelegated, []string{FieldTenant, FieldClientID, "Account"}, []string{"Password", "Protocol"}},
		{AuthBasic, []string{FieldUser, "Password"}, []string{FieldTenant}},
	}
	for _, c := range cases {
		t.Run(c.auth, func(t *testing.T) {
			f := NewProfileForm()
			test.NewTempWindow(t, f.Content())
			f.auth.SetSelected(labelFor(authModes, c.auth))
			got := strings.Join(formLabels(f), "|")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("form %q lacks %q", got, w)
				}
			}
			for _, w := range c.notWanted {
				if strings.Contains("|"+got+"|", "|"+w+"|") {
					t.Errorf("form %q shows %q", got, w)
				}
			}
			if f.Values().Auth != c.auth {
				t.Errorf("Values().Auth = %q", f.Values().Auth)
			}
		})
	}
}

func TestOAuthValidation(t *testing.T) {
	cases := []struct {
		name, tenant, client string
		field                string // "" = no error on tenant/client
	}{
		{"ok guid tenant", "7f3e2a1b-0c4d-4e5f-8a9b-0c1d2e3f4a5b", "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c", ""},
		{"ok domain", "contoso.onmicrosoft.com", "{3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c}", ""},
		{"client not guid", "contoso.onmicrosoft.com", "Deputy app", FieldClientID},
		{"client empty", "contoso.onmicrosoft.com", "", FieldClientID},
		{"tenant address", "admin@contoso.com", "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c", FieldTenant},
		{"tenant no dot", "contoso", "3a9d5c2b-8e41-4f6a-b0c7-1d2e3f4a5b6c", FieldTenant},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := FormValues{Name: "x", Environment: result.EXO, Auth: AuthAppSecret, Tenant: c.tenant, ClientID: c.client}
			var fields []string
			for _, e := range v.Validate() {
				fields = append(fields, e.Field)
				if e.Message == "" {
					t.Errorf("%s: empty message", e.Field)
				}
			}
			joined := strings.Join(fields, ",")
			if c.field == "" && joined != "" {
				t.Errorf("unexpected errors on %s", joined)
			}
			if c.field != "" && joined != c.field {
				t.Errorf("errors on %q, want %q", joined, c.field)
			}
		})
	}
}

// TestPortalPathsShownOnForm: the core words portal paths with "→", which Fyne 2.8 draws
// as "→�" on a proportional label (fyne-io/fyne#6216); the form's labels show "›".
func TestPortalPathsShownOnForm(t *testing.T) {
	test.NewTempApp(t)
	cases := []struct {
		name  string
		fill  func(t *testing.T, f *ProfileForm)
		label func(f *ProfileForm) *widget.Label
		want  string
	}{
		{"expired certificate", func(t *testing.T, f *ProfileForm) {
			f.auth.SetSelected(labelFor(authModes, AuthAppCert))
			test.Type(f.oa.certFile, expiredCertFile(t))
			test.Tap(f.oa.certLoad)
		}, func(f *ProfileForm) *widget.Label { return f.oa.certInfo }, "App registrations › your app › Certificates & secrets"},
		{"client ID missing", func(t *testing.T, f *ProfileForm) {
			f.auth.SetSelected(labelFor(authModes, AuthAppSecret))
			f.Validate()
		}, func(f *ProfileForm) *widget.Label { return f.errs[FieldClientID] }, "Entra admin center › App registrations › your app › Overview"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewProfileForm()
			test.NewTempWindow(t, f.Content())
			f.Load(FormValues{Name: "EXO", Environment: result.EXO}, false)
			c.fill(t, f)
			if got := c.label(f).Text; !strings.Contains(got, c.want) || strings.Contains(got, "→ ") {
				t.Errorf("label %q, want %q and no \"→ \"", got, c.want)
			}
		})
	}
}

// expiredCertFile writes a PEM certificate with its key that expired yesterday.
func expiredCertFile(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Deputy expired app"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	path := filepath.Join(t.TempDir(), "expired.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExchangeOnlineBasicExplainsAndSwitches(t *testing.T) {
	test.NewTempApp(t)
	f := NewProfileForm()
	test.NewTempWindow(t, f.Content())
	f.Load(FormValues{Name: "Old", Environment: result.OnPrem, Auth: AuthBasic, URL: "https://mail.contoso.com/EWS/Exchange.asmx"}, false)
	if w := f.LegacyAuthWarning(); w != "" {
		t.Fatalf("on-premises Basic warned: %q", w)
	}
	f.Load(FormValues{Name: "Old", Environment: result.EXO, Auth: AuthBasic}, false)
	w := f.LegacyAuthWarning()
	for _, want := range []string{"October 2022", "ApplicationImpersonation", "2025"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	test.Tap(f.oa.switchApp)
	if got := f.Values().Auth; got != AuthAppSecret {
		t.Errorf("after Switch to app-only: auth %q", got)
	}
	if f.LegacyAuthWarning() != "" {
		t.Error("warning still shown after the switch")
	}
	if got := f.Values().URL; got != oauth.Clouds["global"].EWSURL {
		t.Errorf("EWS URL %q, want the cloud's", got)
	}
	f.oa.cloud.SetSelected(labelFor(clouds, "gcc-high"))
	if got := f.Values().URL; got != oauth.Clouds["gcc-high"].EWSURL {
		t.Errorf("after choosing GCC High the EWS URL is %q", got)
	}
}

// exoServer starts the simulated Exchange Online (with Graph when graph is set).
func exoServer(t *testing.T, graph bool) *exchangesim.EXOServer {
	t.Helper()
	x, err := exchangesim.EXODemo()
	if err != nil {
		t.Fatal(err)
	}
	if graph {
		graphsim.PrepareEXODemo(x)
	}
	s, err := exchangesim.StartEXO(x, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if graph {
		if _, err := graphsim.MountEXO(s, 0); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// exoForm is a form filled as an admin would for the simulated tenant.
func exoForm(t *testing.T, s *exchangesim.EXOServer, auth, clientID string) *ProfileForm {
	t.Helper()
	f := NewProfileForm()
	test.NewTempWindow(t, f.Content())
	f.Load(FormValues{Name: "EXO", Environment: result.EXO, URL: s.URL, PinSHA256: s.SHA256,
		Mailboxes: strings.Join(s.X.Targets()[:3], "\n"), Concurrency: "2"}, false)
	f.auth.SetSelected(labelFor(authModes, auth))
	test.Type(f.oa.tenant, s.Tenant)
	test.Type(f.oa.clientID, clientID)
	return f
}

func diagnose(t *testing.T, o *OAuthEnv, f *ProfileForm) (*result.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if errs := f.Validate(); len(errs) > 0 {
		t.Fatalf("form invalid: %v", errs)
	}
	cfg, err := o.BuildConfigFor(ctx, o.profileID(), f.Values(), "", f.OAuthSecrets())
	if err != nil {
		return nil, err
	}
	return impersonation.Diagnose(ctx, cfg, nil)
}

func checkOf(r *result.Result, id string) *result.Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

func TestAppSecretTokenCheck(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	cases := []struct {
		name, secret string
		want         result.Status
		msg          string
	}{
		// The demo app is authorised through RBAC for Applications: a token without roles
		// is a warning by design; what matters is that MSAL got a token.
		{"right secret", exchangesim.EXODemoSecret, result.Warn, "token: app-only"},
		{"wrong secret", "not-the-secret", result.Fail, "AADSTS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := exoForm(t, s, AuthAppSecret, exchangesim.EXODemoAppID)
			test.Type(f.oa.secret, c.secret)
			if !f.Dirty() {
				t.Error("a typed secret does not make the form dirty")
			}
			r, err := diagnose(t, &OAuthEnv{Authority: s.Authority}, f)
			if err != nil {
				t.Fatal(err)
			}
			ck := checkOf(r, result.CheckToken)
			if ck == nil {
				t.Fatalf("no token check in %d checks", len(r.Checks))
			}
			if ck.Status != c.want || !strings.Contains(ck.Summary+ck.Code+strings.Join(ck.Evidence, " "), c.msg) {
				t.Errorf("token check %s %q %q, want %s containing %q", ck.Status, ck.Code, ck.Summary, c.want, c.msg)
			}
			if strings.Contains(resultText(r), c.secret) {
				t.Error("the client secret appears in the result")
			}
		})
	}
}

func resultText(r *result.Result) string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.Summary + strings.Join(c.Evidence, " ") + c.Remediation + c.Code)
	}
	for _, m := range r.Mailboxes {
		b.WriteString(m.Message + m.Remediation + m.Code)
	}
	return b.String()
}

// certFiles writes the demo app's certificate as PEM and as a password-protected PFX.
func certFiles(t *testing.T, s *exchangesim.EXOServer, pfxPassword string) (pemPath, pfxPath string) {
	t.Helper()
	c, err := oauth.LoadCertificate(s.X.CertPEM, "")
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern.Encode(c.Key, c.Chain[0], nil, pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemPath, pfxPath = filepath.Join(dir, "app.pem"), filepath.Join(dir, "app.pfx")
	if err := os.WriteFile(pemPath, s.X.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pfxPath, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	return pemPath, pfxPath
}

func TestAppCertFormAndRun(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	const pfxPassword = "Pfx-Pass-Word-42"
	pemPath, pfxPath := certFiles(t, s, pfxPassword)
	block, _ := pem.Decode(s.X.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	thumb := oauthThumb(t, s.X.CertPEM)
	cases := []struct {
		name, file, password string
		wantErr              string
	}{
		{"pem", pemPath, "", ""},
		{"pfx with password", pfxPath, pfxPassword, ""},
		{"pfx wrong password", pfxPath, "Nope-9x7", "password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := exoForm(t, s, AuthAppCert, exchangesim.EXODemoAppID)
			test.Type(f.oa.certFile, c.file)
			test.Type(f.oa.certPassword, c.password)
			test.Tap(f.oa.certLoad)
			info := f.CertInfo()
			if c.wantErr != "" {
				if !strings.Contains(strings.ToLower(info), c.wantErr) || len(f.OAuthSecrets().CertPEM) != 0 {
					t.Fatalf("wrong password: info %q", info)
				}
				if strings.Contains(info, c.password) {
					t.Error("the PFX password is shown")
				}
				return
			}
			if !strings.Contains(info, thumb) || !strings.Contains(info, leaf.NotAfter.Format("2 Jan 2006")) {
				t.Errorf("info %q lacks thumbprint %s or expiry", info, thumb)
			}
			if f.oa.certPassword.Text != "" {
				t.Error("the PFX password stays in the form after loading")
			}
			r, err := diagnose(t, &OAuthEnv{Authority: s.Authority}, f)
			if err != nil {
				t.Fatal(err)
			}
			if ck := checkOf(r, result.CheckToken); ck == nil || ck.Status == result.Fail || !strings.Contains(strings.Join(ck.Evidence, " "), thumb) {
				t.Fatalf("token check %+v", ck)
			}
			if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
				t.Log("keychain storage not tested: run under .ci/with-secret-service.sh (DEPUTY_SECRET_SERVICE=1)")
				return
			}
			keys := secret.New()
			id := "uitest-" + strings.ReplaceAll(c.name, " ", "-")
			o := &OAuthEnv{Keys: keys, Authority: s.Authority, ProfileID: func() string { return id }}
			ctx := context.Background()
			t.Cleanup(func() { _ = keys.DeleteProfile(context.Background(), id) })
			if err := o.SaveSecrets(ctx, id, f.OAuthSecrets()); err != nil {
				t.Fatal(err)
			}
			got, err := keys.Get(ctx, secret.Key{Profile: id, Kind: secret.CertKey})
			if err != nil || !strings.Contains(got, "PRIVATE KEY") {
				t.Fatalf("keychain cert-key: err %v, has key %v", err, strings.Contains(got, "PRIVATE KEY"))
			}
			if strings.Contains(got, pfxPassword) {
				t.Error("the PFX password is in the keychain")
			}
			if _, err := keys.Get(ctx, secret.Key{Profile: id, Kind: secret.Password}); !errors.Is(err, secret.ErrNotFound) {
				t.Errorf("a password entry exists: %v", err)
			}
			// Loaded again, the form says the key is saved.
			f.OAuth = o
			f.Load(f.Values(), false)
			waitFor(t, func() bool {
				ch := make(chan string, 1)
				doSync(func() { ch <- f.CertInfo() })
				return strings.Contains(<-ch, "saved in")
			})
			// A run from the saved profile: nothing typed, the key comes from the keychain.
			f.MarkSaved(false)
			if f.Dirty() {
				t.Error("dirty after MarkSaved")
			}
			f.SecretsStored("the test keychain")
			if len(f.OAuthSecrets().CertPEM) != 0 {
				t.Fatal("the loaded key survives Save in the form")
			}
			r, err = diagnose(t, o, f)
			if err != nil {
				t.Fatal(err)
			}
			if ck := checkOf(r, result.CheckToken); ck == nil || ck.Status == result.Fail {
				t.Fatalf("token check from the keychain %+v", ck)
			}
		})
	}
}

func oauthThumb(t *testing.T, pemData []byte) string {
	c, err := oauth.LoadCertificate(pemData, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.Info().Thumbprint
}

func TestDelegatedDeviceCodeSignInRunSignOut(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	f := exoForm(t, s, AuthDelegated, exchangesim.EXODemoPublicID)
	o := &OAuthEnv{Authority: s.Authority, ProfileID: func() string { return "" }}
	f.OAuth = o
	if got := f.SignInState(); got != "Not signed in" {
		t.Errorf("initial state %q", got)
	}
	done := make(chan error, 1)
	f.OnSignIn = func(err error) { done <- err }
	test.Tap(f.oa.deviceCode)
	var msg string
	waitFor(t, func() bool {
		ch := make(chan string, 1)
		doSync(func() { ch <- f.DeviceCodeMessage() })
		msg = <-ch
		return msg != ""
	})
	code := deviceUserCode(msg)
	if code == "" || code == msg {
		t.Fatalf("no code in %q", msg)
	}
	if err := s.Entra.ApproveDevice(code, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sign-in did not finish")
	}
	if st := f.SignInState(); !strings.HasPrefix(st, "Signed in as ") {
		t.Fatalf("state %q", st)
	}
	if f.DeviceCodeMessage() != "" {
		t.Error("device-code dialog still open")
	}
	r, err := diagnose(t, o, f)
	if err != nil {
		t.Fatal(err)
	}
	if ck := checkOf(r, result.CheckToken); ck == nil || ck.Status != result.Pass {
		t.Fatalf("delegated token check %+v", ck)
	}
	test.Tap(f.oa.signOut)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sign-out did not finish")
	}
	if st := f.SignInState(); st != "Not signed in" {
		t.Errorf("after sign out: %q", st)
	}
	if _, ok := o.SignedIn("", f.Values()); ok {
		t.Error("the session still knows the account")
	}
}

func TestDelegatedSignInCancel(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	f := exoForm(t, s, AuthDelegated, exchangesim.EXODemoPublicID)
	f.OAuth = &OAuthEnv{Authority: s.Authority}
	done := make(chan error, 1)
	f.OnSignIn = func(err error) { done <- err }
	test.Tap(f.oa.deviceCode)
	waitFor(t, func() bool {
		ch := make(chan string, 1)
		doSync(func() { ch <- f.DeviceCodeMessage() })
		return <-ch != ""
	})
	f.CancelSignIn()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled sign-in succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancel did not stop the sign-in")
	}
	if st := f.SignInState(); !strings.Contains(st, "not signed in") {
		t.Errorf("state after cancel %q", st)
	}
	if f.oa.connect.Disabled() {
		t.Error("Connect stays disabled")
	}
}

func TestProtocolBothFillsMigration(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, true)
	f := exoForm(t, s, AuthAppSecret, exchangesim.EXODemoAppID)
	test.Type(f.oa.secret, exchangesim.EXODemoSecret)
	f.oa.protocol.SetSelected(labelFor(protocols, impersonation.ProtocolBoth))
	f.mailboxes.SetText(strings.Join(s.X.Targets(), "\n"))
	r, err := diagnose(t, &OAuthEnv{Authority: s.Authority}, f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Migration == nil || len(r.Migration.Addresses) == 0 {
		t.Fatal("no migration view")
	}
	if v := VerdictText(r); !strings.Contains(v, "Migration to Graph: "+strconv.Itoa(r.Migration.BothReady)+" ready on both") {
		t.Errorf("verdict line lacks the migration counts: %q", v)
	}
	m := NewMailboxModel()
	m.Set(r.Mailboxes)
	m.SetMigration(r.Migration)
	cols := m.Columns()
	if !containsCol(cols, ColProtocol) || !containsCol(cols, ColMigration) {
		t.Fatalf("columns %v lack Protocol/Migration", cols)
	}
	verdicts := map[string]int{}
	for i := 0; i < m.Len(); i++ {
		verdicts[m.Cell(i, ColMigration)]++
	}
	if verdicts[""] > 0 {
		t.Errorf("rows without a verdict: %v", verdicts)
	}
	want := map[string]int{impersonation.VerdictBothReady: r.Migration.BothReady * 2, impersonation.VerdictEWSOnly: r.Migration.EWSOnly * 2,
		impersonation.VerdictGraphOnly: r.Migration.GraphOnly * 2, impersonation.VerdictNeither: r.Migration.Neither * 2}
	for v, n := range want {
		if verdicts[v] != n {
			t.Errorf("verdict %s: %d rows, want %d (%v)", v, verdicts[v], n, verdicts)
		}
	}
	if r.Migration.EWSOnly > 0 {
		m.SetFilter(Filter{Verdict: impersonation.VerdictEWSOnly})
		if m.Len() != r.Migration.EWSOnly*2 {
			t.Errorf("filter ews-only: %d rows, want %d", m.Len(), r.Migration.EWSOnly*2)
		}
		row, _ := m.Row(0)
		d := MigrationDetail(r, row.Address)
		if !strings.Contains(d, "EWS") || !strings.Contains(d, "Graph") {
			t.Errorf("detail %q", d)
		}
	}
	// An EWS-only result shows neither column.
	m2 := NewMailboxModel()
	m2.Set([]result.Mailbox{{Address: "a@contoso.com", Status: result.Pass}})
	if cols := m2.Columns(); containsCol(cols, ColProtocol) || containsCol(cols, ColMigration) {
		t.Errorf("EWS-only columns %v", cols)
	}
}

func containsCol(cs []Column, c Column) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// doSync runs fn on the UI goroutine and waits.
func doSync(fn func()) {
	done := make(chan struct{})
	fyne.Do(func() { fn(); close(done) })
	<-done
}

// TestNoSecretInProfileFiles saves OAuth profiles through the window's store with
// secrets typed in the form and scans the profile directory for them.
func TestNoSecretInProfileFiles(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	dir := t.TempDir()
	st, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	const pfxPassword = "Pfx-Pass-Word-77"
	_, pfxPath := certFiles(t, s, pfxPassword)
	f := exoForm(t, s, AuthAppSecret, exchangesim.EXODemoAppID)
	test.Type(f.oa.secret, exchangesim.EXODemoSecret)
	if _, err := st.Save(StoredProfile{Values: f.Values()}); err != nil {
		t.Fatal(err)
	}
	f.auth.SetSelected(labelFor(authModes, AuthAppCert))
	test.Type(f.oa.certFile, pfxPath)
	test.Type(f.oa.certPassword, pfxPassword)
	test.Tap(f.oa.certLoad)
	if len(f.OAuthSecrets().CertPEM) == 0 {
		t.Fatalf("certificate not loaded: %s", f.CertInfo())
	}
	v := f.Values()
	v.Name = "EXO cert"
	if _, err := st.Save(StoredProfile{Values: v}); err != nil {
		t.Fatal(err)
	}
	key := string(f.OAuthSecrets().CertPEM)
	_, keyBlock, _ := strings.Cut(key, "-----BEGIN")
	keyBody := keyBlock[len(keyBlock)/2 : len(keyBlock)/2+40] // a slice of base64 from inside the PEM
	n := 0
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, sec := range []string{exchangesim.EXODemoSecret, pfxPassword, keyBody, "PRIVATE KEY"} {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s holds a secret (%d bytes of it)", p, len(sec))
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("scanned %d files: %v", n, err)
	}
}

// TestDelegatedTokenCacheInKeychain: a sign-in is kept in the keychain (token-cache) and
// Sign out deletes it. Needs a Secret Service.
func TestDelegatedTokenCacheInKeychain(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a Secret Service: run under .ci/with-secret-service.sh (DEPUTY_SECRET_SERVICE=1)")
	}
	test.NewTempApp(t)
	s := exoServer(t, false)
	keys := secret.New()
	id := "uitest-delegated-cache"
	t.Cleanup(func() { _ = keys.DeleteProfile(context.Background(), id) })
	f := exoForm(t, s, AuthDelegated, exchangesim.EXODemoPublicID)
	hc, err := oauth.NewHTTPClient(f.tlsOptions(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o := &OAuthEnv{Keys: keys, Authority: s.Authority, ProfileID: func() string { return id },
		OpenURL: func(u string) error { return entraBrowse(hc, u) }}
	f.OAuth = o
	done := make(chan error, 1)
	f.OnSignIn = func(err error) { done <- err }
	test.Tap(f.oa.connect)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := keys.Get(ctx, secret.Key{Profile: id, Kind: secret.TokenCache}); err != nil || v == "" {
		t.Fatalf("no token cache in the keychain: %v", err)
	}
	// A new session (Deputy restarted): the saved sign-in is shown and a run uses it
	// silently — the browser must not open again.
	o2 := &OAuthEnv{Keys: keys, Authority: s.Authority, ProfileID: func() string { return id },
		OpenURL: func(string) error { t.Error("the browser opened for a saved sign-in"); return errors.New("no") }}
	f.OAuth = o2
	f.Load(f.Values(), false)
	waitFor(t, func() bool {
		ch := make(chan string, 1)
		doSync(func() { ch <- f.SignInState() })
		return strings.HasPrefix(<-ch, "Signed in earlier")
	})
	r, err := diagnose(t, o2, f)
	if err != nil {
		t.Fatal(err)
	}
	if ck := checkOf(r, result.CheckToken); ck == nil || ck.Status == result.Fail {
		t.Fatalf("token check from the saved sign-in %+v", ck)
	}
	test.Tap(f.oa.signOut)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Get(ctx, secret.Key{Profile: id, Kind: secret.TokenCache}); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("token cache after sign out: %v", err)
	}
	if st := f.SignInState(); st != "Not signed in" {
		t.Errorf("state %q", st)
	}
}

func entraBrowse(hc *http.Client, u string) error { return entra.Browse(context.Background(), hc, u) }

// TestConnectAccountCancel: the browser sign-in waits for a redirect that never comes
// until Cancel.
func TestConnectAccountCancel(t *testing.T) {
	test.NewTempApp(t)
	s := exoServer(t, false)
	f := exoForm(t, s, AuthDelegated, exchangesim.EXODemoPublicID)
	opened := make(chan string, 1)
	f.OAuth = &OAuthEnv{Authority: s.Authority, OpenURL: func(u string) error { opened <- u; return nil }}
	done := make(chan error, 1)
	f.OnSignIn = func(err error) { done <- err }
	test.Tap(f.oa.connect)
	select {
	case u := <-opened:
		if !strings.HasPrefix(u, s.Authority) || !strings.Contains(u, "/authorize") {
			t.Errorf("browser opened %q", u)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the browser was never opened")
	}
	if got := f.oa.signOut.Text; got != "Cancel" {
		t.Errorf("during sign-in the button reads %q", got)
	}
	test.Tap(f.oa.signOut) // Cancel
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled sign-in succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancel did not stop the browser sign-in")
	}
	if st := f.SignInState(); !strings.Contains(st, "not signed in") {
		t.Errorf("state %q", st)
	}
	if f.oa.signOut.Text != "Sign out" {
		t.Errorf("button %q after cancel", f.oa.signOut.Text)
	}
}

func TestProtocolOnlyForAppOnly(t *testing.T) {
	test.NewTempApp(t)
	f := NewProfileForm()
	test.NewTempWindow(t, f.Content())
	f.auth.SetSelected(labelFor(authModes, AuthAppSecret))
	f.oa.protocol.SetSelected(labelFor(protocols, impersonation.ProtocolBoth))
	cases := []struct{ auth, want string }{
		{AuthAppSecret, impersonation.ProtocolBoth},
		{AuthAppCert, impersonation.ProtocolBoth},
		{AuthDelegated, ""},
		{AuthBasic, ""},
	}
	for _, c := range cases {
		f.auth.SetSelected(labelFor(authModes, c.auth))
		if got := f.Values().Protocol; got != c.want {
			t.Errorf("%s: protocol %q, want %q", c.auth, got, c.want)
		}
	}
}

// TestServiceAccountErrorInEveryMode: the account row is shared by Basic/NTLM and
// delegated sign-in, so its message shows in both.
func TestServiceAccountErrorInEveryMode(t *testing.T) {
	test.NewTempApp(t)
	for _, auth := range []string{AuthBasic, AuthDelegated, AuthNTLM} {
		f := NewProfileForm()
		test.NewTempWindow(t, f.Content())
		f.auth.SetSelected(labelFor(authModes, auth))
		test.Type(f.user, "not an account")
		f.Validate()
		if f.FieldError(FieldUser) == "" {
			t.Errorf("%s: no message under the service account", auth)
		}
	}
}

func TestDeviceUserCode(t *testing.T) {
	cases := []struct{ msg, want string }{
		{"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FQK5HW3UF to authenticate.", "FQK5HW3UF"},
		{"enter the code AB12.", "AB12"},
		{"no code here", "no code here"},
	}
	for _, c := range cases {
		if got := deviceUserCode(c.msg); got != c.want {
			t.Errorf("deviceUserCode(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}
