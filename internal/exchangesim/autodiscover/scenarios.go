package adsim

import (
	"fmt"
	"sort"
)

// Names used by every scenario.
const (
	Domain  = "fabrikam.test"
	Address = "mara@fabrikam.test"
	EWSURL  = "https://mail.fabrikam.test/EWS/Exchange.asmx"
	// V2Host stands in for outlook.office365.com.
	V2Host = "outlook.sim.test"
	// Foreign is a host outside Domain that a scenario redirects to.
	Foreign = "autodiscover.contoso-hosting.test"
	// RedirectedAddress is where the redirect-addr scenario sends Address.
	RedirectedAddress = "mara.whitley@eu.fabrikam.test"
	RedirectedEWSURL  = "https://mail.eu.fabrikam.test/EWS/Exchange.asmx"
	ForeignEWSURL     = "https://ews.contoso-hosting.test/EWS/Exchange.asmx"
)

// standardNames are the hosts a client derives from the addresses of the scenarios; any
// a scenario does not serve are Absent, so no lookup ever leaves the machine.
var standardNames = []string{Domain, "autodiscover." + Domain, "eu." + Domain, "autodiscover.eu." + Domain, V2Host}

var scenarios = map[string]func() Config{
	// POX answers at https://domain/.
	"pox": func() Config {
		return Config{Hosts: map[string]Host{Domain: {POX: Endpoint{Mode: Answer}}}}
	},
	// Only SOAP, and only at https://autodiscover.domain/.
	"soap": func() Config {
		return Config{Hosts: map[string]Host{
			Domain:                   {},
			"autodiscover." + Domain: {SOAP: Endpoint{Mode: Answer}},
		}}
	},
	// POX redirectAddr to another address (another sub-domain), answered there.
	"redirect-addr": func() Config {
		c := Config{Hosts: map[string]Host{
			Domain:         {POX: Endpoint{Mode: Answer}},
			"eu." + Domain: {SOAP: Endpoint{Mode: Answer}},
		}}
		c.Mailboxes = map[string]Mailbox{Address: {RedirectAddr: RedirectedAddress}}
		return c
	},
	// Address loop: mara -> mara.whitley -> mara.
	"loop-addr": func() Config {
		c := Config{Hosts: map[string]Host{Domain: {SOAP: Endpoint{Mode: Answer}}, "eu." + Domain: {POX: Endpoint{Mode: Answer}}}}
		c.Mailboxes = map[string]Mailbox{Address: {RedirectAddr: RedirectedAddress}, RedirectedAddress: {RedirectAddr: Address}}
		return c
	},
	// POX redirectUrl (spelt RedirectURL) to autodiscover.domain.
	"redirect-url": func() Config {
		return Config{Hosts: map[string]Host{
			Domain: {POX: Endpoint{Mode: RedirectURL, UpperURL: true,
				Target: "https://autodiscover." + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"autodiscover." + Domain: {POX: Endpoint{Mode: Answer}},
		}}
	},
	// SOAP ErrorCode RedirectUrl to autodiscover.domain's SOAP service.
	"redirect-url-soap": func() Config {
		return Config{Hosts: map[string]Host{
			Domain: {SOAP: Endpoint{Mode: RedirectURL,
				Target: "https://autodiscover." + Domain + ":{https}/autodiscover/autodiscover.svc"}},
			"autodiscover." + Domain: {SOAP: Endpoint{Mode: Answer}},
		}}
	},
	// http://autodiscover.domain answers 302 to mail.domain, which answers 301 to
	// ad.domain, which serves POX.
	"http-302": func() Config {
		return Config{Hosts: map[string]Host{
			"autodiscover." + Domain: {Plain: Endpoint{Mode: HTTPRedirect,
				Target: "https://mail." + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"mail." + Domain: {POX: Endpoint{Mode: HTTPRedirect, Status: 301,
				Target: "https://ad." + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"ad." + Domain: {POX: Endpoint{Mode: Answer}},
		}}
	},
	// redirectUrl ping-pong between the two standard hosts.
	"loop": func() Config {
		return Config{Hosts: map[string]Host{
			Domain: {POX: Endpoint{Mode: RedirectURL,
				Target: "https://autodiscover." + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"autodiscover." + Domain: {POX: Endpoint{Mode: RedirectURL,
				Target: "https://" + Domain + ":{https}/autodiscover/autodiscover.xml"}},
		}}
	},
	// The web server at https://domain/ bounces between domain and www.domain (an HTTP
	// loop in front of one candidate); autodiscover.domain works.
	"web-loop": func() Config {
		return Config{Hosts: map[string]Host{
			Domain: {POX: Endpoint{Mode: HTTPRedirect, Status: 301,
				Target: "https://www." + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"www." + Domain: {POX: Endpoint{Mode: HTTPRedirect, Status: 301,
				Target: "https://" + Domain + ":{https}/autodiscover/autodiscover.xml"}},
			"autodiscover." + Domain: {SOAP: Endpoint{Mode: Answer}},
		}}
	},
	// redirectUrl to a plain-http URL (a live one: it would answer if asked).
	"redirect-http": func() Config {
		return Config{Hosts: map[string]Host{
			Domain: {POX: Endpoint{Mode: RedirectURL,
				Target: "http://autodiscover." + Domain + ":{http}/autodiscover/autodiscover.xml"}},
			"autodiscover." + Domain: {Plain: Endpoint{Mode: Answer}},
		}}
	},
	// redirectUrl to a host outside the domain, which would answer.
	"foreign": func() Config {
		c := Config{Hosts: map[string]Host{
			Domain: {POX: Endpoint{Mode: RedirectURL,
				Target: "https://" + Foreign + ":{https}/autodiscover/autodiscover.xml"}},
			Foreign: {POX: Endpoint{Mode: Answer}},
		}}
		c.Mailboxes = map[string]Mailbox{Address: {DisplayName: "Mara Whitley", EWSURL: ForeignEWSURL}}
		return c
	},
	// https://domain/ never answers; autodiscover.domain does.
	"slow": func() Config {
		return Config{Hosts: map[string]Host{
			Domain:                   {POX: Endpoint{Mode: Stall}, SOAP: Endpoint{Mode: Stall}},
			"autodiscover." + Domain: {SOAP: Endpoint{Mode: Answer}},
		}}
	},
	// https://domain/ is a web site with a login page; autodiscover.domain answers.
	"html": func() Config {
		return Config{Hosts: map[string]Host{
			Domain:                   {POX: Endpoint{Mode: HTML}, SOAP: Endpoint{Mode: HTML}},
			"autodiscover." + Domain: {POX: Endpoint{Mode: Answer}},
		}}
	},
	// Nothing at the standard hosts; SRV points at mail.domain (plus a non-https record
	// and a lower-priority one).
	"srv": func() Config {
		return Config{
			Hosts: map[string]Host{"mail." + Domain: {SOAP: Endpoint{Mode: Answer}}, "backup." + Domain: {POX: Endpoint{Mode: Answer}}},
			SRV: map[string][]SRV{Domain: {
				{Priority: 20, Weight: 0, Target: "backup." + Domain},
				{Priority: 0, Weight: 0, Port: 80, Target: "plain." + Domain},
				{Priority: 10, Weight: 5, Target: "mail." + Domain},
			}},
		}
	},
	// Exchange Online: only the v2 JSON endpoint answers.
	"v2": func() Config {
		return Config{Hosts: map[string]Host{V2Host: {V2: Endpoint{Mode: Answer}}}}
	},
	// Nothing anywhere.
	"none": func() Config { return Config{Hosts: map[string]Host{}} },
}

// Scenarios lists the scenario names.
func Scenarios() []string {
	out := make([]string, 0, len(scenarios))
	for n := range scenarios {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Scenario returns the named configuration: Address has a mailbox with EWSURL (unless the
// scenario says otherwise), and every standard host it does not serve is Absent.
func Scenario(name string) (Config, error) {
	f, ok := scenarios[name]
	if !ok {
		return Config{}, fmt.Errorf("adsim: unknown scenario %q (have %v)", name, Scenarios())
	}
	c := f()
	if c.Mailboxes == nil {
		c.Mailboxes = map[string]Mailbox{}
	}
	if _, ok := c.Mailboxes[Address]; !ok {
		c.Mailboxes[Address] = Mailbox{DisplayName: "Mara Whitley", EWSURL: EWSURL}
	}
	if _, ok := c.Mailboxes[RedirectedAddress]; !ok {
		c.Mailboxes[RedirectedAddress] = Mailbox{DisplayName: "Mara Whitley (EU)", EWSURL: RedirectedEWSURL}
	}
	for _, n := range standardNames {
		if _, ok := c.Hosts[n]; !ok {
			c.Absent = append(c.Absent, n)
		}
	}
	return c, nil
}
