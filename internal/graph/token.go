package graph

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"deputy/internal/result"
)

// Claims are the access-token claims the token check shows. They are decoded for display
// only: Graph verifies the signature, Deputy has no business trusting it.
type Claims struct {
	Aud   string   `json:"aud"`
	Tid   string   `json:"tid"`
	AppID string   `json:"appid"`
	Azp   string   `json:"azp"`
	Roles []string `json:"roles"`
	Scp   string   `json:"scp"`
	Idtyp string   `json:"idtyp"`
	Exp   int64    `json:"exp"`
	// AppName is the app registration's display name (app_displayname).
	AppName string `json:"app_displayname"`
}

// Client is the calling app's id (appid in v1 tokens, azp in v2).
func (c *Claims) Client() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// DecodeClaims reads a JWT's payload without verifying it. Errors never quote the token.
func DecodeClaims(tok string) (*Claims, error) {
	if len(tok) > 64<<10 {
		return nil, errors.New("the access token is too large to be a JWT")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT (three dot-separated parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the access token's payload is not base64url")
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errors.New("the access token's payload is not JSON")
	}
	return &c, nil
}

// Permission is the calendar access a Graph application permission (or its RBAC for
// Applications role) grants, least first.
type Permission int

const (
	PermNone Permission = iota
	PermReadBasic
	PermRead
	PermReadWrite
)

// Graph application permissions.
const (
	RoleCalendarsReadBasic = "Calendars.ReadBasic"
	RoleCalendarsRead      = "Calendars.Read"
	RoleCalendarsReadWrite = "Calendars.ReadWrite"
	RolePlaceReadAll       = "Place.Read.All"
)

func (p Permission) String() string {
	switch p {
	case PermReadBasic:
		return RoleCalendarsReadBasic
	case PermRead:
		return RoleCalendarsRead
	case PermReadWrite:
		return RoleCalendarsReadWrite
	}
	return "none"
}

// Allows says, for an admin, what the permission lets the app do.
func (p Permission) Allows() string {
	switch p {
	case PermReadBasic:
		return "free/busy and each event's subject, time and location only (no body, no attendees); no changes"
	case PermRead:
		return "read every event in full; no changes"
	case PermReadWrite:
		return "read, create, update and delete events"
	}
	return "nothing"
}

// PermissionOf is the strongest calendar permission among roles.
func PermissionOf(roles []string) Permission {
	p := PermNone
	for _, r := range roles {
		switch r {
		case RoleCalendarsReadWrite:
			p = max(p, PermReadWrite)
		case RoleCalendarsRead:
			p = max(p, PermRead)
		case RoleCalendarsReadBasic:
			p = max(p, PermReadBasic)
		}
	}
	return p
}

// TokenCheck is the verdict on a Graph access token.
type TokenCheck struct {
	Status      result.Status
	Class       result.Class
	Code        string
	Summary     string
	Evidence    []string
	Remediation string
	// Permission is the calendar permission consented in Entra (the token's roles).
	Permission Permission
	// AppName is the app's display name from the token (for portal paths).
	AppName string
	// RBACOnly: the token carries no calendar permission, so whatever access the app has
	// comes from RBAC for Applications in Exchange Online (scoped). A 403 for a mailbox then
	// means the mailbox is outside that scope.
	RBACOnly bool
}

// CheckToken judges a Graph access token: its audience must be Graph, its roles should
// hold a Calendars permission (none: access can only come from RBAC for Applications) and
// Place.Read.All when rooms are listed. now is for the expiry shown.
func CheckToken(tok string, rooms bool, s Situation, now time.Time) TokenCheck {
	c, err := DecodeClaims(tok)
	if err != nil {
		return TokenCheck{Status: result.Fail, Class: result.AuthFailed, Code: "malformed-token", Summary: "the Graph access token cannot be read: " + err.Error(),
			Remediation: "The identity platform returned something that is not a JWT access token; check the authority URL (it must be the Microsoft identity platform of your cloud)."}
	}
	if s.AppID == "" {
		s.AppID = c.Client()
	}
	if s.Tenant == "" {
		s.Tenant = c.Tid
	}
	if s.AppName == "" {
		s.AppName = clean(c.AppName, 120)
	}
	tc := TokenCheck{Permission: PermissionOf(c.Roles), AppName: s.AppName}
	tc.Evidence = append(tc.Evidence, "aud: "+clean(c.Aud, 120), "tid: "+clean(c.Tid, 60), "appid: "+clean(c.Client(), 60))
	if len(c.Roles) > 0 {
		tc.Evidence = append(tc.Evidence, "roles: "+clean(strings.Join(c.Roles, ", "), 400))
	} else {
		tc.Evidence = append(tc.Evidence, "roles: (none)")
	}
	if c.Exp > 0 {
		exp := time.Unix(c.Exp, 0).UTC()
		tc.Evidence = append(tc.Evidence, fmt.Sprintf("expires: %s (in %s)", exp.Format(time.RFC3339), exp.Sub(now).Round(time.Minute)))
	}
	if c.Aud != Resource && c.Aud != ResourceAppID && c.Aud != Resource+"/" {
		tc.Status, tc.Class, tc.Code = result.Fail, result.AuthFailed, "wrong-audience"
		tc.Summary = fmt.Sprintf("the token is for %q, not Microsoft Graph: Graph would refuse it (401 InvalidAuthenticationToken, invalid audience)", clean(c.Aud, 120))
		tc.Remediation = "Request the token with the scope " + Scope + " (Deputy does this for the Graph protocol; a custom authority or proxy that rewrites the scope gives the wrong audience)."
		return tc
	}
	if c.Scp != "" && len(c.Roles) == 0 {
		tc.Status, tc.Class, tc.Code = result.Fail, result.AuthFailed, "delegated-token"
		tc.Summary = "this is a delegated (signed-in user) token: the Graph proof needs an app-only token (client secret or certificate)"
		tc.Remediation = "Use the app-only authentication (oauth-app-secret or oauth-app-cert) for the Graph protocol."
		return tc
	}
	var missing []string
	switch tc.Permission {
	case PermNone:
		tc.RBACOnly = true
		tc.Status, tc.Class, tc.Code = result.Warn, result.AccessDenied, "no-calendar-role"
		tc.Summary = "the token holds no Calendars permission consented in Entra ID: the app can only reach mailboxes through RBAC for Applications in Exchange Online (the scoped set-up); the mailbox results show which it reaches"
		tc.Remediation = "If the app is meant to reach only some mailboxes, this is right: its access comes from the RBAC for Applications role " + GraphAppRole + " with a management scope (set it up as below if that is not done yet); the mailbox results show what it reaches. If it should reach every mailbox instead: " +
			PortalPath(s.AppName, RoleCalendarsReadWrite) + " (consent link: " + AdminConsentURL(s.Tenant, s.AppID) + "). " + consentWarning + "\n" + strings.Join(rbacLines(s), "\n")
	case PermReadWrite:
		tc.Status, tc.Class = result.Pass, result.OK
		tc.Summary = fmt.Sprintf("Microsoft Graph token with %s (%s); note that this Entra consent is tenant-wide: every mailbox, whatever RBAC scope exists", tc.Permission, tc.Permission.Allows())
	default:
		tc.Status, tc.Class = result.Warn, result.AccessDenied
		tc.Code = "read-only-role"
		tc.Summary = fmt.Sprintf("Microsoft Graph token with %s: it allows %s; an integration that books or changes meetings needs %s", tc.Permission, tc.Permission.Allows(), RoleCalendarsReadWrite)
		missing = append(missing, RoleCalendarsReadWrite)
	}
	if rooms && !slices.Contains(c.Roles, RolePlaceReadAll) {
		missing = append(missing, RolePlaceReadAll)
		if tc.Status == result.Pass {
			tc.Status, tc.Class = result.Warn, result.AccessDenied
		}
		tc.Code = strings.TrimPrefix(tc.Code+",no-place-role", ",")
		tc.Summary += "; " + RolePlaceReadAll + " is missing, so the room directory cannot be listed"
	}
	if len(missing) > 0 {
		tc.Remediation = strings.TrimSpace(tc.Remediation + "\n" + consentFix(s, missing))
	}
	return tc
}

// PortalPath is where an admin grants a Graph application permission.
func PortalPath(app, permission string) string {
	if app == "" {
		app = "<your app>"
	}
	return "Microsoft Entra admin center → App registrations → " + app + " → API permissions → Add a permission → Microsoft Graph → Application permissions → " + permission + " → Grant admin consent"
}

// AdminConsentURL is the link a Global or Privileged Role Administrator opens to consent to
// the app's configured permissions for the tenant.
func AdminConsentURL(tenant, appID string) string {
	if tenant == "" {
		tenant = "organizations"
	}
	if appID == "" {
		appID = "<application (client) ID>"
	}
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/adminconsent?client_id=" + url.QueryEscape(appID)
}

func consentFix(s Situation, perms []string) string {
	var b strings.Builder
	for _, p := range perms {
		fmt.Fprintf(&b, "Add %s: %s.\n", p, PortalPath(s.AppName, p))
	}
	fmt.Fprintf(&b, "Or, after adding them, consent with this link (an administrator must open it): %s", AdminConsentURL(s.Tenant, s.AppID))
	return b.String()
}
