package impersonation

// Exchange Online with OAuth: the token, exo-policy and exo-timeline checks, the sign-in
// probe that replaces the password-based auth check, and the per-mailbox prober that
// explains RBAC for Applications and per-mailbox EWS blocks.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"deputy/internal/ews"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/setup"
	"deputy/internal/transport"
)

func init() {
	titles[result.CheckToken] = "Access token from Entra ID"
	titles[result.CheckEXOPolicy] = "Exchange Online EWS access policy"
	titles[result.CheckEXOTimeline] = "Exchange Online EWS retirement timeline"
}

// Dates of the Exchange Online EWS retirement (domain brief §6).
var (
	EWSBlockDate = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) // EwsEnabled $null → $false; allow-listed apps only
	EWSEndDate   = time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)  // EWS switched off in Exchange Online
)

// exoPlanIDs is the plan of an Exchange Online OAuth diagnosis, in order.
var exoPlanIDs = []string{result.CheckEndpoint, result.CheckTLS, result.CheckToken, result.CheckAuth, result.CheckEXOPolicy,
	result.CheckEXOTimeline, result.CheckServiceMailbox, result.CheckImpersonation, result.CheckWrite, result.CheckRooms}

// exoLegacyAuth handles an Exchange Online profile set to Basic or NTLM: it cannot work,
// and sending the password would only add a failed sign-in to the account. It reports
// why and the path to an app-only profile, then skips the rest. True if it did.
func (d *diag) exoLegacyAuth() bool {
	if d.cfg.OAuth != nil || d.cfg.Profile.Environment != result.EXO {
		return false
	}
	s := strings.ToLower(d.cfg.Auth.Scheme)
	if s != transport.SchemeBasic && s != transport.SchemeNTLM {
		return false
	}
	c, t0 := d.begin(result.CheckToken)
	c.Status, c.Class, c.Code = result.Fail, result.AuthFailed, "legacy-auth-exo"
	c.Summary = fmt.Sprintf("Exchange Online does not accept %s for EWS: Basic authentication for EWS was turned off from 1 October 2022 (NTLM never worked against Exchange Online), and the ApplicationImpersonation role a service account needed is retired (removed from February 2025). A password-based service account cannot work any more.", strings.ToUpper(s))
	c.Remediation = "Switch this profile to app-only OAuth: register an app in Entra ID with the Office 365 Exchange Online application permission full_access_as_app (admin consent), give it a certificate (or a client secret), then set the profile's authentication to oauth-app-cert (or oauth-app-secret) with the tenant and the application (client) ID " +
		"(CLI: deputy-cli diagnose --environment exo --auth oauth-app-cert --tenant <tenant> --client-id <app id> --cert app.pfx --password-stdin). " +
		"Limit it to the mailboxes it needs with RBAC for Applications (deputy-cli script --kind exo-rbac-apps writes the script) and put the app on the EWS allow-list. " +
		"EWS in Exchange Online ends on 1 April 2027; plan the move to Microsoft Graph (Calendars.ReadWrite application permission)."
	d.end(c, t0)
	d.timelineCheck()
	d.skipRest("skipped: Exchange Online refuses this authentication (see token)")
	return true
}

// exoAuth replaces authAndServiceMailbox for OAuth: token, auth, exo-policy,
// exo-timeline, service-mailbox. False when nothing further can work.
func (d *diag) exoAuth(ctx context.Context) bool {
	if !d.tokenCheck(ctx) {
		d.timelineCheck()
		return false
	}
	src := d.cfg.OAuth
	appOnly := src.AppOnly()
	as := ""
	if appOnly {
		as = d.actAs() // an app has no mailbox of its own: prove sign-in by acting as one
	}
	auth, a0 := d.begin(result.CheckAuth)
	hc, err := transport.NewClient(d.opts)
	if err != nil {
		auth.Status, auth.Class, auth.Summary = result.Fail, result.Other, err.Error()
		d.end(auth, a0)
		return false
	}
	d.client = &ews.Client{URL: d.cfg.URL, HTTP: hc, Version: d.version}
	who := "the app " + src.ClientID()
	if !appOnly {
		who = src.Claims().UPN
		if who == "" {
			who = "the signed-in user"
		}
	}
	if appOnly && as == "" {
		auth.Status, auth.Summary = result.Skip, "no mailbox given to act as: an app-only token can only be tried against a mailbox (add target mailboxes or --service-mailbox)"
		d.end(auth, a0)
		d.skip(result.CheckEXOPolicy, "skipped: nothing was sent to Exchange Online")
		d.timelineCheck()
		d.skip(result.CheckServiceMailbox, "skipped: app-only OAuth has no service account mailbox")
		return true
	}
	actx, cancel := context.WithTimeout(transport.WithStep(ctx, result.CheckAuth, as), d.cfg.Timeout)
	_, ferr := d.client.GetFolder(actx, as, probeFolders...)
	cancel()
	var ee *ews.Error
	isEE := errors.As(ferr, &ee)
	actsAs := ""
	if as != "" {
		actsAs = " acting as " + as
	}
	switch {
	case ferr == nil || (isEE && ee.HTTPStatus != 401 && ee.Class != result.NotEWS && ee.Class != result.AuthFailed):
		auth.Status = result.Pass
		auth.Summary = "Exchange Online accepted the token of " + who + actsAs
		if isEE && ee.HTTPStatus == 403 {
			auth.Summary += " — and then refused the request by policy (HTTP 403, see exo-policy)"
		} else if isEE {
			auth.Evidence = append(auth.Evidence, "the probe mailbox answered "+ee.Code+" (judged with the mailboxes below)")
		}
	case isEE:
		auth.Status, auth.Class, auth.Code = result.Fail, result.AuthFailed, ee.Code
		auth.Summary = "Exchange Online rejected the token of " + who + ": " + ee.Error()
		if ee.Diagnostics != "" {
			auth.Evidence = append(auth.Evidence, "x-ms-diagnostics: "+ee.Diagnostics)
		}
		auth.Remediation = bearerRejected(ee.Diagnostics, src)
	default:
		a := attemptFromError(ferr, d.sit, as)
		auth.Status, auth.Class, auth.Code = result.Fail, a.Mailbox.Class, a.Mailbox.Code
		auth.Summary = "the sign-in request failed: " + ferr.Error()
		auth.Remediation = a.Mailbox.Remediation
	}
	d.end(auth, a0)
	if auth.Status == result.Fail {
		d.skip(result.CheckEXOPolicy, "skipped: the token was not accepted (see auth)")
		d.timelineCheck()
		return false
	}
	blocked := d.policyCheck(ee, as)
	d.timelineCheck()
	if blocked {
		return false
	}

	sm, s0 := d.begin(result.CheckServiceMailbox)
	switch {
	case appOnly && d.cfg.ServiceMailbox == "":
		sm.Status, sm.Summary = result.Skip, "app-only OAuth: there is no service account and so no service mailbox; the app acts as each mailbox"
	case ferr == nil:
		sm.Status, sm.Class = result.Pass, result.OK
		sm.Summary = map[bool]string{true: d.cfg.ServiceMailbox, false: who}[appOnly] + "'s mailbox answers (msgfolderroot, calendar)"
	default:
		sm.Status, sm.Class, sm.Code = statusFor(ee.Class), ee.Class, ee.Code
		sm.Summary = "the mailbox did not answer: " + ee.Error()
		s := d.sit
		s.Mailbox = as
		sm.Remediation = setup.Remediation(sm.Class, sm.Code, s)
	}
	d.end(sm, s0)
	return true
}

// actAs is the mailbox an app-only token acts as when no particular mailbox is asked
// about (sign-in, room lists): the service mailbox, else the first target or room. ""
// when none is given; Exchange Online then refuses the request (no impersonation header).
func (d *diag) actAs() string {
	for _, a := range append(append([]string{d.cfg.ServiceMailbox}, d.cfg.Mailboxes...), d.cfg.Rooms...) {
		if a != "" {
			return a
		}
	}
	return ""
}

// tokenCheck gets a token and judges its claims. False if there is no usable token.
func (d *diag) tokenCheck(ctx context.Context) bool {
	c, t0 := d.begin(result.CheckToken)
	defer func() { d.end(c, t0) }()
	src := d.cfg.OAuth
	cloud := src.Cloud()
	c.Evidence = append(c.Evidence, "authority: "+src.Authority(), "client ID: "+src.ClientID(), "scope: "+strings.Join(src.Scopes(), " "))
	var warnings []string
	var rem []string
	if ci := src.Certificate(); ci != nil {
		c.Evidence = append(c.Evidence, fmt.Sprintf("certificate: %s, thumbprint %s, valid until %s", ci.Subject, ci.Thumbprint, ci.NotAfter.UTC().Format("2006-01-02")))
		if left := ci.NotAfter.Sub(d.cfg.Now()); left < 30*24*time.Hour {
			warnings = append(warnings, fmt.Sprintf("the app's certificate expires in %d days", int(left.Hours()/24)))
			rem = append(rem, "Renew the certificate now: create a new one, upload its public part under App registrations → "+src.ClientID()+" → Certificates & secrets (thumbprint "+ci.Thumbprint+" is the old one), and switch the profile to it; keep both registered until every installation uses the new one.")
		}
	}
	// A delegated sign-in may wait for a person in a browser: give it minutes, not the
	// per-request timeout.
	limit := 2 * d.cfg.Timeout
	if !src.AppOnly() {
		limit = 5 * time.Minute
	}
	tctx, cancel := context.WithTimeout(ctx, limit)
	_, err := src.Token(tctx)
	cancel()
	if err != nil {
		c.Status, c.Class = result.Fail, result.AuthFailed
		var ae *oauth.AADError
		var ce *oauth.CertError
		switch {
		case errors.As(err, &ae):
			c.Code = ae.Code
			c.Summary = ae.Description
			if ae.TraceID != "" {
				c.Evidence = append(c.Evidence, "trace ID: "+ae.TraceID, "correlation ID: "+ae.CorrelationID)
			}
			c.Remediation = aadRemediation(ae, src)
		case errors.As(err, &ce):
			c.Code, c.Summary = "certificate", ce.Error()
		case errors.Is(err, oauth.ErrNotSignedIn):
			c.Code, c.Summary = "not-signed-in", err.Error()
		default:
			var te *transport.TLSError
			if errors.As(err, &te) {
				c.Class, c.Code = result.Other, "tls"
			} else {
				c.Class, c.Code = result.Transient, "network"
			}
			c.Summary = "could not reach Entra ID: " + err.Error()
			c.Remediation = "Check that this computer can reach " + hostOf(src.Authority()) + " (proxy, firewall, TLS inspection) and that the cloud is right."
		}
		return false
	}
	cl := src.Claims()
	c.Evidence = append(c.Evidence, claimLines(cl)...)
	var problems []string
	if !cloud.IsEXOAudience(cl.Aud) {
		problems = append(problems, fmt.Sprintf("the token is for %q, not Exchange Online (%s): Exchange answers 401 with x-ms-diagnostics 2000003 invalid_resource", cl.Aud, cloud.EWSResource))
		rem = append(rem, "Ask for a token for "+cloud.EWSResource+"/.default (app-only) or "+cloud.EWSResource+"/"+oauth.ScopeEWSAccessAsUser+" (delegated); a Microsoft Graph token does not work for EWS.")
		c.Code = "invalid-audience"
	}
	if t := src.Tenant(); isGUID(t) && cl.Tid != "" && !strings.EqualFold(cl.Tid, t) {
		problems = append(problems, fmt.Sprintf("the token was issued by tenant %s, not %s", cl.Tid, t))
		rem = append(rem, "The profile names tenant "+t+", but the token comes from tenant "+cl.Tid+": Exchange Online would judge the app in the wrong organisation. Check the profile's tenant ID against Entra admin center → Overview → Tenant ID of the organisation whose mailboxes you test, and that the app registration "+src.ClientID()+" is in (or consented to by) that tenant; then sign in again.")
		c.Code = "wrong-tenant"
	}
	consentPath := "Entra admin center → App registrations → " + appName(cl, src) + " → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → "
	consentURL := cloud.AdminConsentURL(tenantFor(cl, src), src.ClientID())
	if src.AppOnly() {
		if !cl.HasRole(oauth.RoleFullAccessAsApp) {
			// RBAC for Applications grants do not appear in the token: not fatal yet.
			warnings = append(warnings, "the token carries no full_access_as_app role: the Entra admin consent is missing — or the app is authorised only through RBAC for Applications, which tokens do not show (the mailbox checks below tell which)")
			rem = append(rem, "If the app should reach mailboxes through Entra consent: "+consentPath+"Application permissions → full_access_as_app → Add permissions → Grant admin consent for <tenant>; or open the admin consent URL "+consentURL+
				" (permissions added through the manifest: requiredResourceAccess resourceAppId 00000002-0000-0ff1-ce00-000000000000, role dc890d15-9560-4a4c-9b7f-a736ec74ec40). Better, scope it: keep the consent off and grant \"Application EWS.AccessAsApp\" with RBAC for Applications (deputy-cli script --kind exo-rbac-apps).")
			c.Code = orCode(c.Code, "missing-role")
		} else {
			warnings = append(warnings, "full_access_as_app is consented tenant-wide in Entra ID: the app can open every mailbox, and RBAC for Applications scopes cannot narrow that (grants add up)")
			rem = append(rem, "To limit the app to some mailboxes: assign \"Application EWS.AccessAsApp\" with a management scope (RBAC for Applications), verify with Test-ServicePrincipalAuthorization, then remove the full_access_as_app admin consent in Entra ID (Enterprise applications → <app> → Permissions).")
		}
	} else if !cl.HasScope(oauth.ScopeEWSAccessAsUser) {
		problems = append(problems, "the delegated token has no EWS.AccessAsUser.All scope")
		rem = append(rem, consentPath+"Delegated permissions → EWS.AccessAsUser.All → Add permissions → Grant admin consent, or open "+consentURL+"; then sign in again.")
		c.Code = orCode(c.Code, "missing-scope")
	}
	switch {
	case len(problems) > 0:
		c.Status, c.Class = result.Fail, result.AuthFailed
		if c.Code == "missing-scope" {
			c.Class = result.NoImpersonationRight
		}
		c.Summary = strings.Join(problems, "; ")
	case len(warnings) > 0:
		c.Status, c.Summary = result.Warn, "token for "+cl.Aud+"; "+strings.Join(warnings, "; ")
	default:
		c.Status, c.Summary = result.Pass, "delegated token for "+cl.Aud+" with EWS.AccessAsUser.All for "+cl.UPN
	}
	c.Remediation = strings.Join(rem, "\n\n")
	return c.Status != result.Fail
}

func orCode(cur, code string) string {
	if cur != "" {
		return cur
	}
	return code
}

// claimLines shows what the token says, never the token.
func claimLines(c oauth.Claims) []string {
	kind := "delegated (user)"
	if c.AppOnly() {
		kind = "app-only"
	}
	out := []string{"token: " + kind + ", ver " + c.Ver, "aud: " + c.Aud, "tid: " + c.Tid}
	if c.AppID != "" {
		out = append(out, "appid: "+c.AppID)
	} else if c.Azp != "" {
		out = append(out, "azp: "+c.Azp)
	}
	if c.UPN != "" {
		out = append(out, "upn: "+c.UPN)
	}
	out = append(out, "roles: "+orNone(strings.Join(c.Roles, " ")), "scp: "+orNone(c.Scp))
	if !c.Exp.IsZero() {
		out = append(out, "expires: "+c.Exp.UTC().Format(time.RFC3339))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func appName(c oauth.Claims, src *oauth.Source) string {
	if c.AppDisplayName != "" {
		return c.AppDisplayName
	}
	return src.ClientID()
}

func tenantFor(c oauth.Claims, src *oauth.Source) string {
	if c.Tid != "" {
		return c.Tid
	}
	return src.Tenant()
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// aadRemediation is Entra's meaning plus, for consent problems, the exact portal path
// and the admin consent URL.
func aadRemediation(ae *oauth.AADError, src *oauth.Source) string {
	m := ae.Meaning
	if m == "" {
		m = "Look the code up at https://login.microsoftonline.com/error?code=" + strings.TrimPrefix(ae.Code, "AADSTS") + " and check the Entra sign-in logs (Monitoring → Sign-in logs) with the trace ID."
	}
	m = strings.ReplaceAll(m, "<app>", src.ClientID())
	if ae.Code == "AADSTS65001" {
		m += " Path: Entra admin center → App registrations → " + src.ClientID() + " → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → " +
			map[bool]string{true: "Application permissions → full_access_as_app", false: "Delegated permissions → EWS.AccessAsUser.All"}[src.AppOnly()] +
			" → Grant admin consent. Admin consent URL: " + src.Cloud().AdminConsentURL(src.Tenant(), src.ClientID())
	}
	return m
}

// bearerRejected explains a 401 to a bearer token from x-ms-diagnostics (shown verbatim
// in the evidence; the codes are data, domain brief §3.3).
func bearerRejected(diag string, src *oauth.Source) string {
	code, _, _ := strings.Cut(diag, ";")
	switch strings.TrimSpace(code) {
	case "2000003":
		return "The token's audience is not Exchange Online (a Microsoft Graph or other token was sent). Request " + src.Cloud().EWSResource + "/.default."
	case "2000001":
		return "Exchange Online could not use the token (malformed, expired or signed by an unknown key). Sign in again; if it persists, check the computer's clock and that the cloud (worldwide, GCC High, DoD, China) matches the tenant."
	case "2000004":
		return "Exchange Online does not know the token's tenant: the tenant has no Exchange Online, or the cloud is wrong."
	case "2000008":
		return "The token lacks a permission Exchange needs (full_access_as_app for app-only, EWS.AccessAsUser.All for delegated). Grant admin consent: " + src.Cloud().AdminConsentURL(src.Tenant(), src.ClientID())
	}
	return "Exchange Online rejected the token. The x-ms-diagnostics evidence has its reason; sign in again and check the token check's claims."
}

// policyCheck reports the exo-policy check from the sign-in probe's reply. True when EWS
// is blocked for the whole organisation or the app (nothing else can work).
func (d *diag) policyCheck(ee *ews.Error, as string) bool {
	c, t0 := d.begin(result.CheckEXOPolicy)
	defer func() { d.end(c, t0) }()
	appID := d.cfg.OAuth.ClientID()
	if ee == nil || ee.HTTPStatus != 403 {
		c.Status = result.Pass
		c.Summary = "EWS is enabled for the organisation and this app is allowed to use it (the request went through); a mailbox with EwsEnabled False shows up as access-denied below"
		if d.cfg.Now().Before(EWSEndDate) {
			c.Evidence = append(c.Evidence, "keep the app ID "+appID+" in EwsAllowedAppIDs until 1 April 2027")
		}
		return false
	}
	c.Class, c.Code = result.AccessDenied, "HTTP 403"
	if ee.Diagnostics != "" {
		c.Evidence = append(c.Evidence, "x-ms-diagnostics: "+ee.Diagnostics)
	}
	// Only the server's own reason counts (the client's generic 403 text names every cause).
	reason := strings.ToLower(ee.Diagnostics)
	merge := setup.AllowListMerge(appID)
	switch {
	case (strings.Contains(reason, "organization") || strings.Contains(reason, "organisation")) && strings.Contains(reason, "disabled"):
		c.Status, c.Code = result.Fail, "org-ews-disabled"
		c.Summary = "EWS is disabled for the whole organisation (HTTP 403; EwsEnabled is False — since 1 October 2026 the default for organisations that did not opt in)"
		c.Remediation = "Enable EWS for allow-listed apps only and add this app, keeping the IDs already listed:\n" + merge
		return true
	case strings.Contains(reason, "allowedappid") || strings.Contains(reason, "allow-list") || strings.Contains(reason, "allow list") || strings.Contains(reason, "not allowed"):
		c.Status, c.Code = result.Fail, "app-not-allowed"
		c.Summary = "Exchange Online refused EWS for this app (HTTP 403): the app ID " + appID + " is not on the organisation's EWS allow-list (EwsAllowedAppIDs)"
		c.Remediation = "Add the app to the allow-list, keeping every ID already on it (never overwrite it):\n" + merge
		return true
	case strings.Contains(reason, "mailbox") || strings.Contains(reason, "user"):
		c.Status, c.Code = result.Warn, "mailbox-ews-disabled"
		c.Summary = "EWS is disabled for the mailbox " + as + " (HTTP 403); the organisation allows it — each mailbox is judged below"
		c.Remediation = "Set-CASMailbox -Identity " + setup.Quote(as) + " -EwsEnabled $true   # the organisation's EwsEnabled must allow it too"
		return false
	}
	c.Status, c.Code = result.Fail, "policy-403"
	c.Summary = "Exchange Online refused EWS with HTTP 403 (a policy block). Check, in this order: the organisation's EwsEnabled, the EwsAllowedAppIDs allow-list, the mailbox's EwsEnabled, its licence (Kiosk/F1/F3-only mailboxes are blocked from EWS since 30 June 2026), an Application Access Policy"
	c.Remediation = "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs\nGet-CASMailbox -Identity " + setup.Quote(as) + " | Format-List EwsEnabled\n" + merge
	return true
}

// timelineCheck says where the organisation stands on the EWS retirement, for d.cfg.Now.
func (d *diag) timelineCheck() {
	c, t0 := d.begin(result.CheckEXOTimeline)
	*c = Timeline(d.cfg.Now())
	d.end(c, t0)
}

// Timeline is the exo-timeline check for a date: before 1 Oct 2026 what is coming, then
// the days left until 1 Apr 2027, after that the end.
func Timeline(now time.Time) result.Check {
	c := result.Check{ID: result.CheckEXOTimeline, Title: titles[result.CheckEXOTimeline]}
	days := func(t time.Time) int { return int(t.Sub(now.UTC()).Hours()/24 + 0.999) }
	left := days(EWSEndDate)
	graph := "Plan the move to Microsoft Graph: the application permission Calendars.ReadWrite (or Calendars.Read/ReadBasic for less) on https://graph.microsoft.com/.default, scoped with RBAC for Applications (\"Application Calendars.ReadWrite\" with a management scope); test with GET https://graph.microsoft.com/v1.0/users/{mailbox}/calendar. Ask the integration's vendor for its Graph version."
	c.Evidence = []string{
		"1 Oct 2022: Basic authentication for EWS turned off",
		"Feb–Jun 2025: ApplicationImpersonation removed from Exchange Online",
		"1 Oct 2026: organisations whose EwsEnabled was not set have it set to False; with EwsEnabled True only the apps in EwsAllowedAppIDs may use EWS",
		"1 Apr 2027: EWS in Exchange Online shuts down for good, no exceptions",
	}
	switch {
	case !now.Before(EWSEndDate):
		c.Status, c.Class, c.Code = result.Fail, result.Other, "ews-ended"
		c.Summary = fmt.Sprintf("EWS in Exchange Online has ended (1 April 2027, %d days ago): no setting brings it back", -days(EWSEndDate)+1)
		c.Remediation = "Move the integration to Microsoft Graph. " + graph
	case now.Before(EWSBlockDate):
		c.Status = result.Warn
		c.Summary = fmt.Sprintf("%d days until 1 October 2026, when EWS is blocked for every app not on the organisation's allow-list; EWS in Exchange Online ends on 1 April 2027 (%d days)", days(EWSBlockDate), left)
		c.Remediation = "Before 1 October 2026: Set-OrganizationConfig -EwsEnabled $true with this app in EwsAllowedAppIDs (merged with the IDs already there). " + graph
	default:
		c.Status = result.Warn // a hard end date under six months away: never a plain pass
		c.Summary = fmt.Sprintf("%d days left until EWS in Exchange Online ends on 1 April 2027; since 1 October 2026 only allow-listed apps may use it", left)
		c.Remediation = graph
	}
	return c
}

// ---- per-mailbox probing with bearer tokens ----

// exoProber proves mailboxes like ewsProber and explains what Exchange Online's replies
// mean for an app: RBAC for Applications scopes, per-mailbox EWS blocks, delegated
// tokens that cannot impersonate.
type exoProber struct {
	inner *ewsProber
	d     *diag
}

func (p *exoProber) BatchSize() int { return 1 }

func (p *exoProber) NewWorker() (Worker, error) {
	w, err := p.inner.NewWorker()
	if err != nil {
		return nil, err
	}
	return &exoWorker{p: p, w: w.(*ewsWorker)}, nil
}

type exoWorker struct {
	p *exoProber
	w *ewsWorker
}

func (w *exoWorker) Probe(ctx context.Context, ts []Target) []Attempt {
	t := ts[0]
	ctx = transport.WithStep(ctx, stepFor(t), t.Address)
	start := time.Now()
	_, err := w.w.c.GetFolder(ctx, t.Address, probeFolders...)
	lat := time.Since(start).Milliseconds()
	if err != nil {
		a := attemptFromError(err, w.p.d.sit, t.Address)
		a.Mailbox.Protocol, a.Mailbox.LatencyMs = result.EWS, lat
		a.Mailbox.Read = a.Mailbox.Status
		var ee *ews.Error
		if errors.As(err, &ee) {
			w.p.d.explainEXO(&a.Mailbox, ee, t.Address)
		}
		return []Attempt{a}
	}
	m := result.Mailbox{Protocol: result.EWS, Read: result.Pass, Write: result.Skip, Status: result.Pass, Class: result.OK, LatencyMs: lat}
	if w.w.p.write {
		if err := w.w.writeTest(ctx, t.Address); err != nil {
			a := attemptFromError(err, w.p.d.sit, t.Address)
			m.Write, m.Status, m.Class = a.Mailbox.Status, a.Mailbox.Status, a.Mailbox.Class
			m.Code, m.Remediation = a.Mailbox.Code, a.Mailbox.Remediation
			m.Message = "read works, the write test failed: " + a.Mailbox.Message
			return []Attempt{{Mailbox: m, BackOff: a.BackOff, Overloaded: a.Overloaded}}
		}
		m.Write = result.Pass
	}
	return []Attempt{{Mailbox: m}}
}

// explainEXO rewrites a mailbox's diagnosis for Exchange Online and OAuth.
func (d *diag) explainEXO(m *result.Mailbox, ee *ews.Error, address string) {
	src := d.cfg.OAuth
	if ee.Diagnostics != "" {
		// The server's reason first: it is what the admin needs to read.
		m.Message = "x-ms-diagnostics: " + ee.Diagnostics + " — " + m.Message
	}
	switch {
	case ee.HTTPStatus == 403:
		m.Class, m.Status, m.Code = result.AccessDenied, result.Fail, "HTTP 403"
		m.Remediation = "Exchange Online refused EWS for " + address + " only: its EwsEnabled is False (or its licence has no EWS: Kiosk/F1/F3-only mailboxes are blocked since 30 June 2026).\n" +
			"Get-CASMailbox -Identity " + setup.Quote(address) + " | Format-List EwsEnabled\nSet-CASMailbox -Identity " + setup.Quote(address) + " -EwsEnabled $true"
	case ee.HTTPStatus == 401:
		m.Class, m.Status = result.AuthFailed, result.Fail
		m.Remediation = bearerRejected(ee.Diagnostics, src)
	case !src.AppOnly() && (m.Class == result.ImpersonationDenied || m.Class == result.NoImpersonationRight):
		m.Class = result.NoImpersonationRight
		m.Remediation = "A delegated (signed-in user) token cannot impersonate in Exchange Online: the ApplicationImpersonation role it would need is retired. Use an app-only profile (oauth-app-cert or oauth-app-secret) with full_access_as_app or RBAC for Applications (\"Application EWS.AccessAsApp\")."
	case m.Class == result.ImpersonationDenied || m.Class == result.NoImpersonationRight:
		m.Class = result.ImpersonationDenied
		m.Remediation = rbacForApps(src, address, d.sit)
	}
}

// rbacForApps is the remediation for a mailbox outside the app's RBAC for Applications
// scope (domain brief §5.4, §9.3).
func rbacForApps(src *oauth.Source, address string, s setup.Situation) string {
	app := src.ClientID()
	sp := s.SPObjectID
	if sp == "" {
		sp = "<object ID from Entra ID → Enterprise applications → the app>"
	}
	lines := []string{
		"The app is authorised through RBAC for Applications, and " + address + " is outside the assignment's management scope. Add the mailbox to the scope (or create the assignment). Changes take 30 minutes to 2 hours to apply; Test-ServicePrincipalAuthorization shows the new state at once.",
		"Connect-ExchangeOnline",
		"New-ServicePrincipal -AppId " + app + " -ObjectId " + setup.Quote(sp) + " -DisplayName " + setup.Quote("EWS app "+app) + "   # once",
		"New-ManagementScope -Name " + setup.Quote(setup.EXOScopeName) + " -RecipientRestrictionFilter \"MemberOfGroup -eq '<group DN>'\"   # or widen the existing scope's filter",
		"New-ManagementRoleAssignment -App " + app + " -Role " + setup.Quote(setup.EXOAppRole) + " -CustomResourceScope " + setup.Quote(setup.EXOScopeName),
		"Test-ServicePrincipalAuthorization -Identity " + app + " -Resource " + setup.Quote(address) + " | Format-Table RoleName,AllowedResourceScope,InScope",
		"Warning: a tenant-wide admin consent for full_access_as_app in Entra ID grants every mailbox and overrides any scope; remove it once the RBAC assignment works.",
	}
	return strings.Join(lines, "\n")
}

// exoProbes wraps the EWS prober for OAuth diagnoses.
func (d *diag) exoProbes(p *ewsProber) Prober {
	if d.cfg.OAuth == nil {
		return p
	}
	return &exoProber{inner: p, d: d}
}

// planIDs is the plan's check ids in order (the EXO plan for OAuth).
func (d *diag) planIDs() []string {
	if d.cfg.OAuth != nil || d.cfg.Profile.Environment == result.EXO {
		return exoPlanIDs
	}
	return []string{result.CheckEndpoint, result.CheckTLS, result.CheckAuth, result.CheckServiceMailbox, result.CheckImpersonation, result.CheckWrite, result.CheckRooms}
}

// oauthDefaults makes an OAuth configuration complete: bearer tokens from the source, an
// Exchange Online profile that names the tenant and app (never a secret).
func (c *Config) oauthDefaults() {
	src := c.OAuth
	c.Auth = transport.Auth{Scheme: transport.SchemeBearer, Token: src.Token}
	c.Profile.Environment = result.EXO
	c.Profile.Auth = src.Mode()
	if c.Profile.TenantID == "" {
		c.Profile.TenantID = src.Tenant()
	}
	if c.Profile.ClientID == "" {
		c.Profile.ClientID = src.ClientID()
	}
	if c.Profile.ServiceAccount == "" && src.AppOnly() {
		c.Profile.ServiceAccount = "app " + src.ClientID()
	}
}
