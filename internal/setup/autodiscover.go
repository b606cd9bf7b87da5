package setup

import (
	"strings"

	"deputy/internal/result"
)

// AutodiscoverFailure is what the fix for a failed autodiscover check depends on.
type AutodiscoverFailure struct {
	Class result.Class // the check's class: auth-failed when a server refused the credentials
	// Code is the check's code: not-found, redirect-refused, redirect-loop,
	// too-many-redirects, invalid-input or unusable-url.
	Code    string
	Address string // the address Autodiscover was asked about
	Host    string // redirect-refused: the host outside the address's domain
	Auth    string // the scheme Autodiscover used (basic, ntlm), for the deputy-cli command
	// URLConfigured: the profile holds an EWS URL as well (the run used it), so the fix
	// is for whatever else relies on Autodiscover.
	URLConfigured bool
}

// enterURL is the way round any Autodiscover failure: a profile with its EWS URL does not
// depend on Autodiscover.
const enterURL = "enter the EWS URL in the profile (deputy-cli profile edit <profile> --url <EWS URL>, or deputy-cli diagnose --url <EWS URL>; in the window: the EWS URL field)"

// keepURL replaces enterURL when the profile already holds the URL.
const keepURL = "keep using the EWS URL the profile holds (this run did; fix Autodiscover for the clients that rely on it)"

// AutodiscoverRemediation returns the fix for a failed autodiscover check, with the
// situation's values (Environment, Account) filled in as single-quoted PowerShell
// literals. It returns "" for a check without a failure code.
func AutodiscoverRemediation(f AutodiscoverFailure, s Situation) string {
	addr := plain(f.Address, "the address")
	way := enterURL
	if f.URLConfigured {
		way = keepURL
	}
	domain := ""
	if _, d, ok := strings.Cut(f.Address, "@"); ok {
		domain = d
	}
	dns := []string{"# What DNS says about Autodiscover for the domain:",
		"Resolve-DnsName -Name " + lit(prefixed("autodiscover.", domain), "autodiscover.<domain>"),
		"Resolve-DnsName -Name " + lit(prefixed("_autodiscover._tcp.", domain), "_autodiscover._tcp.<domain>") + " -Type SRV"}
	var x fix
	switch f.Code {
	case "":
		return ""
	case "redirect-refused":
		host := plain(f.Host, "a host")
		x.why = "Autodiscover for " + addr + " redirects to " + host + ", outside " + plain(domain, "the address's domain") +
			", so Deputy did not send the credentials there. If " + host + " is your mail provider's Autodiscover service (in a hybrid organisation, Microsoft's autodiscover-s.outlook.com), look the EWS URL up once with that host trusted, then " + way +
			". If you do not know " + host + ", do not trust it: a redirect can be planted to collect passwords; check the domain's Autodiscover DNS records."
		cli := "deputy-cli autodiscover " + lit(f.Address, "<address>")
		if s.Account != "" {
			cli += " --user " + Quote(s.Account)
			if strings.EqualFold(f.Auth, "ntlm") {
				cli += " --auth ntlm"
			}
		}
		cli += " --trust-redirect " + lit(f.Host, "<host>")
		x.cmds = append([]string{"# The password comes from $env:DEPUTY_PASSWORD (or pipe it in with --password-stdin):", cli}, dns...)
	case "redirect-loop", "too-many-redirects":
		what := "lead back to an address or URL already tried"
		if f.Code == "too-many-redirects" {
			what = "go on for more than 10 hops"
		}
		x.why = "The Autodiscover redirects for " + addr + " " + what + " (each hop is in the evidence): a redirect on a web server (HTTP 301/302) or in Exchange (redirectUrl, redirectAddr) points to the wrong place. Fix the hop that turns back, or " + way + "."
		x.cmds = append(x.cmds, "Get-ClientAccessService | Format-List Name,AutoDiscoverServiceInternalUri",
			"Get-AutodiscoverVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl")
		x.cmds = append(x.cmds, dns...)
	case "invalid-input":
		x.why = "Autodiscover needs the mailbox's full e-mail address (user@domain); " + addr + " is not one. Correct the address, or " + way + "."
	case "unusable-url":
		x.why = "Autodiscover answered with an EWS URL Deputy cannot use (the summary says why; usually a plain-http URL). Correct the EWS virtual directory's published URLs, or " + way + "."
		if !s.exo() {
			x.cmds = []string{"Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl"}
		}
	default: // not-found
		switch {
		case s.exo():
			x.why = "Autodiscover did not give the EWS URL for " + addr + ". Exchange Online does not need it: the EWS URL is https://outlook.office365.com/EWS/Exchange.asmx (worldwide cloud); " + way + ". RBAC for Applications grants do not cover Autodiscover anyway."
		case f.Class == result.AuthFailed:
			x.why = "An Autodiscover server refused the credentials for " + addr + " (HTTP 401 or 403 in the evidence): check the password and that the account is neither locked out nor disabled, and that the Autodiscover virtual directory accepts the scheme Deputy used (Basic or NTLM). Or " + way + "."
			x.cmds = []string{"Get-AutodiscoverVirtualDirectory | Format-List Server,InternalUrl,*Authentication*"}
		default:
			x.why = "No Autodiscover endpoint answered for " + addr + " (every step tried is in the evidence). Either " + way +
				", or publish Autodiscover: a DNS record autodiscover." + plain(domain, "<domain>") + " (A or CNAME) for the Exchange server, or an SRV record _autodiscover._tcp." + plain(domain, "<domain>") + "."
			x.cmds = append([]string{"# The EWS URL Exchange publishes:", "Get-WebServicesVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl"}, dns...)
		}
	}
	return x.String()
}

// prefixed puts p before a non-empty domain ("" stays "" so the placeholder shows).
func prefixed(p, domain string) string {
	if strings.TrimSpace(domain) == "" {
		return ""
	}
	return p + domain
}
