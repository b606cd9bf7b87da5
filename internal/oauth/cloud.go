// Package oauth acquires Microsoft Entra ID access tokens for Exchange Online (EWS) and
// Microsoft Graph through MSAL for Go — every token comes from MSAL: app-only with a
// client secret or a certificate (PEM or password-protected PFX), or delegated sign-in
// (system browser with a loopback redirect, or device code). MSAL's token cache is kept
// in the OS keychain (internal/secret) so a signed-in account survives restarts and
// tokens refresh silently. Entra errors come back as *AADError: the AADSTS text verbatim
// plus what it means and how to fix it. Tokens and secrets never appear in an error,
// a log line or a result.
package oauth

import (
	"fmt"
	"sort"
	"strings"
)

// Cloud is one Microsoft cloud's endpoints.
type Cloud struct {
	Name          string // global | gcc-high | dod | china
	Title         string // for people
	LoginHost     string // authority host, e.g. https://login.microsoftonline.com
	EWSURL        string // Exchange Online EWS endpoint
	EWSResource   string // token audience for EWS
	GraphResource string // token audience for Microsoft Graph
	Portal        string // Entra admin center
}

// Clouds by name.
var Clouds = map[string]Cloud{
	"global": {Name: "global", Title: "Microsoft 365 (worldwide)", LoginHost: "https://login.microsoftonline.com",
		EWSURL: "https://outlook.office365.com/EWS/Exchange.asmx", EWSResource: "https://outlook.office365.com",
		GraphResource: "https://graph.microsoft.com", Portal: "https://entra.microsoft.com"},
	"gcc-high": {Name: "gcc-high", Title: "Microsoft 365 US Government GCC High", LoginHost: "https://login.microsoftonline.us",
		EWSURL: "https://outlook.office365.us/EWS/Exchange.asmx", EWSResource: "https://outlook.office365.us",
		GraphResource: "https://graph.microsoft.us", Portal: "https://entra.microsoft.us"},
	"dod": {Name: "dod", Title: "Microsoft 365 US Government DoD", LoginHost: "https://login.microsoftonline.us",
		EWSURL: "https://webmail.apps.mil/EWS/Exchange.asmx", EWSResource: "https://webmail.apps.mil",
		GraphResource: "https://dod-graph.microsoft.us", Portal: "https://entra.microsoft.us"},
	"china": {Name: "china", Title: "Microsoft 365 operated by 21Vianet (China)", LoginHost: "https://login.chinacloudapi.cn",
		EWSURL: "https://partner.outlook.cn/EWS/Exchange.asmx", EWSResource: "https://partner.outlook.cn",
		GraphResource: "https://microsoftgraph.chinacloudapi.cn", Portal: "https://portal.azure.cn"},
}

// EXOAppID is the application id of "Office 365 Exchange Online" (the EWS resource in
// every cloud); a token's aud may carry it instead of the URL.
const EXOAppID = "00000002-0000-0ff1-ce00-000000000000"

// Permissions Deputy checks.
const (
	RoleFullAccessAsApp  = "full_access_as_app"   // EWS application permission
	ScopeEWSAccessAsUser = "EWS.AccessAsUser.All" // EWS delegated permission
	GraphCalendarsRW     = "Calendars.ReadWrite"  // Graph successor (application permission)
)

// LookupCloud returns the named cloud ("" = global).
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = "global"
	}
	c, ok := Clouds[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		names := make([]string, 0, len(Clouds))
		for k := range Clouds {
			names = append(names, k)
		}
		sort.Strings(names)
		return Cloud{}, fmt.Errorf("unknown cloud %q (one of %s)", name, strings.Join(names, ", "))
	}
	return c, nil
}

// AdminConsentURL is the URL a Global/Privileged Role Administrator opens to grant
// tenant-wide admin consent to the app's configured permissions.
func (c Cloud) AdminConsentURL(tenant, clientID string) string {
	if tenant == "" {
		tenant = "organizations"
	}
	return c.LoginHost + "/" + tenant + "/adminconsent?client_id=" + clientID
}

// IsEXOAudience reports whether aud names Exchange Online in this cloud (URL, with or
// without a trailing slash, or the resource app id).
func (c Cloud) IsEXOAudience(aud string) bool {
	a := strings.TrimRight(strings.ToLower(aud), "/")
	return a == strings.ToLower(c.EWSResource) || a == EXOAppID
}
