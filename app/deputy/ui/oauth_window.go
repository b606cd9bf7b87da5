package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"deputy/internal/impersonation"
	"deputy/internal/profile"
)

// The window's OAuth hooks. window.go calls these at three points (New, Save, run) so
// that the OAuth modes live here.

// attachOAuth gives the form the environment's Entra ID access (New).
func (u *Window) attachOAuth() {
	if u.env.OAuth == nil {
		u.env.OAuth = &OAuthEnv{}
	}
	u.env.OAuth.ProfileID = func() string { return u.Current().ID }
	u.form.OAuth = u.env.OAuth
}

// saveOAuthSecrets stores the typed client secret or loaded certificate key of profile
// id in the keychain (Save); status is "" when there was nothing to store.
func (u *Window) saveOAuthSecrets(id string) (status string, imp widget.Importance) {
	typed := u.form.OAuthSecrets()
	if typed.ClientSecret == "" && len(typed.CertPEM) == 0 {
		return "", widget.SuccessImportance
	}
	ctx, cancel := context.WithTimeout(context.Background(), keychainTimeout)
	defer cancel()
	if err := u.env.OAuth.SaveSecrets(ctx, id, typed); err != nil {
		msg := keychainError(err)
		u.form.SetOAuthSecretState(msg+" — used for this session only", widget.DangerImportance)
		return "Profile saved, but the credential was NOT stored: " + msg, widget.DangerImportance
	}
	u.form.SecretsStored(u.backend())
	return "Saved. Credential stored in " + u.backend() + ".", widget.SuccessImportance
}

// oauthConfig is the run's configuration for an OAuth profile: no password, token
// sources from the typed or saved credential (typed is read on the UI goroutine).
func (u *Window) oauthConfig(ctx context.Context, id string, v FormValues, typed OAuthSecrets) (impersonation.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cfg, err := u.env.OAuth.BuildConfigFor(ctx, id, v, "", typed)
	if err != nil {
		return cfg, err
	}
	cfg.Profile.Name = v.Name
	return cfg, nil
}

// ApplyOAuthValues writes the form's Exchange Online fields into p (store.go's ApplyValues).
func ApplyOAuthValues(p profile.Profile, v FormValues) profile.Profile {
	p.Tenant, p.ClientID = strings.TrimSpace(v.Tenant), strings.TrimSpace(v.ClientID)
	p.Cloud, p.CertFile, p.Protocol = v.Cloud, strings.TrimSpace(v.CertFile), v.Protocol
	return p
}

// OAuthValuesFromProfile reads p's Exchange Online fields into v (ValuesFromProfile).
func OAuthValuesFromProfile(v FormValues, p profile.Profile) FormValues {
	v.Tenant, v.ClientID, v.Cloud, v.CertFile, v.Protocol = p.Tenant, p.ClientID, p.Cloud, p.CertFile, p.Protocol
	if v.Cloud == "global" {
		v.Cloud = ""
	}
	if v.Protocol == impersonation.ProtocolEWS {
		v.Protocol = ""
	}
	return v
}
