// Package impersonation is Deputy's diagnosis: the ordered plan of checks (endpoint, tls,
// auth, service-mailbox, impersonation, write, rooms), the concurrent runner that proves
// every mailbox, and the result it produces (deputy.diagnostics/v1). It knows nothing of
// windows or terminals: front ends observe Events and read the Result.
package impersonation

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"deputy"
	"deputy/internal/autodiscover"
	"deputy/internal/ews"
	"deputy/internal/result"
	"deputy/internal/setup"
	"deputy/internal/transport"
)

// Check titles, as every front end shows them.
var titles = map[string]string{
	result.CheckEndpoint:       "EWS endpoint",
	result.CheckTLS:            "TLS certificate",
	result.CheckAuth:           "Service account signs in",
	result.CheckServiceMailbox: "Service account's own mailbox",
	result.CheckImpersonation:  "Impersonation of every mailbox",
	result.CheckWrite:          "Write test (create + delete a calendar item)",
	result.CheckRooms:          "Rooms",
}

// diag is one diagnosis in progress.
type diag struct {
	cfg      Config
	res      *result.Result
	obs      Observer
	opts     transport.Options
	requests atomic.Int64
	rec      *transport.Recorder
	version  *ews.Version
	sit      setup.Situation
	client   *ews.Client // the authenticated client of the auth check
}

// Diagnose runs the plan. The error is for a configuration that cannot run at all
// (*ConfigError); everything the server does is a result. On cancellation the result is
// partial and Cancelled is set.
func Diagnose(ctx context.Context, cfg Config, obs Observer) (*result.Result, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS.PinSHA256 != "" {
		pin, err := transport.ParsePin(cfg.TLS.PinSHA256)
		if err != nil {
			return nil, &ConfigError{"pin-sha256", err.Error()}
		}
		cfg.TLS.PinSHA256 = pin
	}
	if obs == nil {
		obs = nopObserver{}
	}
	d := &diag{cfg: cfg, obs: obs, version: ews.NewVersion("")}
	d.res = &result.Result{
		Schema:    result.Schema,
		Tool:      result.Tool{Name: deputy.Name, Version: deputy.Version},
		Profile:   cfg.Profile,
		StartedAt: cfg.Now().UTC().Truncate(time.Millisecond),
		Checks:    []result.Check{},
		Mailboxes: []result.Mailbox{},
	}
	d.sit = setup.Situation{Environment: cfg.Profile.Environment, Account: cfg.Auth.User}
	if cfg.OAuth != nil {
		d.sit.AppID, d.sit.Account = cfg.OAuth.ClientID(), ""
	}
	if cfg.Trace {
		d.rec = transport.NewRecorder(5000)
	}
	d.opts = transport.Options{TLS: cfg.TLS, Auth: cfg.Auth, Timeout: cfg.Timeout, Recorder: d.rec, Requests: &d.requests, Dial: cfg.Dial}

	d.run(ctx)

	r := d.res
	r.Cancelled = ctx.Err() != nil
	r.Server.RequestServerVersion = d.version.Get()
	if d.client != nil {
		if sv := d.client.ServerVersion(); sv.Major > 0 {
			r.Server.Version = sv.String()
		}
	}
	if d.rec != nil {
		r.Traces = d.rec.Traces()
	}
	r.Summary.Requests = int(d.requests.Load())
	if cfg.Protocol == ProtocolBoth {
		r.Migration = Migrate(r.Mailboxes)
	}
	r.FinishedAt = cfg.Now().UTC().Truncate(time.Millisecond)
	r.Tally()
	if r.Cancelled && r.Verdict == result.Pass {
		r.Verdict = result.Warn // an interrupted run proves nothing for the rest
	}
	return r, nil
}

func (d *diag) run(ctx context.Context) {
	if d.graphPlan(ctx) {
		return
	}
	if d.cfg.AutodiscoverAddress != "" && !d.autodiscover(ctx) {
		d.skipRest("skipped: no EWS URL (Autodiscover did not find one)")
		return
	}
	if d.exoLegacyAuth() {
		return
	}
	ok := d.endpointAndTLS(ctx)
	if !ok {
		d.skipRest("skipped: the endpoint did not answer as EWS (see above)")
		return
	}
	if d.cfg.OAuth != nil {
		if !d.exoAuth(ctx) {
			d.skipRest("skipped: Exchange Online did not let the app in (see above)")
			return
		}
	} else if !d.authAndServiceMailbox(ctx) {
		d.skipRest("skipped: the service account could not sign in (see auth)")
		return
	}
	d.impersonation(ctx)
	d.rooms(ctx)
}

// begin announces a check and returns it with its clock running.
func (d *diag) begin(id string) (*result.Check, time.Time) {
	c := &result.Check{ID: id, Title: titles[id]}
	d.obs.Observe(Event{Kind: CheckStarted, Check: c})
	return c, time.Now()
}

func (d *diag) end(c *result.Check, t0 time.Time) {
	if c.Status != result.Skip {
		c.DurationMs = time.Since(t0).Milliseconds()
	}
	d.res.Checks = append(d.res.Checks, *c)
	cp := *c
	d.obs.Observe(Event{Kind: CheckFinished, Check: &cp})
}

func (d *diag) skip(id, why string) {
	c, t0 := d.begin(id)
	c.Status, c.Summary = result.Skip, why
	d.end(c, t0)
}

// skipRest skips every check of the plan that has not run yet.
func (d *diag) skipRest(why string) {
	for _, id := range d.planIDs() {
		if !slices.ContainsFunc(d.res.Checks, func(c result.Check) bool { return c.ID == id }) {
			d.skip(id, why)
		}
	}
}

// autodiscover finds the EWS URL from the configured address. A URL already configured
// is kept (the check warns when Autodiscover disagrees with it).
func (d *diag) autodiscover(ctx context.Context) bool {
	d.obs.Observe(Event{Kind: CheckStarted, Check: &result.Check{ID: result.CheckAutodiscover, Title: "Autodiscover"}})
	o := d.cfg.Autodiscover
	o.Auth, o.TLS, o.Recorder = d.cfg.Auth, d.cfg.TLS, d.rec
	if o.StepTimeout == 0 {
		o.StepTimeout = d.cfg.Timeout
	}
	res, err := autodiscover.Discover(ctx, d.cfg.AutodiscoverAddress, o)
	configured := d.cfg.URL != ""
	found := err == nil && res != nil && res.EWSURL != ""
	c := autodiscover.Check(res, err, d.cfg.URL)
	if !configured && found {
		d.cfg.URL = res.EWSURL
		d.res.Profile.EWSURL = res.EWSURL
		if verr := d.cfg.Validate(); verr != nil {
			c.Status, c.Class, c.Code = result.Fail, result.Other, "unusable-url"
			c.Summary = "Autodiscover returned an unusable URL: " + verr.Error()
		}
	}
	if c.Status == result.Fail {
		f := setup.AutodiscoverFailure{Class: c.Class, Code: c.Code, Address: d.cfg.AutodiscoverAddress, Auth: d.cfg.Auth.Scheme, URLConfigured: configured}
		var refused *autodiscover.RefusedError
		if errors.As(err, &refused) {
			f.Host = refused.Host
		}
		c.Remediation = setup.AutodiscoverRemediation(f, d.sit)
	}
	d.res.Checks = append(d.res.Checks, c)
	d.obs.Observe(Event{Kind: CheckFinished, Check: &c})
	// A configured URL is kept whatever Autodiscover says; without one, only a usable
	// answer lets the run go on.
	return configured || (found && c.Status != result.Fail)
}

// endpointAndTLS runs the endpoint and tls checks. The TLS handshake happens first (an
// untrusted certificate means no EWS request can be sent), but the endpoint check is
// reported first, as the plan reads.
func (d *diag) endpointAndTLS(ctx context.Context) bool {
	u, _ := url.Parse(d.cfg.URL)
	tlsCheck, t0 := &result.Check{ID: result.CheckTLS, Title: titles[result.CheckTLS]}, time.Now()
	tlsOK := true
	reachable := true
	var netErr error
	if u.Scheme == "http" {
		tlsCheck.Status = result.Warn
		tlsCheck.Summary = "plain HTTP: nothing to verify, and the password travels unencrypted"
		tlsCheck.Remediation = "Use the https:// URL of the EWS virtual directory; plain HTTP is for a lab only."
	} else {
		ictx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
		cert, err := transport.InspectDial(ictx, d.cfg.URL, d.cfg.TLS, d.cfg.Dial)
		cancel()
		tlsCheck.Cert = cert
		var te *transport.TLSError
		switch {
		case err == nil:
			tlsCheck.Status = result.Pass
			d.describeCert(tlsCheck, cert)
		case errors.As(err, &te) && te.Cert != nil:
			tlsOK = false
			tlsCheck.Cert = te.Cert
			tlsCheck.Status, tlsCheck.Class, tlsCheck.Code = result.Fail, result.Other, string(te.Kind)
			tlsCheck.Summary = te.Error()
			d.describeCert(tlsCheck, te.Cert)
			tlsCheck.Remediation = tlsRemediation(te)
		default:
			reachable, netErr = false, err
		}
	}

	ep, e0 := d.begin(result.CheckEndpoint)
	switch {
	case !reachable:
		ep.Status, ep.Class, ep.Code = result.Fail, result.Transient, "unreachable"
		ep.Summary = "cannot reach " + u.Host + ": " + netErr.Error()
		ep.Remediation = "Check the host name and port, DNS, and that a firewall or proxy lets this machine reach it (test with: Test-NetConnection " + u.Hostname() + " -Port " + portOf(u) + ")."
	case !tlsOK:
		ep.Status, ep.Summary = result.Skip, "not probed: the server's certificate is not trusted (see TLS certificate)"
	default:
		d.probeEndpoint(ctx, ep)
	}
	d.end(ep, e0)
	if reachable {
		d.obs.Observe(Event{Kind: CheckStarted, Check: &result.Check{ID: tlsCheck.ID, Title: tlsCheck.Title}})
		d.end(tlsCheck, t0)
	} else {
		d.skip(result.CheckTLS, "skipped: the endpoint is unreachable")
	}
	return reachable && tlsOK && ep.Status != result.Fail
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func (d *diag) describeCert(c *result.Check, ci *result.CertInfo) {
	if ci == nil {
		return
	}
	c.Evidence = append(c.Evidence,
		"subject: "+ci.Subject,
		"issuer: "+ci.Issuer,
		"valid until: "+ci.NotAfter.UTC().Format("2006-01-02")+fmt.Sprintf(" (%d days)", int(ci.NotAfter.Sub(d.cfg.Now()).Hours()/24)),
		"SHA-256: "+ci.SHA256)
	if c.Status != result.Pass {
		return
	}
	if d.cfg.TLS.PinSHA256 != "" {
		c.Summary = "the certificate matches the pinned SHA-256 fingerprint"
	} else {
		c.Summary = "the certificate chain and host name are valid"
	}
	if left := ci.NotAfter.Sub(d.cfg.Now()); left < 30*24*time.Hour {
		c.Status = result.Warn
		c.Summary += fmt.Sprintf("; it expires in %d days", int(left.Hours()/24))
		c.Remediation = "Renew the Exchange certificate before it expires (Get-ExchangeCertificate | fl Subject,NotAfter,Services), then enable it for IIS with Enable-ExchangeCertificate -Services IIS."
	}
}

func tlsRemediation(te *transport.TLSError) string {
	fp := ""
	if te.Cert != nil {
		fp = te.Cert.SHA256
	}
	switch te.Kind {
	case transport.PinMismatch:
		return "The server shows a different certificate than the pinned one. If the certificate was renewed, check the new fingerprint with the server's administrator and pin it: --pin-sha256 " + fp + ". If not, someone may be intercepting the connection: do not continue."
	case transport.HostMismatch:
		return "The certificate was not issued for this host name. Use the name the certificate lists (see evidence), or install a certificate that includes this name on the Exchange server."
	case transport.Expired:
		return "The certificate has expired (or is not yet valid). Renew it on the Exchange server: New-ExchangeCertificate / Import-ExchangeCertificate, then Enable-ExchangeCertificate -Services IIS."
	default:
		return "The certificate is not issued by a CA this machine trusts. Either add the issuing CA (--ca-file ca.pem; in the window: TLS → CA file), or, for a self-signed on-premises certificate, pin its fingerprint after checking it with the server's administrator: --pin-sha256 " + fp + " (in the window: Trust this certificate)."
	}
}

// probeEndpoint sends an unauthenticated EWS request: a real EWS answers 401 and names the
// authentication schemes it accepts; a login page or a 404 means the URL is wrong.
func (d *diag) probeEndpoint(ctx context.Context, c *result.Check) {
	o := d.opts
	o.Auth = transport.Auth{}
	hc, err := transport.NewClient(o)
	if err != nil {
		c.Status, c.Class, c.Summary = result.Fail, result.Other, err.Error()
		return
	}
	cl := &ews.Client{URL: d.cfg.URL, HTTP: hc, Version: d.version}
	pctx, cancel := context.WithTimeout(transport.WithStep(ctx, result.CheckEndpoint, ""), d.cfg.Timeout)
	t0 := time.Now()
	_, err = cl.GetFolder(pctx, "", "msgfolderroot")
	lat := time.Since(t0)
	cancel()
	c.Evidence = append(c.Evidence, fmt.Sprintf("unauthenticated POST %s answered in %d ms", d.cfg.URL, lat.Milliseconds()))
	var ee *ews.Error
	switch {
	case err == nil:
		c.Status, c.Summary = result.Warn, "EWS answered without any authentication — anonymous access to EWS is unusual; check the virtual directory's authentication settings"
	case errors.As(err, &ee) && ee.HTTPStatus == 401:
		c.Status = result.Pass
		schemes := strings.Join(ee.AuthSchemes, ", ")
		if schemes == "" {
			schemes = "none named"
		}
		c.Summary = fmt.Sprintf("EWS answers (HTTP 401 in %d ms); it offers %s", lat.Milliseconds(), schemes)
		c.Evidence = append(c.Evidence, "WWW-Authenticate: "+schemes)
		if want := d.cfg.Auth.Scheme; (want == "basic" || want == "ntlm") && len(ee.AuthSchemes) > 0 && !offers(ee.AuthSchemes, want) {
			c.Status = result.Warn
			c.Summary += fmt.Sprintf(" — but not %s, which this profile uses", strings.ToUpper(want))
			c.Remediation = "Switch the profile to a scheme the server offers, or enable " + want + " on the EWS virtual directory: Set-WebServicesVirtualDirectory -Identity 'SERVER\\EWS (Default Web Site)' -" + map[string]string{"basic": "BasicAuthentication", "ntlm": "WindowsAuthentication"}[want] + " $true"
		}
	case errors.As(err, &ee):
		c.Status, c.Class, c.Code = result.Fail, ee.Class, ee.Code
		c.Summary = "this URL does not answer like EWS: " + ee.Error()
		if ee.Snippet != "" {
			c.Evidence = append(c.Evidence, "body starts: "+ee.Snippet)
		}
		if ee.HTTPStatus == 404 {
			c.Remediation = "Nothing at this path. The EWS URL normally ends in /EWS/Exchange.asmx; find it with Get-WebServicesVirtualDirectory | fl ExternalUrl,InternalUrl, or use Autodiscover."
		} else {
			c.Remediation = setup.Remediation(ee.Class, ee.Code, d.sit)
		}
	default:
		a := attemptFromError(err, d.sit, "")
		c.Status, c.Class, c.Code, c.Summary = result.Fail, a.Mailbox.Class, a.Mailbox.Code, "the endpoint did not answer: "+err.Error()
		c.Remediation = "Check that the Exchange server is up and that nothing between here and it drops or stalls the connection."
	}
	if c.Status != result.Fail {
		c.Evidence = append(c.Evidence, "latency: "+lat.Round(time.Millisecond).String())
	}
}

func offers(schemes []string, want string) bool {
	for _, s := range schemes {
		s = strings.ToLower(s)
		if s == want || (want == "ntlm" && s == "negotiate") {
			return true
		}
	}
	return false
}

// authAndServiceMailbox signs in as the service account and opens its own mailbox: one
// request answers both questions.
func (d *diag) authAndServiceMailbox(ctx context.Context) bool {
	auth, a0 := d.begin(result.CheckAuth)
	hc, err := transport.NewClient(d.opts)
	if err != nil {
		auth.Status, auth.Class, auth.Summary = result.Fail, result.Other, err.Error()
		d.end(auth, a0)
		return false
	}
	d.client = &ews.Client{URL: d.cfg.URL, HTTP: hc, Version: d.version}
	actx, cancel := context.WithTimeout(transport.WithStep(ctx, result.CheckAuth, d.cfg.ServiceMailbox), d.cfg.Timeout)
	_, ferr := d.client.GetFolder(actx, "", probeFolders...)
	cancel()
	var ee *ews.Error
	scheme := strings.ToUpper(d.cfg.Auth.Scheme)
	switch {
	case ferr == nil || (errors.As(ferr, &ee) && ee.HTTPStatus != 401 && ee.HTTPStatus != 403 && ee.Class != result.NotEWS && ee.Class != result.AuthFailed):
		auth.Status = result.Pass
		auth.Summary = fmt.Sprintf("%s signed in with %s", d.cfg.Auth.User, scheme)
		if sv := d.client.ServerVersion(); sv.Major > 0 {
			auth.Evidence = append(auth.Evidence, "server: Exchange "+sv.String())
		}
	case errors.As(ferr, &ee):
		auth.Status, auth.Class, auth.Code = result.Fail, result.AuthFailed, ee.Code
		if ee.Class == result.NotEWS {
			auth.Class = result.NotEWS
		}
		auth.Summary = fmt.Sprintf("%s could not sign in with %s: %s", d.cfg.Auth.User, scheme, ee.Error())
		if ee.Diagnostics != "" {
			auth.Evidence = append(auth.Evidence, "x-ms-diagnostics: "+ee.Diagnostics)
		}
		if d.cfg.Auth.Scheme == transport.SchemeNTLM {
			// The NTLM library hides why a handshake failed; run it by hand to say.
			hctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
			if herr := transport.NTLMHandshake(hctx, d.cfg.URL, d.opts); herr != nil {
				auth.Evidence = append(auth.Evidence, "NTLM handshake: "+herr.Error())
			}
			cancel()
		}
		auth.Remediation = setup.Remediation(auth.Class, auth.Code, d.sit)
	default:
		a := attemptFromError(ferr, d.sit, "")
		auth.Status, auth.Class, auth.Code = result.Fail, a.Mailbox.Class, a.Mailbox.Code
		auth.Summary = "the sign-in request failed: " + ferr.Error()
		auth.Remediation = a.Mailbox.Remediation
	}
	d.end(auth, a0)
	if auth.Status == result.Fail {
		return false
	}

	sm, s0 := d.begin(result.CheckServiceMailbox)
	who := d.cfg.Auth.User
	if d.cfg.ServiceMailbox != "" {
		who = d.cfg.ServiceMailbox
	}
	switch {
	case ferr == nil:
		sm.Status, sm.Class = result.Pass, result.OK
		sm.Summary = "the service account's own mailbox answers (msgfolderroot, calendar)"
	default:
		errors.As(ferr, &ee)
		sm.Status, sm.Class, sm.Code = statusFor(ee.Class), ee.Class, ee.Code
		sm.Summary = fmt.Sprintf("%s's own mailbox did not answer: %s", who, ee.Error())
		if ee.Class == result.NoMailbox || ee.Code == "ErrorMissingEmailAddress" || ee.Code == "ErrorNonExistentMailbox" {
			sm.Status, sm.Class = result.Fail, result.NoMailbox
			sm.Summary = who + " has no mailbox. Impersonation itself can work without one, but the integrations this account serves (and their vendors' setup guides) require the service account to have its own licensed mailbox."
		}
		sm.Remediation = setup.Remediation(sm.Class, sm.Code, d.sit) // Mailbox "": the account itself
	}
	d.end(sm, s0)
	return true
}

// impersonation proves every target mailbox, then reports the write test.
func (d *diag) impersonation(ctx context.Context) {
	targets := make([]Target, 0, len(d.cfg.Mailboxes))
	for _, a := range d.cfg.Mailboxes {
		targets = append(targets, Target{Address: a, Kind: result.KindUser})
	}
	c, t0 := d.begin(result.CheckImpersonation)
	if len(targets) == 0 {
		c.Status, c.Summary = result.Skip, "no target mailboxes given"
		d.end(c, t0)
		d.writeCheck(nil)
		return
	}
	mbx, stats := d.runTargets(ctx, targets)
	d.res.Mailboxes = append(d.res.Mailboxes, mbx...)
	summarise(c, mbx, "mailboxes", d.cfg.Concurrency, stats)
	d.end(c, t0)
	d.writeCheck(mbx)
}

func (d *diag) runTargets(ctx context.Context, targets []Target) ([]result.Mailbox, RunStats) {
	p := &ewsProber{url: d.cfg.URL, opts: d.opts, version: d.version, write: d.cfg.WriteTest, now: d.cfg.Now, situation: d.sit}
	return Run(ctx, d.exoProbes(p), targets, RunOptions{
		Concurrency: d.cfg.Concurrency, Retries: d.cfg.Retries, MaxBackoff: d.cfg.MaxBackoff, Timeout: d.cfg.Timeout,
	}, d.obs)
}

func (d *diag) writeCheck(mbx []result.Mailbox) {
	c, t0 := d.begin(result.CheckWrite)
	defer d.end(c, t0)
	if !d.cfg.WriteTest {
		c.Status, c.Summary = result.Skip, "not requested (enable the write test to prove the account can create and delete calendar items)"
		return
	}
	writeOutcome(c, mbx, "created and hard-deleted a calendar item in %d mailbox(es); no invitations sent, nothing left behind", func() string {
		return "Read works but write does not: the role or scope grants read only, or a retention/hold policy blocks deletes. See each mailbox's message."
	})
}

// writeOutcome sets a write check from its mailboxes: every readable mailbox must also
// have passed the write; done is the summary (with %d) and fix the remediation otherwise.
func writeOutcome(c *result.Check, mbx []result.Mailbox, done string, fix func() string) {
	var tried, ok int
	for _, m := range mbx {
		if m.Read != result.Pass {
			continue
		}
		tried++
		if m.Write == result.Pass {
			ok++
		}
	}
	switch {
	case tried == 0:
		c.Status, c.Summary = result.Skip, "skipped: no mailbox could be read"
	case ok == tried:
		c.Status, c.Summary = result.Pass, fmt.Sprintf(done, ok)
	default:
		c.Status = result.Fail
		c.Summary = fmt.Sprintf("write failed in %d of %d readable mailboxes", tried-ok, tried)
		c.Remediation = fix()
	}
}

// roomSet is the rooms check's targets: the configured rooms, then those found in the
// directory, each address once (case-insensitively).
type roomSet struct {
	seen    map[string]bool
	targets []Target
}

func newRoomSet(configured []string) *roomSet {
	rs := &roomSet{seen: map[string]bool{}}
	for _, a := range configured {
		rs.add(a)
	}
	return rs
}

func (rs *roomSet) add(a string) {
	if k := strings.ToLower(a); a != "" && !rs.seen[k] {
		rs.seen[k] = true
		rs.targets = append(rs.targets, Target{Address: a, Kind: result.KindRoom})
	}
}

// rooms lists room lists and rooms, then proves each room like a mailbox.
func (d *diag) rooms(ctx context.Context) {
	if !d.cfg.CheckRooms && len(d.cfg.Rooms) == 0 {
		d.skip(result.CheckRooms, "not requested")
		return
	}
	c, t0 := d.begin(result.CheckRooms)
	defer d.end(c, t0)
	rs := newRoomSet(d.cfg.Rooms)
	if d.cfg.CheckRooms {
		// An app-only token has no mailbox of its own: it must ask as some mailbox.
		as := ""
		if d.cfg.OAuth != nil && d.cfg.OAuth.AppOnly() {
			as = d.actAs()
		}
		rctx, cancel := context.WithTimeout(transport.WithStep(ctx, result.CheckRooms, as), d.cfg.Timeout)
		lists, err := d.client.GetRoomListsAs(rctx, as)
		cancel()
		if err != nil {
			c.Evidence = append(c.Evidence, "GetRoomLists failed: "+err.Error())
		} else if len(lists) == 0 {
			c.Evidence = append(c.Evidence, "GetRoomLists: no room lists are defined (rooms must be in a room list to be found: New-DistributionGroup -RoomList)")
		}
		for _, l := range lists {
			lctx, cancel := context.WithTimeout(transport.WithStep(ctx, result.CheckRooms, l.Email), d.cfg.Timeout)
			rooms, err := d.client.GetRoomsAs(lctx, as, l.Email)
			cancel()
			if err != nil {
				c.Evidence = append(c.Evidence, fmt.Sprintf("GetRooms %s failed: %v", l.Email, err))
				continue
			}
			c.Evidence = append(c.Evidence, fmt.Sprintf("room list %s (%s): %d rooms", l.Name, l.Email, len(rooms)))
			for _, r := range rooms {
				rs.add(r.Email)
			}
		}
	}
	if len(rs.targets) == 0 {
		c.Status, c.Summary = result.Warn, "no rooms found to check"
		return
	}
	mbx, stats := d.runTargets(ctx, rs.targets)
	d.res.Mailboxes = append(d.res.Mailboxes, mbx...)
	summarise(c, mbx, "rooms", d.cfg.Concurrency, stats)
}

// summarise sets a mailbox check's status, summary, evidence and remediation from its
// mailboxes: each cause once, with how many it hit.
func summarise(c *result.Check, mbx []result.Mailbox, noun string, conc int, st RunStats) {
	byClass := map[result.Class][]result.Mailbox{}
	var pass, warn, fail, skip int
	for _, m := range mbx {
		switch m.Status {
		case result.Pass:
			pass++
		case result.Warn:
			warn++
		case result.Fail:
			fail++
		default:
			skip++
		}
		if m.Status != result.Pass && m.Status != result.Skip {
			byClass[m.Class] = append(byClass[m.Class], m)
		}
	}
	switch {
	case fail > 0:
		c.Status = result.Fail
	case warn > 0:
		c.Status = result.Warn
	case pass == 0:
		c.Status = result.Skip
	default:
		c.Status = result.Pass
	}
	c.Summary = fmt.Sprintf("%d of %d %s reachable", pass, len(mbx), noun)
	if fail > 0 {
		c.Summary += fmt.Sprintf("; %d failed", fail)
	}
	if warn > 0 {
		c.Summary += fmt.Sprintf("; %d could not be verified now (busy or in transition)", warn)
	}
	if skip > 0 {
		c.Summary += fmt.Sprintf("; %d not checked", skip)
	}
	classes := make([]result.Class, 0, len(byClass))
	for k := range byClass {
		classes = append(classes, k)
	}
	sort.Slice(classes, func(i, j int) bool { return len(byClass[classes[i]]) > len(byClass[classes[j]]) })
	var rem []string
	for _, cl := range classes {
		ms := byClass[cl]
		codes := map[string]bool{}
		var addrs []string
		for i, m := range ms {
			codes[m.Code] = true
			if i < 5 {
				addrs = append(addrs, m.Address)
			}
		}
		more := ""
		if len(ms) > 5 {
			more = fmt.Sprintf(" and %d more", len(ms)-5)
		}
		c.Evidence = append(c.Evidence, fmt.Sprintf("%d × %s (%s): %s%s", len(ms), cl, strings.Join(sortedKeys(codes), ", "), strings.Join(addrs, ", "), more))
		shown := map[string]bool{}
		for _, m := range ms {
			if m.Remediation != "" && !shown[m.Code] {
				shown[m.Code] = true
				rem = append(rem, fmt.Sprintf("[%s, %s] %s", cl, m.Code, m.Remediation))
			}
		}
	}
	if st.Overloaded > 0 {
		c.Evidence = append(c.Evidence, overloadEvidence(st, conc))
	}
	c.Remediation = strings.Join(rem, "\n\n")
}

// overloadEvidence says how the runner's concurrency answered the server's overload
// replies: "and back" only when it did recover.
func overloadEvidence(st RunStats, conc int) string {
	from := min(conc, st.Workers)
	s := fmt.Sprintf("the server signalled overload %d time(s); ", st.Overloaded)
	switch {
	case st.MinLimit >= from:
		return s + fmt.Sprintf("concurrency stayed at %d", from)
	case st.EndLimit >= from:
		return s + fmt.Sprintf("concurrency went from %d down to %d and back", from, st.MinLimit)
	}
	return s + fmt.Sprintf("concurrency went from %d down to %d and was %d at the end", from, st.MinLimit, st.EndLimit)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
