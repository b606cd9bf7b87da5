package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// AADError is an error answered by Microsoft Entra ID.
type AADError struct {
	Code          string // "AADSTS7000215"
	OAuthError    string // "invalid_client"
	Description   string // Entra's error_description, verbatim
	Meaning       string // plain English: what it means and the fix ("" for codes we do not know)
	HTTPStatus    int
	TraceID       string
	CorrelationID string
}

func (e *AADError) Error() string {
	d := e.Description
	if d == "" {
		d = e.Code
	}
	return "Entra ID refused the sign-in: " + d
}

// meanings: plain-English meaning and fix for the common codes.
var meanings = map[string]string{
	"AADSTS7000215": "The client secret is wrong. Copy the secret's Value (shown only once, when it is created) — not its Secret ID — from Entra admin center → App registrations → <app> → Certificates & secrets, or create a new secret and save it in the profile.",
	"AADSTS7000222": "The client secret has expired. Create a new one under Entra admin center → App registrations → <app> → Certificates & secrets → New client secret, and save its Value in the profile (or switch to a certificate).",
	"AADSTS700016":  "No application with this client ID exists in this tenant. Check the Application (client) ID on the app's Overview page and that the tenant is the one the app is registered (or consented) in.",
	"AADSTS700027":  "The certificate used to sign in is not registered on the app, has expired, or the signature does not match. Upload the certificate's public part (.cer) under App registrations → <app> → Certificates & secrets → Certificates and compare the thumbprint shown there with the one Deputy shows.",
	"AADSTS90002":   "The tenant does not exist (or is in another cloud). Use the tenant ID (a GUID, from Entra admin center → Overview) or its onmicrosoft.com domain, and pick the right cloud (worldwide, GCC High, DoD, China).",
	"AADSTS65001":   "Nobody has consented to the permission this sign-in asks for. An administrator must grant consent: App registrations → <app> → API permissions → Grant admin consent for <tenant> (or open the admin consent URL).",
	"AADSTS50126":   "Wrong user name or password for the delegated sign-in. Sign in again with the right account.",
	"AADSTS500011":  "The resource (API) is not known in this tenant — typically the wrong cloud, or Exchange Online is not provisioned (no Exchange licence) in this tenant.",
	"AADSTS53003":   "A Conditional Access policy blocked the sign-in. Ask the Entra administrator to check the sign-in logs (Entra admin center → Monitoring → Sign-in logs) for this app and exclude it from the policy or satisfy it (e.g. a workload identity policy for app-only sign-ins).",
	"AADSTS7000218": "The app requires a client secret or certificate for this flow. For delegated sign-in enable App registrations → <app> → Authentication → Allow public client flows, and add the redirect URI http://localhost under Mobile and desktop applications.",
	"AADSTS50011":   "The redirect URI is not registered. Add http://localhost under App registrations → <app> → Authentication → Mobile and desktop applications.",
	"AADSTS70011":   "The requested scope is not valid for this flow.",
	"AADSTS1002012": "Client-credential (app-only) flows must ask for <resource>/.default.",
	"AADSTS700024":  "The client assertion is outside its valid time range: this computer's clock is probably wrong. Fix the system time and try again.",
	"AADSTS70008":   "The sign-in (authorization code or refresh token) expired. Sign in again.",
	"AADSTS700082":  "The saved sign-in expired after 90 days of inactivity. Sign in again.",
	"AADSTS50076":   "Multi-factor authentication is required. Sign in interactively (system browser) instead of a non-interactive flow.",
	"AADSTS50079":   "The user must register for multi-factor authentication first.",
	"AADSTS50020":   "The user account is from another tenant (a guest or a personal Microsoft account). Sign in with an account of this tenant.",
	"AADSTS50034":   "The user account does not exist in this tenant.",
	"AADSTS50053":   "The account is locked after too many failed sign-ins. Wait, or have an administrator unlock it.",
	"AADSTS50057":   "The user account is disabled.",
	"AADSTS700212":  "The client assertion's audience is not this token endpoint (authority URL mismatch).",
	"AADSTS700021":  "The client assertion names another application than the client ID.",
}

// Meaning returns the plain-English meaning of an AADSTS code ("" if unknown).
func Meaning(code string) string { return meanings[strings.ToUpper(code)] }

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// entraBody is Entra's JSON error body.
type entraBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// AsAAD turns an MSAL error into *AADError when Entra answered one; else nil.
func AsAAD(err error) *AADError {
	if err == nil {
		return nil
	}
	var existing *AADError
	if errors.As(err, &existing) {
		return existing
	}
	text := err.Error()
	e := &AADError{}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		e.HTTPStatus = ce.Resp.StatusCode
	}
	// MSAL's CallErr text is "http call(URL)(POST) error: reply status code was N:\n{json}".
	if i, j := strings.Index(text, "{"), strings.LastIndex(text, "}"); i >= 0 && j > i {
		var b entraBody
		if json.Unmarshal([]byte(text[i:j+1]), &b) == nil && (b.Error != "" || b.Description != "") {
			e.OAuthError, e.Description, e.TraceID, e.CorrelationID = b.Error, b.Description, b.TraceID, b.CorrelationID
			if len(b.ErrorCodes) > 0 {
				e.Code = "AADSTS" + strconv.Itoa(b.ErrorCodes[0])
			}
		}
	}
	if e.Description == "" {
		// Interactive flow: MSAL returns the error_description posted to the redirect URI.
		m := aadstsRE.FindStringIndex(text)
		if m == nil {
			return nil
		}
		e.Description = strings.TrimSpace(text[m[0]:])
	}
	if e.Code == "" {
		if m := aadstsRE.FindString(e.Description); m != "" {
			e.Code = m
		}
	}
	if e.Code == "" {
		return nil
	}
	e.Meaning = Meaning(e.Code)
	return e
}

// CertError is a problem with the client certificate found before any network call.
type CertError struct {
	Reason string
	Err    error
}

func (e *CertError) Error() string {
	if e.Err != nil {
		return "certificate: " + e.Reason + ": " + e.Err.Error()
	}
	return "certificate: " + e.Reason
}
func (e *CertError) Unwrap() error { return e.Err }

// ErrNotSignedIn: a delegated profile has no saved sign-in and prompting is off.
var ErrNotSignedIn = errors.New("not signed in: connect the account first (window: Connect account; CLI: deputy-cli diagnose with --auth oauth-delegated in a terminal, or --device-code)")

func wrap(op string, err error) error {
	if a := AsAAD(err); a != nil {
		return a
	}
	return fmt.Errorf("%s: %w", op, err)
}
