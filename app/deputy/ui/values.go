package ui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/profile"
	"deputy/internal/result"
)

// Authentication modes the form offers. OAuth modes slot in here with a sub-form each.
const (
	AuthBasic     = "basic"
	AuthNTLM      = "ntlm"
	AuthAppSecret = oauth.ModeAppSecret
	AuthAppCert   = oauth.ModeAppCert
	AuthDelegated = oauth.ModeDelegated
)

// IsOAuth reports whether auth signs in through Entra ID (Exchange Online).
func IsOAuth(auth string) bool {
	return auth == AuthAppSecret || auth == AuthAppCert || auth == AuthDelegated
}

// authModes is the order and wording of the auth Select.
var authModes = []struct{ ID, Label string }{
	{AuthBasic, "Basic"},
	{AuthNTLM, "NTLM (Windows integrated)"},
	{AuthAppSecret, "OAuth app-only — client secret"},
	{AuthAppCert, "OAuth app-only — certificate"},
	{AuthDelegated, "OAuth delegated — Connect account"},
}

// clouds is the order and wording of the cloud Select (oauth.Clouds names).
var clouds = []struct{ ID, Label string }{
	{"global", "Global"},
	{"gcc-high", "US Government GCC High"},
	{"dod", "US Government DoD"},
	{"china", "China (21Vianet)"},
}

// protocols is the order and wording of the protocol Select (Exchange Online).
var protocols = []struct{ ID, Label string }{
	{impersonation.ProtocolEWS, "EWS"},
	{impersonation.ProtocolGraph, "Microsoft Graph"},
	{impersonation.ProtocolBoth, "Both (migration view)"},
}

var environments = []struct{ ID, Label string }{
	{result.OnPrem, "Exchange Server (on-premises)"},
	{result.EXO, "Exchange Online"},
}

// MaxConcurrency is the ceiling Exchange's default throttling policy allows per account.
const MaxConcurrency = 27

// DefaultConcurrency is what the engine uses when the profile does not say.
const DefaultConcurrency = 10

// FormValues is what the profile form holds, as plain data: the form's view-model.
type FormValues struct {
	Name        string
	Environment string // result.OnPrem | result.EXO
	URL         string
	// UseAutodiscover finds the EWS URL at every run (the autodiscover check) from
	// AutodiscoverAddress; URL may then be empty.
	UseAutodiscover bool
	Auth            string // AuthBasic | AuthNTLM | AuthAppSecret | AuthAppCert | AuthDelegated
	User            string
	// Exchange Online (OAuth modes). Secrets never live here: the client secret and the
	// certificate's key go to the keychain.
	Tenant         string // tenant ID or domain
	ClientID       string // application (client) ID, a GUID
	Cloud          string // oauth.Clouds name; "" = global
	CertFile       string // where the certificate was loaded from (informational)
	Protocol       string // ews | graph | both; "" = ews
	ServiceMailbox string
	Mailboxes      string // one address per line (or separated by , ;)
	Rooms          string
	CAFile         string
	PinSHA256      string
	Concurrency    string
	WriteTest      bool
	CheckRooms     bool
}

// Field names used in FieldErrors (and as the form's labels).
const (
	FieldName           = "Name"
	FieldURL            = "EWS URL"
	FieldUser           = "Service account"
	FieldServiceMailbox = "Own mailbox"
	FieldMailboxes      = "Target mailboxes"
	FieldRooms          = "Rooms"
	FieldCAFile         = "CA file"
	FieldPin            = "Pinned SHA-256"
	FieldConcurrency    = "Concurrency"
	FieldTenant         = "Tenant"
	FieldClientID       = "Client ID"
	FieldCertFile       = "Certificate"
)

// FieldError is one validation message, shown next to its field.
type FieldError struct {
	Field, Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate returns every problem in v, in form order; nil means it can be saved.
func (v FormValues) Validate() []FieldError {
	var errs []FieldError
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, FieldError{field, err.Error()})
		}
	}
	add(FieldName, validateName(v.Name))
	emptyURL := strings.TrimSpace(v.URL) == ""
	switch {
	case v.UseAutodiscover && v.AutodiscoverAddress() == "":
		add(FieldURL, errors.New("to use Autodiscover, fill in Own mailbox (or enter the service account as a UPN): Autodiscover needs an address to look up"))
	case emptyURL && (v.UseAutodiscover || v.Environment == result.EXO):
		// found by Autodiscover at every run, or Exchange Online's own endpoint
	default:
		add(FieldURL, ValidateEWSURL(v.URL))
	}
	if IsOAuth(v.Auth) {
		add(FieldTenant, ValidateTenant(v.Tenant))
		add(FieldClientID, ValidateClientID(v.ClientID))
		if v.Auth == AuthDelegated && strings.TrimSpace(v.User) != "" {
			add(FieldUser, ValidateAccount(v.User))
		}
	} else {
		add(FieldUser, ValidateAccount(v.User))
	}
	if s := strings.TrimSpace(v.ServiceMailbox); s != "" {
		add(FieldServiceMailbox, profile.ValidateAddress(s))
	}
	if imp := ParseList(v.Mailboxes); len(imp.Rejected) > 0 {
		add(FieldMailboxes, rejectedError(imp))
	}
	if imp := ParseList(v.Rooms); len(imp.Rejected) > 0 {
		add(FieldRooms, rejectedError(imp))
	}
	if s := strings.TrimSpace(v.CAFile); s != "" {
		if st, err := os.Stat(s); err != nil {
			add(FieldCAFile, fmt.Errorf("cannot read %s: %w", s, errors.Unwrap(err)))
		} else if st.IsDir() {
			add(FieldCAFile, fmt.Errorf("%s is a folder; choose a PEM file", s))
		}
	}
	if s := strings.TrimSpace(v.PinSHA256); s != "" {
		_, err := NormalizePin(s)
		add(FieldPin, err)
	}
	_, err := ParseConcurrency(v.Concurrency)
	add(FieldConcurrency, err)
	return errs
}

// AutodiscoverAddress is the address Autodiscover looks up (Find, and runs with
// UseAutodiscover), by the rule deputy-cli uses too.
func (v FormValues) AutodiscoverAddress() string {
	return profile.AutodiscoverAddress(v.ServiceMailbox, v.User)
}

func rejectedError(imp *profile.Import) error {
	r := imp.Rejected[0]
	msg := fmt.Sprintf("line %d: %s", r.Line, r.Reason)
	if n := len(imp.Rejected); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	return errors.New(msg)
}

func validateName(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("give the profile a name, e.g. “Interview scheduling”")
	case len(s) > 80:
		return errors.New("keep the name under 80 characters")
	case strings.ContainsAny(s, "/\\:*?\"<>|") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }):
		return errors.New(`a name cannot contain / \ : * ? " < > | or control characters`)
	}
	return nil
}

// ValidateEWSURL checks an EWS endpoint URL as an admin would type it.
func ValidateEWSURL(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("enter the EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx (or use Find)")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("not a URL; expected https://server/EWS/Exchange.asmx")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		return errors.New("use https:// — over http:// the service account's credentials would cross the network readable")
	default:
		return fmt.Errorf("scheme %q is not supported; use https://", u.Scheme)
	}
	if u.User != nil {
		return errors.New("remove the user name from the URL; enter it under Service account")
	}
	if u.Path == "" || u.Path == "/" {
		return errors.New("add the EWS path, usually /EWS/Exchange.asmx")
	}
	return nil
}

// ValidateAccount accepts a UPN (svc@contoso.com) or a down-level name (CONTOSO\svc).
func ValidateAccount(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New(`enter the service account, as svc-app@contoso.com or CONTOSO\svc-app`)
	}
	if dom, user, ok := strings.Cut(s, `\`); ok {
		switch {
		case dom == "" || user == "":
			return errors.New(`write a down-level name as DOMAIN\user`)
		case strings.Contains(user, `\`):
			return errors.New(`only one \ is allowed: DOMAIN\user`)
		case strings.ContainsAny(s, " \t@"):
			return errors.New(`a DOMAIN\user name cannot contain spaces or @`)
		}
		return nil
	}
	if !strings.Contains(s, "@") {
		return errors.New(`expected a UPN (svc-app@contoso.com) or DOMAIN\user`)
	}
	if err := profile.ValidateAddress(s); err != nil {
		var ae *profile.AddressError
		if errors.As(err, &ae) {
			return fmt.Errorf("not a valid UPN: %s", ae.Reason)
		}
		return err
	}
	return nil
}

// NormalizePin turns a SHA-256 fingerprint as people paste it (colons, spaces, upper
// case, openssl's "SHA256 Fingerprint=" prefix) into 64 lower-case hex digits.
func NormalizePin(s string) (string, error) { return profile.NormalizePin(s) }

// ParseConcurrency reads the concurrency field; empty means the default, 10.
func ParseConcurrency(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultConcurrency, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxConcurrency {
		return 0, fmt.Errorf("a whole number from 1 to %d", MaxConcurrency)
	}
	return n, nil
}

// ParseList reads a pasted or typed address list (the same parser as a CSV import).
func ParseList(text string) *profile.Import {
	imp, err := profile.ParseMailboxList(strings.NewReader(text))
	if err != nil || imp == nil {
		return &profile.Import{}
	}
	return imp
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidateClientID checks an application (client) ID: a GUID.
func ValidateClientID(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("enter the application (client) ID: Entra admin center → App registrations → your app → Overview")
	case !guidPattern.MatchString(strings.Trim(s, "{}")):
		return errors.New("expected a GUID such as 00000000-0000-0000-0000-000000000000 (the application (client) ID, not its name or secret)")
	}
	return nil
}

var domainLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// ValidateTenant accepts a tenant ID (GUID) or a verified domain (contoso.onmicrosoft.com).
func ValidateTenant(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("enter the tenant ID (GUID) or a domain such as contoso.onmicrosoft.com")
	}
	if guidPattern.MatchString(s) {
		return nil
	}
	if strings.Contains(s, "@") {
		return errors.New("enter the domain only (contoso.onmicrosoft.com), not an address")
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return errors.New("expected a tenant ID (GUID) or a domain with a dot, e.g. contoso.onmicrosoft.com")
	}
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return fmt.Errorf("%q is not a valid domain", s)
		}
	}
	return nil
}
