package ui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/secret"
	"deputy/internal/transport"
)

// oauthForm is the Exchange Online part of the profile form: the app registration, its
// credential, delegated sign-in and the protocol.
type oauthForm struct {
	tenant, clientID *widget.Entry
	cloud            *widget.Select
	protocol         *widget.Select

	secret      *widget.Entry // password entry; never loaded from the keychain
	secretState *widget.Label

	certFile     *widget.Entry
	certBrowse   *widget.Button
	certPassword *widget.Entry
	certLoad     *widget.Button
	certInfo     *widget.Label
	cert         *oauth.Certificate // loaded, not yet in the keychain
	savedSecret  string             // secret / certificate as of the last Save (for Dirty)
	savedCert    *oauth.Certificate

	connect, deviceCode, signOut *widget.Button
	signIn                       *widget.Label
	cancelSignIn                 context.CancelFunc

	exoWarn   *widget.Label
	switchApp *widget.Button
}

// Explanation shown for an Exchange Online profile set to Basic or NTLM.
const exoLegacyAuthText = "Exchange Online does not accept Basic or NTLM any more: Basic authentication was " +
	"turned off for EWS in October 2022, and the ApplicationImpersonation role was retired in 2025. What works " +
	"today is an Entra app with the full_access_as_app permission (app-only OAuth), scoped with RBAC for Applications."

func (f *ProfileForm) buildOAuth(item func(string, fyne.CanvasObject, string) *widget.FormItem, userItem *widget.FormItem) {
	o := &oauthForm{}
	f.oa = o
	changed := func(field string) func(string) { return func(string) { f.edited(field) } }

	o.tenant = widget.NewEntry()
	o.tenant.SetPlaceHolder("contoso.onmicrosoft.com or the tenant ID (GUID)")
	o.tenant.OnChanged = changed(FieldTenant)
	o.clientID = widget.NewEntry()
	o.clientID.SetPlaceHolder("Application (client) ID, e.g. 11111111-2222-3333-4444-555555555555")
	o.clientID.OnChanged = changed(FieldClientID)
	o.cloud = widget.NewSelect(labels(clouds), func(string) { f.cloudChanged(); f.edited("") })
	o.cloud.SetSelected(clouds[0].Label)
	o.protocol = widget.NewSelect(labels(protocols), func(string) { f.edited("") })
	o.protocol.SetSelected(protocols[0].Label)

	o.secret = widget.NewPasswordEntry()
	o.secret.SetPlaceHolder("Client secret (value, not its ID)")
	o.secret.OnChanged = func(string) { f.edited("") }
	o.secretState = widget.NewLabel("")
	o.secretState.Wrapping = fyne.TextWrapWord

	o.certFile = widget.NewEntry()
	o.certFile.SetPlaceHolder("PEM (certificate + key) or PFX file")
	o.certFile.OnChanged = changed(FieldCertFile)
	o.certBrowse = widget.NewButtonWithIcon("Browse…", theme.FolderOpenIcon(), func() {
		if c := fyne.CurrentApp().Driver().CanvasForObject(f.content); c != nil {
			pickFile(c, "Certificate (PEM or PFX)", "", "", []string{".pfx", ".p12", ".pem"}, false, func(p string) {
				o.certFile.SetText(p)
				f.LoadCertificate()
			})
		}
	})
	o.certPassword = widget.NewPasswordEntry()
	o.certPassword.SetPlaceHolder("PFX password (not stored)")
	o.certLoad = widget.NewButtonWithIcon("Load", theme.ConfirmIcon(), func() { f.LoadCertificate() })
	o.certInfo = widget.NewLabel("")
	o.certInfo.Wrapping = fyne.TextWrapWord

	o.connect = widget.NewButtonWithIcon("Connect account", theme.LoginIcon(), func() { f.Connect(false) })
	o.connect.Importance = widget.HighImportance
	o.deviceCode = widget.NewButton("Use a device code", func() { f.Connect(true) })
	o.signOut = widget.NewButtonWithIcon("Sign out", theme.LogoutIcon(), func() { f.SignOut() })
	o.signIn = widget.NewLabel("Not signed in")
	o.signIn.Wrapping = fyne.TextWrapWord

	o.exoWarn = widget.NewLabel(exoLegacyAuthText)
	o.exoWarn.Wrapping = fyne.TextWrapWord
	o.exoWarn.Importance = widget.WarningImportance
	o.switchApp = widget.NewButton("Switch to app-only (client secret)", func() { f.SwitchToAppOnly() })
	o.switchApp.Importance = widget.HighImportance

	app := []*widget.FormItem{
		item(FieldTenant, o.tenant, "Entra admin center > Overview: Tenant ID, or a domain"),
		item(FieldClientID, o.clientID, "Entra admin center > App registrations > your app"),
		{Text: "Cloud", Widget: o.cloud},
	}
	proto := &widget.FormItem{Text: "Protocol", Widget: o.protocol,
		HintText: "EWS ends in Exchange Online on 1 April 2027; Both shows each mailbox's Graph readiness"}
	certRow := container.NewBorder(nil, nil, nil, o.certBrowse, o.certFile)
	pwRow := container.NewBorder(nil, nil, nil, o.certLoad, o.certPassword)
	f.authItems[AuthAppSecret] = append(append([]*widget.FormItem{}, app...),
		&widget.FormItem{Text: "Client secret", Widget: container.NewVBox(o.secret, o.secretState)}, proto)
	f.authItems[AuthAppCert] = append(append([]*widget.FormItem{}, app...),
		item(FieldCertFile, container.NewVBox(certRow, pwRow, o.certInfo), "The key is kept in the keychain; the PFX password is never saved"), proto)
	f.authItems[AuthDelegated] = append(append([]*widget.FormItem{}, app...),
		userItem, // the same row (and error label) as Basic/NTLM: only one sub-form shows at a time
		&widget.FormItem{Text: "Account", Widget: container.NewVBox(o.signIn, container.NewHBox(o.connect, o.deviceCode, o.signOut))})
}

// legacyItems is the Basic/NTLM sub-form, with the Exchange Online explanation on top.
func (f *ProfileForm) legacyItems(creds []*widget.FormItem) []*widget.FormItem {
	if idFor(environments, f.env.Selected) != result.EXO {
		return creds
	}
	warn := &widget.FormItem{Text: "", Widget: container.NewVBox(f.oa.exoWarn, container.NewHBox(f.oa.switchApp))}
	return append([]*widget.FormItem{warn}, creds...)
}

// LegacyAuthWarning is the explanation the form shows ("" when hidden).
func (f *ProfileForm) LegacyAuthWarning() string {
	for _, it := range f.form.Items {
		if box, ok := it.Widget.(*fyne.Container); ok && len(box.Objects) > 0 && box.Objects[0] == f.oa.exoWarn {
			return f.oa.exoWarn.Text
		}
	}
	return ""
}

// SwitchToAppOnly is the one click from a Basic/NTLM Exchange Online profile to app-only OAuth.
func (f *ProfileForm) SwitchToAppOnly() {
	f.auth.SetSelected(labelFor(authModes, AuthAppSecret))
	if f.url.Text == "" || strings.EqualFold(f.url.Text, f.cloudEWSURL()) {
		f.url.SetText(f.cloudEWSURL())
	}
	f.edited("")
}

func (f *ProfileForm) cloudEWSURL() string {
	c, err := oauth.LookupCloud(idFor(clouds, f.oa.cloud.Selected))
	if err != nil {
		return ""
	}
	return c.EWSURL
}

// cloudChanged keeps the EWS URL on the cloud's endpoint when it was the default.
func (f *ProfileForm) cloudChanged() {
	if f.oa == nil || f.url == nil {
		return
	}
	f.updateURLPlaceholder()
	if f.loading || idFor(environments, f.env.Selected) != result.EXO {
		return
	}
	cur := strings.TrimSpace(f.url.Text)
	for _, c := range oauth.Clouds {
		if strings.EqualFold(cur, c.EWSURL) {
			f.url.SetText(f.cloudEWSURL())
			return
		}
	}
}

// updateURLPlaceholder says what an empty EWS URL means for the environment.
func (f *ProfileForm) updateURLPlaceholder() {
	switch {
	case f.useAD != nil && f.useAD.Checked:
		f.url.SetPlaceHolder("Found by Autodiscover at every run (or enter one to compare)")
	case idFor(environments, f.env.Selected) == result.EXO:
		f.url.SetPlaceHolder(f.cloudEWSURL()) // empty means this one
	default:
		f.url.SetPlaceHolder("https://mail.contoso.com/EWS/Exchange.asmx")
	}
}

// envChanged fills the cloud's EWS URL for an Exchange Online profile without one.
func (f *ProfileForm) envChanged() {
	if f.oa == nil {
		return
	}
	f.updateURLPlaceholder()
	if f.loading {
		return
	}
	if idFor(environments, f.env.Selected) == result.EXO && strings.TrimSpace(f.url.Text) == "" {
		f.url.SetText(f.cloudEWSURL())
	}
	f.swapAuth()
}

// OAuthSecrets are the credentials typed or loaded since the profile was loaded or saved.
func (f *ProfileForm) OAuthSecrets() OAuthSecrets {
	var s OAuthSecrets
	switch idFor(authModes, f.auth.Selected) {
	case AuthAppSecret:
		s.ClientSecret = f.oa.secret.Text
	case AuthAppCert:
		if f.oa.cert != nil {
			s.CertPEM = f.oa.cert.PEM()
		}
	}
	return s
}

// LoadCertificate reads the certificate file (PEM, or PFX with the typed password) and
// shows its thumbprint and validity; its key is kept in memory until Save.
func (f *ProfileForm) LoadCertificate() error {
	o := f.oa
	path := strings.TrimSpace(o.certFile.Text)
	fail := func(err error) error {
		o.cert = nil
		setShown(o.certInfo, err.Error())
		o.certInfo.Importance = widget.DangerImportance
		o.certInfo.Refresh()
		return err
	}
	if path == "" {
		return fail(fmt.Errorf("choose the certificate file first (PEM with its key, or PFX)"))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(fmt.Errorf("cannot read %s: %w", path, err))
	}
	c, err := oauth.LoadCertificate(data, o.certPassword.Text)
	if err != nil {
		return fail(err)
	}
	o.cert = c
	o.certPassword.SetText("") // the key is decrypted now; the password is not kept
	info := c.Info()
	text := fmt.Sprintf("%s\nThumbprint %s (upload this certificate under Certificates & secrets)\nValid %s – %s",
		info.Subject, info.Thumbprint, info.NotBefore.Format("2 Jan 2006"), info.NotAfter.Format("2 Jan 2006"))
	o.certInfo.Importance = widget.MediumImportance
	if err := c.CheckValidity(time.Now()); err != nil {
		text += "\n" + err.Error()
		o.certInfo.Importance = widget.DangerImportance
	} else if time.Until(info.NotAfter) < 30*24*time.Hour {
		text += "\nExpires in less than 30 days: renew it and upload the new one to the app registration"
		o.certInfo.Importance = widget.WarningImportance
	} else {
		text += "\nLoaded — Save keeps the key in the keychain"
	}
	setShown(o.certInfo, text)
	f.edited(FieldCertFile)
	return nil
}

// CertInfo is the text under the certificate field.
func (f *ProfileForm) CertInfo() string { return f.oa.certInfo.Text }

// SetOAuthSecretState shows whether the keychain holds the client secret or certificate.
func (f *ProfileForm) SetOAuthSecretState(text string, imp widget.Importance) {
	for _, l := range []*widget.Label{f.oa.secretState} {
		setShown(l, text)
		l.Importance = imp
		l.Refresh()
	}
}

// SignInState is "Signed in as …" or "Not signed in".
func (f *ProfileForm) SignInState() string { return f.oa.signIn.Text }

func (f *ProfileForm) setSignIn(text string, imp widget.Importance) {
	setShown(f.oa.signIn, text)
	f.oa.signIn.Importance = imp
	f.oa.signIn.Refresh()
}

func (f *ProfileForm) tlsOptions() transport.TLSOptions {
	v := f.Values()
	pin, _ := NormalizePin(v.PinSHA256)
	return transport.TLSOptions{PinSHA256: pin, CAFile: v.CAFile}
}

func signedInText(c oauth.Claims) string {
	who := c.UPN
	if who == "" {
		who = "an account of tenant " + c.Tid
	}
	return "Signed in as " + who
}

// refreshSecretState says whether the keychain already holds the profile's client
// secret or certificate key (checked in the background).
func (f *ProfileForm) refreshSecretState() {
	f.SetOAuthSecretState("", widget.MediumImportance)
	f.oa.secret.SetPlaceHolder("Client secret (value, not its ID)")
	id, auth := f.OAuth.profileID(), idFor(authModes, f.auth.Selected)
	if id == "" || f.OAuth == nil || f.OAuth.Keys == nil || (auth != AuthAppSecret && auth != AuthAppCert) {
		return
	}
	kind := secret.ClientSecret
	if auth == AuthAppCert {
		kind = secret.CertKey
	}
	keys := f.OAuth.Keys
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
		defer cancel()
		has, err := keys.Has(ctx, secret.Key{Profile: id, Kind: kind})
		onMain(func() {
			if f.OAuth.profileID() != id {
				return
			}
			switch {
			case err != nil:
				f.SetOAuthSecretState(keychainError(err), widget.DangerImportance)
			case has && kind == secret.ClientSecret:
				f.oa.secret.SetPlaceHolder("•••••••• saved — type to replace")
				f.SetOAuthSecretState("Saved in "+secret.Backend(), widget.SuccessImportance)
			case has:
				if f.oa.certInfo.Text == "" {
					f.oa.certInfo.SetText("Certificate and key saved in " + secret.Backend() + " — Load another file to replace")
				}
			}
		})
	}()
}

// refreshSignIn shows the session's sign-in for the loaded values, or whether the
// keychain holds a saved one (checked in the background: the keychain may be slow).
func (f *ProfileForm) refreshSignIn() {
	id, v := f.OAuth.profileID(), f.Values()
	if c, ok := f.OAuth.SignedIn(id, v); ok {
		f.setSignIn(signedInText(c), widget.SuccessImportance)
		return
	}
	f.setSignIn("Not signed in", widget.MediumImportance)
	if v.Auth != AuthDelegated || id == "" || f.OAuth == nil || f.OAuth.Keys == nil {
		return
	}
	keys := f.OAuth.Keys
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
		defer cancel()
		has, err := keys.Has(ctx, secret.Key{Profile: id, Kind: secret.TokenCache})
		if err != nil || !has {
			return
		}
		onMain(func() {
			if f.OAuth.profileID() == id && f.oa.signIn.Text == "Not signed in" {
				f.setSignIn("Signed in earlier (saved in "+secret.Backend()+"; renewed silently on Run)", widget.SuccessImportance)
			}
		})
	}()
}

// Connect signs the delegated profile in: the system browser, or a device code shown
// in a dialog with Copy. Both can be cancelled.
func (f *ProfileForm) Connect(useDeviceCode bool) {
	if f.oa.cancelSignIn != nil {
		return
	}
	if f.OAuth == nil {
		f.OAuth = &OAuthEnv{}
	}
	v := f.Values()
	for _, e := range v.Validate() {
		if e.Field == FieldTenant || e.Field == FieldClientID {
			f.setSignIn(e.Error(), widget.DangerImportance)
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	f.oa.cancelSignIn = cancel
	f.oa.connect.Disable()
	f.oa.deviceCode.Disable()
	canvas := fyne.CurrentApp().Driver().CanvasForObject(f.content)
	var hide func()
	var dc func(context.Context, string)
	if useDeviceCode {
		dc = func(_ context.Context, msg string) {
			onMain(func() { hide = f.showDeviceCode(canvas, msg, cancel) })
		}
		f.setSignIn("Requesting a device code…", widget.MediumImportance)
	} else {
		f.setSignIn("Waiting for the sign-in in your browser… (Cancel to stop)", widget.MediumImportance)
		f.oa.signOut.SetText("Cancel")
		f.oa.signOut.OnTapped = cancel
	}
	tls, id := f.tlsOptions(), f.OAuth.profileID()
	go func() {
		c, err := f.OAuth.SignIn(ctx, id, v, tls, dc)
		cancel()
		onMain(func() {
			if hide != nil {
				hide()
			}
			f.oa.cancelSignIn = nil
			f.oa.connect.Enable()
			f.oa.deviceCode.Enable()
			f.oa.signOut.SetText("Sign out")
			f.oa.signOut.OnTapped = func() { f.SignOut() }
			switch {
			case err == nil:
				f.setSignIn(signedInText(c), widget.SuccessImportance)
			case ctx.Err() != nil && !strings.Contains(err.Error(), "AADSTS"):
				f.setSignIn("Sign-in cancelled — not signed in", widget.WarningImportance)
			default:
				f.setSignIn("Sign-in failed: "+err.Error(), widget.DangerImportance)
			}
			if f.OnSignIn != nil {
				f.OnSignIn(err)
			}
		})
	}()
}

// CancelSignIn stops a sign-in in progress.
func (f *ProfileForm) CancelSignIn() {
	if f.oa.cancelSignIn != nil {
		f.oa.cancelSignIn()
	}
}

// DeviceCodeMessage is the message of the device-code dialog on screen ("" when none).
func (f *ProfileForm) DeviceCodeMessage() string { return f.deviceMsg }

func (f *ProfileForm) showDeviceCode(c fyne.Canvas, msg string, cancel context.CancelFunc) func() {
	f.deviceMsg = msg
	text := widget.NewLabel(msg)
	text.Wrapping = fyne.TextWrapWord
	wait := widget.NewProgressBarInfinite()
	copyBtn := widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() {
		if cl := fyne.CurrentApp().Clipboard(); cl != nil {
			cl.SetContent(deviceUserCode(msg))
		}
	})
	stop := widget.NewButton("Cancel", cancel)
	var hide func()
	if c != nil {
		hide = modal(c, "Sign in with a device code", fixedWidth(520, container.NewVBox(text, wait)), copyBtn, stop)
	}
	return func() {
		f.deviceMsg = ""
		if hide != nil {
			hide()
		}
	}
}

// deviceUserCode picks the code out of Entra's message ("… enter the code ABCD1234 to …").
func deviceUserCode(msg string) string {
	_, after, ok := strings.Cut(msg, "enter the code ")
	if !ok {
		return msg
	}
	code, _, _ := strings.Cut(after, " ")
	return strings.TrimRight(code, ".,")
}

// SignOut forgets the delegated sign-in and deletes the saved token cache.
func (f *ProfileForm) SignOut() {
	if f.OAuth == nil {
		f.OAuth = &OAuthEnv{}
	}
	v := f.Values()
	tls, id := f.tlsOptions(), f.OAuth.profileID()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := f.OAuth.SignOut(ctx, id, v, tls)
		onMain(func() {
			if err != nil {
				f.setSignIn("Sign out incomplete: "+err.Error(), widget.DangerImportance)
			} else {
				f.setSignIn("Not signed in", widget.MediumImportance)
			}
			if f.OnSignIn != nil {
				f.OnSignIn(err)
			}
		})
	}()
}

// SecretsStored forgets the typed client secret and loaded key once the keychain holds
// them (after OAuthEnv.SaveSecrets), and says so under the field.
func (f *ProfileForm) SecretsStored(where string) {
	f.loading = true
	f.oa.secret.SetText("")
	f.oa.cert, f.oa.savedCert, f.oa.savedSecret = nil, nil, ""
	f.loading = false
	if where != "" {
		f.SetOAuthSecretState("Saved in "+where, widget.SuccessImportance)
		if f.oa.certInfo.Text != "" {
			f.oa.certInfo.SetText(strings.Replace(f.oa.certInfo.Text, "Loaded — Save keeps the key in the keychain", "Key saved in "+where, 1))
		}
	}
}
