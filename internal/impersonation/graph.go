package impersonation

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"deputy/internal/graph"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// Protocols a diagnosis proves (Config.Protocol).
const (
	ProtocolEWS   = result.EWS
	ProtocolGraph = result.Graph
	ProtocolBoth  = result.Both
)

// Check ids of the Graph checks when a run proves both protocols (see result).
const (
	CheckGraphToken         = result.CheckGraphToken
	CheckGraphImpersonation = result.CheckGraphImpersonation
	CheckGraphWrite         = result.CheckGraphWrite
	CheckGraphRooms         = result.CheckGraphRooms
)

var graphTitles = map[string]string{
	result.CheckToken:         "Microsoft Graph token (app-only, Calendars permission)",
	result.CheckImpersonation: "Microsoft Graph access to every mailbox (calendar read)",
	result.CheckWrite:         "Microsoft Graph write test (create + delete an event)",
	result.CheckRooms:         "Microsoft Graph rooms (places directory)",
}

// graphRun is the Graph half of a diagnosis.
type graphRun struct {
	d      *diag
	prefix string // "graph-" when EWS runs too
	sit    graph.Situation
	opts   transport.Options
}

func (g *graphRun) id(base string) string {
	if g.prefix == "" {
		return base
	}
	return map[string]string{result.CheckToken: CheckGraphToken, result.CheckImpersonation: CheckGraphImpersonation,
		result.CheckWrite: CheckGraphWrite, result.CheckRooms: CheckGraphRooms}[base]
}

func (g *graphRun) begin(base string) (*result.Check, time.Time) {
	c := &result.Check{ID: g.id(base), Title: graphTitles[base]}
	g.d.obs.Observe(Event{Kind: CheckStarted, Check: &result.Check{ID: c.ID, Title: c.Title}})
	return c, time.Now()
}

func (g *graphRun) skip(base, why string) {
	c, t0 := g.begin(base)
	c.Status, c.Summary = result.Skip, why
	g.d.end(c, t0)
}

// runGraph proves every mailbox (and room) through Microsoft Graph: the token, then the
// calendars in JSON batches, the write test, the rooms.
func (d *diag) runGraph(ctx context.Context, prefix string) {
	g := &graphRun{d: d, prefix: prefix, sit: graph.Situation{AppID: d.cfg.Profile.ClientID, Tenant: d.cfg.Profile.TenantID}}
	g.opts = d.opts
	g.opts.Auth = transport.Auth{Scheme: transport.SchemeBearer, Token: d.cfg.GraphToken}
	if publicGraph(d.cfg.GraphURL) {
		g.opts.TLS.PinSHA256 = "" // Microsoft's Graph has a public CA certificate; a pin is the Exchange server's
	}
	tc, ok := g.token(ctx)
	if !ok {
		for _, id := range []string{result.CheckImpersonation, result.CheckWrite, result.CheckRooms} {
			g.skip(id, "skipped: no usable Microsoft Graph token (see the token check)")
		}
		return
	}
	g.sit.RBACOnly, g.sit.AppName = tc.RBACOnly, tc.AppName
	targets := make([]Target, 0, len(d.cfg.Mailboxes))
	for _, a := range d.cfg.Mailboxes {
		targets = append(targets, Target{Address: a, Kind: result.KindUser})
	}
	c, t0 := g.begin(result.CheckImpersonation)
	var mbx []result.Mailbox
	if len(targets) == 0 {
		c.Status, c.Summary = result.Skip, "no target mailboxes given"
	} else {
		var stats RunStats
		mbx, stats = g.run(ctx, targets)
		d.res.Mailboxes = append(d.res.Mailboxes, mbx...)
		summarise(c, mbx, "mailboxes", d.cfg.Concurrency, stats)
		g.explain(c, mbx, tc)
	}
	d.end(c, t0)
	g.writeCheck(mbx)
	g.rooms(ctx, tc)
}

func (g *graphRun) run(ctx context.Context, targets []Target) ([]result.Mailbox, RunStats) {
	d := g.d
	p := &graphProber{base: d.cfg.GraphURL, opts: g.opts, write: d.cfg.WriteTest, now: d.cfg.Now, sit: g.sit}
	return Run(ctx, p, targets, RunOptions{
		Concurrency: d.cfg.Concurrency, Retries: d.cfg.Retries, MaxBackoff: d.cfg.MaxBackoff, Timeout: d.cfg.Timeout,
	}, d.obs)
}

// token gets the Graph token and judges it.
func (g *graphRun) token(ctx context.Context) (graph.TokenCheck, bool) {
	d := g.d
	c, t0 := g.begin(result.CheckToken)
	defer func() { d.end(c, t0) }()
	tctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	tok, err := d.cfg.GraphToken(tctx)
	cancel()
	if err != nil {
		c.Status, c.Class, c.Code = result.Fail, result.AuthFailed, "token"
		c.Summary = "could not get a Microsoft Graph token (scope " + graph.Scope + "): " + err.Error()
		c.Remediation = "Check the tenant, the client ID and the secret or certificate of the app registration; the Entra message above names the cause. The Graph proof needs an app-only profile (oauth-app-secret or oauth-app-cert)."
		return graph.TokenCheck{}, false
	}
	if d.rec != nil {
		d.rec.Secret(tok)
	}
	tc := graph.CheckToken(tok, d.cfg.CheckRooms, g.sit, d.cfg.Now())
	c.Status, c.Class, c.Code, c.Summary, c.Evidence, c.Remediation = tc.Status, tc.Class, tc.Code, tc.Summary, tc.Evidence, tc.Remediation
	if c.Class == result.OK {
		c.Class = ""
	}
	return tc, tc.Status != result.Fail
}

// explain adds what only the whole set shows: with RBAC for Applications as the only
// grant, no mailbox reachable means no assignment at all rather than a narrow scope.
func (g *graphRun) explain(c *result.Check, mbx []result.Mailbox, tc graph.TokenCheck) {
	var ok, denied int
	for _, m := range mbx {
		switch m.Class {
		case result.OK:
			ok++
		case result.ImpersonationDenied, result.AccessDenied:
			denied++
		}
	}
	switch {
	case tc.RBACOnly && ok == 0 && denied > 0:
		c.Evidence = append(c.Evidence, "no mailbox is reachable and the token holds no Calendars permission: the app most likely has no RBAC for Applications assignment at all (Get-ManagementRoleAssignment -RoleAssignee "+quoteOr(g.sit.AppID)+")")
	case tc.RBACOnly:
		c.Evidence = append(c.Evidence, "access comes from RBAC for Applications only (no Entra consent): refused mailboxes are outside its management scope")
	case tc.Permission > graph.PermNone:
		c.Evidence = append(c.Evidence, fmt.Sprintf("the token holds %s consented tenant-wide in Entra ID: every mailbox is reachable unless an Application Access Policy restricts it; RBAC for Applications scopes cannot narrow it", tc.Permission))
	}
}

// publicGraph reports Microsoft Graph of a Microsoft cloud (not a simulator or proxy).
func publicGraph(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch strings.ToLower(p.Hostname()) {
	case "graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn":
		return true
	}
	return false
}

func quoteOr(appID string) string {
	if appID == "" {
		return "'<application (client) ID>'"
	}
	return "'" + strings.ReplaceAll(appID, "'", "''") + "'"
}

func (g *graphRun) writeCheck(mbx []result.Mailbox) {
	c, t0 := g.begin(result.CheckWrite)
	defer g.d.end(c, t0)
	if !g.d.cfg.WriteTest {
		c.Status, c.Summary = result.Skip, "not requested (enable the write test to prove the app can create and delete events)"
		return
	}
	writeOutcome(c, mbx, "created and deleted an event (no attendees, no reminder, shown as free) in %d mailbox(es); nothing sent, nothing left behind", func() string {
		s := g.sit
		s.Write = true
		return graph.Remediation(result.AccessDenied, graph.CodeAccessDenied, s)
	})
}

// rooms lists the places directory (Place.Read.All) and proves every room's calendar.
func (g *graphRun) rooms(ctx context.Context, tc graph.TokenCheck) {
	d := g.d
	if !d.cfg.CheckRooms && len(d.cfg.Rooms) == 0 {
		g.skip(result.CheckRooms, "not requested")
		return
	}
	c, t0 := g.begin(result.CheckRooms)
	defer d.end(c, t0)
	rs := newRoomSet(d.cfg.Rooms)
	// With both protocols, the rooms EWS found are proved through Graph as well, so the
	// migration view compares the same set.
	for _, m := range d.res.Mailboxes {
		if m.Kind == result.KindRoom && m.Protocol == result.EWS {
			rs.add(m.Address)
		}
	}
	if d.cfg.CheckRooms {
		hc, err := transport.NewClient(g.opts)
		if err == nil {
			cl := &graph.Client{Base: d.cfg.GraphURL, HTTP: hc}
			rctx, cancel := context.WithTimeout(transport.WithStep(ctx, g.id(result.CheckRooms), ""), d.cfg.Timeout)
			var rooms []graph.Room
			rooms, err = cl.Rooms(rctx)
			cancel()
			c.Evidence = append(c.Evidence, fmt.Sprintf("places directory: %d rooms (rooms hidden from the address list are not listed)", len(rooms)))
			for _, r := range rooms {
				rs.add(r.EmailAddress)
			}
		}
		if err != nil {
			c.Evidence = append(c.Evidence, "listing rooms failed: "+err.Error())
			if !strings.Contains(strings.Join(tc.Evidence, " "), graph.RolePlaceReadAll) {
				c.Remediation = "Listing rooms needs the Graph application permission " + graph.RolePlaceReadAll + ": " + graph.PortalPath(g.sit.AppName, graph.RolePlaceReadAll) + " (consent link: " + graph.AdminConsentURL(g.sit.Tenant, g.sit.AppID) + ")."
			}
		}
	}
	if len(rs.targets) == 0 {
		c.Status, c.Summary = result.Warn, "no rooms found to check"
		return
	}
	mbx, stats := g.run(ctx, rs.targets)
	d.res.Mailboxes = append(d.res.Mailboxes, mbx...)
	rem := c.Remediation
	summarise(c, mbx, "rooms", d.cfg.Concurrency, stats)
	if rem != "" {
		c.Remediation = strings.TrimSpace(rem + "\n\n" + c.Remediation)
		if c.Status == result.Pass {
			c.Status = result.Warn
		}
	}
}

// ewsPass marks the context of the EWS half of a "both" run.
type ewsPass struct{}

// graphPlan runs the Graph plan when the protocol asks for it and reports whether it
// took over the run: Graph alone, or the EWS plan (run with the context marked) followed
// by the Graph plan, whatever became of EWS.
func (d *diag) graphPlan(ctx context.Context) bool {
	switch d.cfg.Protocol {
	case ProtocolGraph:
		d.runGraph(ctx, "")
		return true
	case ProtocolBoth:
		if ctx.Value(ewsPass{}) != nil {
			return false
		}
		d.run(context.WithValue(ctx, ewsPass{}, true))
		d.runGraph(ctx, "graph-")
		return true
	}
	return false
}

// graphDefaults completes the Graph part of a configuration.
func (c *Config) graphDefaults() {
	if c.Protocol == "" {
		c.Protocol = ProtocolEWS
	}
	c.Protocol = strings.ToLower(strings.TrimSpace(c.Protocol))
	if c.Protocol != ProtocolEWS {
		c.Profile.Protocol = c.Protocol
		if c.Protocol == ProtocolGraph {
			c.Profile.Environment = result.EXO // Graph reaches Exchange Online mailboxes only
		}
		if c.GraphURL == "" {
			c.GraphURL = graph.DefaultBase
		}
	}
}

// validateGraph checks the protocol and, for Graph, its endpoint and token source. A
// Graph-only run needs nothing of EWS.
func (c *Config) validateGraph() error {
	switch c.Protocol {
	case "", ProtocolEWS:
		return nil
	case ProtocolGraph, ProtocolBoth:
	default:
		return &ConfigError{"protocol", fmt.Sprintf("unknown protocol %q (ews, graph or both)", c.Protocol)}
	}
	if c.GraphToken == nil {
		return &ConfigError{"auth", "the Graph protocol needs an app-only OAuth profile (oauth-app-secret or oauth-app-cert): Graph has no Basic, NTLM or impersonating service account"}
	}
	u, err := url.Parse(c.GraphURL)
	switch {
	case err != nil || u.Host == "":
		return &ConfigError{"graph-url", fmt.Sprintf("%q is not a valid URL (e.g. https://graph.microsoft.com)", c.GraphURL)}
	case u.Scheme == "http" && !c.TLS.AllowHTTP, u.Scheme != "https" && u.Scheme != "http":
		return &ConfigError{"graph-url", "the Graph URL must start with https://"}
	}
	if c.Protocol == ProtocolGraph {
		if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
			return &ConfigError{"concurrency", fmt.Sprintf("must be between 1 and %d, got %d", MaxConcurrency, c.Concurrency)}
		}
		if c.MaxBackoff < 0 || c.Timeout < 0 {
			return &ConfigError{"timeout", "durations must be positive"}
		}
	}
	return nil
}
