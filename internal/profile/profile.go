package profile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"deputy/internal/result"
	"deputy/internal/secret"
)

// SchemaVersion is the version of the profile file format this build writes. Files with
// a higher version are left alone (see Store.List).
const SchemaVersion = 1

// EXOURL is the EWS endpoint of Exchange Online (worldwide cloud), used when an exo
// profile leaves EWSURL empty.
const EXOURL = "https://outlook.office365.com/EWS/Exchange.asmx"

// Environments and authentication modes.
const (
	OnPrem = result.OnPrem
	EXO    = result.EXO

	AuthBasic          = "basic"
	AuthNTLM           = "ntlm"
	AuthOAuthSecret    = "oauth-app-secret"
	AuthOAuthCert      = "oauth-app-cert"
	AuthOAuthDelegated = "oauth-delegated"

	MaxConcurrency = 27 // EWSMaxConcurrency default (Exchange 2013+ and Exchange Online)
)

// Profile is one saved configuration ("Interview scheduling", "CRM sync"). It holds no
// secret: those are in the keychain under Key(kind).
type Profile struct {
	SchemaVersion   int       `json:"schemaVersion"`
	ID              string    `json:"id"` // stable random id; keychain entries are keyed by it
	Name            string    `json:"name"`
	Environment     string    `json:"environment"` // onprem | exo
	EWSURL          string    `json:"ewsUrl,omitempty"`
	UseAutodiscover bool      `json:"useAutodiscover,omitempty"`
	Auth            string    `json:"auth"`           // basic | ntlm | oauth-app-secret | oauth-app-cert | oauth-delegated
	User            string    `json:"user,omitempty"` // UPN or DOMAIN\user
	ServiceMailbox  string    `json:"serviceMailbox,omitempty"`
	Mailboxes       []string  `json:"mailboxes,omitempty"`
	Rooms           []string  `json:"rooms,omitempty"`
	CheckRooms      bool      `json:"checkRooms,omitempty"`
	WriteTest       bool      `json:"writeTest,omitempty"`
	Concurrency     int       `json:"concurrency,omitempty"` // 0 = the engine's default
	TLS             TLS       `json:"tls,omitzero"`
	Tenant          string    `json:"tenant,omitempty"`
	ClientID        string    `json:"clientId,omitempty"`
	CertFile        string    `json:"certFile,omitempty"`
	Cloud           string    `json:"cloud,omitempty"`
	Protocol        string    `json:"protocol,omitempty"` // ews | graph | both
	Notes           string    `json:"notes,omitempty"`
	Modified        time.Time `json:"modified,omitzero"`
}

// TLS is how the EWS server's certificate is trusted beyond the system roots.
type TLS struct {
	PinSHA256 string `json:"pinSha256,omitempty"` // hex SHA-256 of the leaf certificate (DER)
	CAFile    string `json:"caFile,omitempty"`    // PEM bundle of extra roots
	AllowHTTP bool   `json:"allowHttp,omitempty"` // plain http:// (lab use only)
}

// NewID returns a fresh profile ID: 128 random bits in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id can name a profile file and keychain entries.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// URL is the EWS endpoint to use: EWSURL, or EXOURL for an exo profile without one.
func (p Profile) URL() string {
	if p.EWSURL == "" && p.Environment == EXO {
		return EXOURL
	}
	return p.EWSURL
}

// AutodiscoverAddress is the address Autodiscover looks up for a service account (Find in
// the window, runs with UseAutodiscover in both front ends): its own mailbox, else its UPN;
// "" for a DOMAIN\user without a mailbox, which Autodiscover cannot start from.
func AutodiscoverAddress(serviceMailbox, user string) string {
	if a := strings.TrimSpace(serviceMailbox); a != "" {
		return a
	}
	if u := strings.TrimSpace(user); strings.Contains(u, "@") {
		return u
	}
	return ""
}

// SecretKind is the keychain kind the profile's authentication needs ("" for none).
func (p Profile) SecretKind() string {
	switch p.Auth {
	case AuthBasic, AuthNTLM:
		return secret.Password
	case AuthOAuthSecret:
		return secret.ClientSecret
	case AuthOAuthCert:
		return secret.CertKey
	case AuthOAuthDelegated:
		return secret.TokenCache
	}
	return ""
}

// Key is the keychain key of the profile's secret of the given kind.
func (p Profile) Key(kind string) secret.Key { return secret.Key{Profile: p.ID, Kind: kind} }

// Secret reads the profile's authentication secret (the password for basic/ntlm) from the
// keychain: secret.ErrNotFound if none is saved, *secret.Error if the keychain fails.
func (p Profile) Secret(ctx context.Context, keys *secret.Store) (string, error) {
	kind := p.SecretKind()
	if kind == "" {
		return "", fmt.Errorf("profile %q: authentication %q has no secret", p.Name, p.Auth)
	}
	return keys.Get(ctx, p.Key(kind))
}

// Result is the profile as a diagnosis result records it.
func (p Profile) Result() result.Profile {
	return result.Profile{Name: p.Name, Environment: p.Environment, EWSURL: p.URL(), Auth: p.Auth,
		ServiceAccount: p.User, Protocol: p.Protocol, TenantID: p.Tenant, ClientID: p.ClientID}
}

// FieldError is one invalid field. Field is the JSON name ("ewsUrl", "mailboxes[3]").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors returns the *FieldError values in an error returned by Validate.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		out = append(out, fe)
	}
	return out
}

// Validate checks the profile for use. The error joins one *FieldError per problem (see
// FieldErrors); nil means the profile can run.
func (p Profile) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	name := strings.TrimSpace(p.Name)
	switch {
	case name == "":
		add("name", "a profile needs a name")
	case len([]rune(name)) > 100:
		add("name", "longer than 100 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		add("name", "contains a control character")
	}
	if p.ID != "" && !ValidID(p.ID) {
		add("id", "%q is not a valid profile id (letters, digits, - and _ only)", clip(p.ID, 70))
	}
	switch p.Environment {
	case OnPrem, EXO:
	case "":
		add("environment", "choose Exchange Server on-premises (onprem) or Exchange Online (exo)")
	default:
		add("environment", "%q is not onprem or exo", p.Environment)
	}
	if msg := checkURL(p.URL(), p.TLS.AllowHTTP); msg != "" {
		if p.EWSURL != "" || !p.UseAutodiscover {
			add("ewsUrl", "%s", msg)
		}
	}
	switch p.Auth {
	case AuthBasic, AuthNTLM:
		if p.Environment == EXO {
			add("auth", "Exchange Online no longer accepts %s authentication for EWS (turned off since October 2022); use an OAuth mode", strings.ToUpper(p.Auth[:1])+p.Auth[1:])
		}
	case AuthOAuthSecret, AuthOAuthCert, AuthOAuthDelegated:
		if p.Tenant == "" {
			add("tenant", "OAuth needs the tenant (ID or domain, e.g. contoso.onmicrosoft.com)")
		}
		if !guid.MatchString(p.ClientID) {
			add("clientId", "OAuth needs the application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000")
		}
		if p.Auth == AuthOAuthCert && p.CertFile == "" {
			add("certFile", "certificate authentication needs the certificate file")
		}
	case "":
		add("auth", "choose an authentication mode")
	default:
		add("auth", "%q is not one of basic, ntlm, oauth-app-secret, oauth-app-cert, oauth-delegated", p.Auth)
	}
	switch p.Auth {
	case AuthBasic, AuthNTLM, AuthOAuthDelegated:
		if msg := checkUser(p.User); msg != "" {
			add("user", "%s", msg)
		}
	}
	if p.ServiceMailbox != "" {
		if err := ValidateAddress(p.ServiceMailbox); err != nil {
			add("serviceMailbox", "%s", reasonOf(err))
		}
	}
	checkList := func(field string, list []string) {
		seen := map[string]int{}
		for i, a := range list {
			if err := ValidateAddress(a); err != nil {
				add(fmt.Sprintf("%s[%d]", field, i), "%q: %s", clip(a, 80), reasonOf(err))
				continue
			}
			if j, dup := seen[strings.ToLower(a)]; dup {
				add(fmt.Sprintf("%s[%d]", field, i), "%s is listed twice (also at %d)", a, j)
			}
			seen[strings.ToLower(a)] = i
		}
	}
	checkList("mailboxes", p.Mailboxes)
	checkList("rooms", p.Rooms)
	if p.Concurrency < 0 || p.Concurrency > MaxConcurrency {
		add("concurrency", "%d is out of range: use 1 to %d (Exchange's default EWSMaxConcurrency is %d)", p.Concurrency, MaxConcurrency, MaxConcurrency)
	}
	if p.TLS.PinSHA256 != "" {
		if _, err := NormalizePin(p.TLS.PinSHA256); err != nil {
			add("tls.pinSha256", "%s", err.Error())
		}
	}
	switch p.Protocol {
	case "", "ews", "graph", "both":
	default:
		add("protocol", "%q is not ews, graph or both", p.Protocol)
	}
	if p.Protocol == "graph" || p.Protocol == "both" {
		if p.Environment != EXO {
			add("protocol", "Microsoft Graph is only for Exchange Online")
		}
	}
	if len(p.Notes) > 10000 {
		add("notes", "longer than 10,000 characters")
	}
	return errors.Join(errs...)
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func reasonOf(err error) string {
	var ae *AddressError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return err.Error()
}

func checkURL(raw string, allowHTTP bool) string {
	if raw == "" {
		return "the EWS URL is required, e.g. https://mail.contoso.com/EWS/Exchange.asmx"
	}
	if strings.TrimSpace(raw) != raw {
		return "the URL has leading or trailing spaces"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL: " + strings.TrimPrefix(err.Error(), "parse "+fmt.Sprintf("%q", raw)+": ")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return "use https:// (plain http sends the credentials readable on the network; allow it only for a lab)"
	case u.Scheme == "":
		return "the URL needs https://, e.g. https://" + strings.TrimPrefix(raw, "//")
	default:
		return fmt.Sprintf("scheme %q is not https", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "the URL has no server name"
	}
	if u.User != nil {
		return "remove the user name and password from the URL; enter them as the service account"
	}
	if strings.ContainsAny(u.Host, " \t") {
		return "the server name contains a space"
	}
	if u.Fragment != "" {
		return "the URL must not have a #fragment"
	}
	return ""
}

// checkUser accepts a UPN (user@domain) or a down-level logon name (DOMAIN\user).
func checkUser(u string) string {
	if u == "" {
		return "the service account is required: user@domain (UPN) or DOMAIN\\user"
	}
	if strings.TrimSpace(u) != u || strings.ContainsAny(u, " \t") {
		if strings.Contains(strings.TrimSpace(u), " ") {
			return "contains a space; use the logon name (user@domain or DOMAIN\\user), not the display name"
		}
		return "has leading or trailing spaces"
	}
	if dom, user, ok := strings.Cut(u, `\`); ok {
		switch {
		case dom == "":
			return `nothing before \; use DOMAIN\user`
		case user == "":
			return `nothing after \; use DOMAIN\user`
		case strings.Contains(user, `\`):
			return `more than one \`
		case len(dom) > 15 && !strings.Contains(dom, "."):
			return "the NetBIOS domain name is longer than 15 characters"
		case strings.ContainsAny(dom, `/:*?"<>|`):
			return "the domain contains a character Windows does not allow"
		case len(user) > 104 || strings.ContainsAny(user, `"/[]:;|=,+*?<>@`):
			return "the user name contains a character Windows does not allow in a logon name"
		}
		return ""
	}
	if strings.Contains(u, "/") {
		return `use a backslash: DOMAIN\user`
	}
	local, domain, ok := strings.Cut(u, "@")
	switch {
	case !ok:
		return `not a logon name: use user@domain (UPN) or DOMAIN\user`
	case local == "":
		return "nothing before @"
	case domain == "":
		return "nothing after @"
	case strings.Contains(domain, "@"):
		return "more than one @"
	}
	return ""
}

// NormalizePin returns a SHA-256 fingerprint as 64 lower-case hex digits, accepting the
// forms admins copy (colons, spaces, upper case, a "sha256:" or "SHA256 Fingerprint=" prefix).
func NormalizePin(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(t, '='); i >= 0 { // openssl: "SHA256 Fingerprint=AB:CD:…"
		t = t[i+1:]
	}
	t = strings.TrimPrefix(t, "sha256:")
	t = strings.NewReplacer(":", "", " ", "", "-", "").Replace(t)
	if len(t) != 64 {
		if len(t) == 40 {
			return "", errors.New("this looks like a SHA-1 thumbprint (40 hex digits); the pin is the SHA-256 fingerprint (64 hex digits)")
		}
		return "", fmt.Errorf("a SHA-256 fingerprint has 64 hex digits, this has %d", len(t))
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", errors.New("the SHA-256 fingerprint may contain only hex digits 0-9 and a-f")
	}
	return t, nil
}

// MarshalJSON writes the profile with the current schemaVersion, whatever the field
// holds, so every file and export says which format it is.
func (p Profile) MarshalJSON() ([]byte, error) {
	type plain Profile // no methods: no recursion
	q := plain(p)
	q.SchemaVersion = SchemaVersion
	return json.Marshal(q)
}
