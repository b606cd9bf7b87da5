package autodiscover

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"deputy/internal/result"
	"deputy/internal/transport"
)

// MaxHops is the most redirects (address or URL) one run follows, as in the EWS Managed
// API and exchangelib.
const MaxHops = 10

// DefaultStepTimeout bounds each step when Options.StepTimeout is zero.
const DefaultStepTimeout = 10 * time.Second

// DefaultV2Host is Exchange Online's Autodiscover v2 host.
const DefaultV2Host = "outlook.office365.com"

// Errors. Discover returns the Result (with every step) together with any of them.
var (
	// ErrNotFound: every step failed.
	ErrNotFound = errors.New("autodiscover found no EWS URL")
	// ErrRedirectLoop: a redirect led back to an address or URL already in the chain.
	ErrRedirectLoop = errors.New("autodiscover redirect loop")
	// ErrTooManyRedirects: more than MaxHops redirects.
	ErrTooManyRedirects = fmt.Errorf("autodiscover followed more than %d redirects", MaxHops)
	// ErrInvalidInput: the address or an option is malformed (nothing was sent).
	ErrInvalidInput = errors.New("invalid autodiscover input")
)

// RefusedError reports that the only way forward was to send credentials to a host outside
// the address's domain, and the user did not confirm it.
type RefusedError struct {
	Host   string // the host credentials would have gone to
	Domain string // the address's domain
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("autodiscover wanted to send your credentials to %s, which is outside %s, and that was not allowed", e.Host, e.Domain)
}

// Options configure one Discover run. The zero value (plus credentials) is the normal
// production set-up.
type Options struct {
	Auth transport.Auth
	TLS  transport.TLSOptions
	// Confirm is asked, at most once per host, before credentials go to a host that is
	// neither the address's domain nor a subdomain of it. nil refuses (fail closed). It
	// runs on Discover's goroutine and may block while a dialog is open (no step deadline
	// runs meanwhile); it should answer false once ctx is done.
	Confirm func(ctx context.Context, host string) bool
	// Resolve holds curl-style HOST:PORT:ADDR entries; they apply to every connection
	// (the http:// step too): the port is kept, only the address changes.
	Resolve []string
	// DNSServer (ADDR or ADDR:PORT) answers the SRV lookup instead of the system resolver.
	DNSServer string
	// StepTimeout bounds each step (DefaultStepTimeout when zero).
	StepTimeout time.Duration
	// HTTPSPort and HTTPPort (default 443 and 80) are used when building candidate URLs
	// and to tell https SRV records apart — for labs and tests whose servers cannot
	// listen on the standard ports.
	HTTPSPort, HTTPPort int
	// V2Host is the Autodiscover v2 JSON host (DefaultV2Host when empty); NoV2 skips that
	// step (an on-premises-only lab that must not ask Microsoft).
	V2Host string
	NoV2   bool
	// Recorder, if set, receives redacted traces of every request.
	Recorder *transport.Recorder
	// OnStep, if set, sees each step as it completes (a window showing progress). It is
	// called on Discover's goroutine: a window must hand the update to its UI thread.
	OnStep func(Step)
}

// Step outcomes.
const (
	OutcomeFound        = "found"
	OutcomeRedirectAddr = "redirect-addr"
	OutcomeRedirectURL  = "redirect-url"
	OutcomeHTTPRedirect = "http-redirect"
	OutcomeSkipped      = "skipped"
	OutcomeFailed       = "failed"
	OutcomeRefused      = "refused"
	OutcomeNotFound     = "not-found"
)

// Step is one traced attempt.
type Step struct {
	URL      string        `json:"url"`
	Method   string        `json:"method"` // POST (POX/SOAP), GET (http, v2), SRV
	Protocol Protocol      `json:"protocol,omitempty"`
	Address  string        `json:"address"` // the address this step asked about
	Status   int           `json:"status,omitempty"`
	Duration time.Duration `json:"-"` // as durationMs in JSON
	Outcome  string        `json:"outcome"`
	Detail   string        `json:"detail,omitempty"`
}

// MarshalJSON writes the duration in milliseconds, which is what a reader wants.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		DurationMs int64 `json:"durationMs"`
	}{plain(s), s.Duration.Milliseconds()})
}

// Result is what Discover found and how.
type Result struct {
	EWSURL      string `json:"ewsUrl,omitempty"`
	Address     string `json:"address"` // final address after redirectAddr
	DisplayName string `json:"displayName,omitempty"`
	CasVersion  string `json:"casVersion,omitempty"`
	Via         string `json:"via,omitempty"` // e.g. "SOAP https://autodiscover.contoso.com/autodiscover/autodiscover.svc"
	Steps       []Step `json:"steps"`
}

type run struct {
	o                 Options
	domain            string // the typed address's domain: the trust anchor
	auth, anon, plain *http.Client
	resolver          *net.Resolver
	confirmed         map[string]bool
	refused           string // first host the user did not allow
	loop              string // first URL that closed a redirect loop
	hops              int
	res               *Result
}

// outcome of trying one candidate: stop when found, redirected to an address, or fatal.
type outcome struct {
	found    *Answer
	via      string
	nextAddr string
	err      error
}

func (o outcome) stop() bool { return o.found != nil || o.nextAddr != "" || o.err != nil }

// Discover finds the EWS URL for address. It tries, in order and stopping at the first
// answer: POX and SOAP at https://domain/ and https://autodiscover.domain/, the
// unauthenticated http://autodiscover.domain/ redirect, the _autodiscover._tcp SRV
// record, and (unless NoV2) the v2 JSON endpoint. Credentials go only over https and, for
// hosts outside the address's domain, only after Confirm. The Result lists every step,
// also when an error is returned.
func Discover(ctx context.Context, address string, o Options) (*Result, error) {
	address = strings.TrimSpace(address)
	res := &Result{Address: address}
	domain, err := domainOf(address)
	if err != nil {
		return res, err
	}
	r := &run{o: o, domain: domain, confirmed: map[string]bool{}, res: res}
	if err := r.setup(); err != nil {
		return res, err
	}
	defer func() {
		for _, c := range []*http.Client{r.auth, r.anon, r.plain} {
			c.CloseIdleConnections()
		}
	}()

	seen := map[string]bool{strings.ToLower(address): true}
	addr := address
	for {
		out := r.discoverAddress(ctx, addr)
		switch {
		case out.err != nil:
			return res, out.err
		case out.found != nil:
			res.Address, res.EWSURL, res.Via = addr, out.found.EWSURL, out.via
			res.DisplayName, res.CasVersion = out.found.DisplayName, out.found.CasVersion
			return res, nil
		case out.nextAddr != "":
			next := out.nextAddr
			if seen[strings.ToLower(next)] {
				return res, fmt.Errorf("%w: %s leads back to %s", ErrRedirectLoop, addr, next)
			}
			if err := r.hop(); err != nil {
				return res, err
			}
			seen[strings.ToLower(next)] = true
			addr = next
			res.Address = addr
			continue
		}
		if r.refused != "" {
			return res, &RefusedError{Host: r.refused, Domain: r.domain}
		}
		if r.loop != "" {
			return res, fmt.Errorf("%w through %s, and no other step found an EWS URL", ErrRedirectLoop, r.loop)
		}
		return res, fmt.Errorf("%w for %s (%d steps)", ErrNotFound, address, len(res.Steps))
	}
}

func (r *run) setup() error {
	o := &r.o
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	if o.HTTPSPort == 0 {
		o.HTTPSPort = 443
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = 80
	}
	if o.HTTPSPort < 1 || o.HTTPSPort > 65535 || o.HTTPPort < 1 || o.HTTPPort > 65535 {
		return fmt.Errorf("%w: port out of range", ErrInvalidInput)
	}
	if o.V2Host == "" {
		o.V2Host = DefaultV2Host
	}
	dial, err := resolveDialer(o.Resolve)
	if err != nil {
		return err
	}
	r.resolver, err = newResolver(o.DNSServer)
	if err != nil {
		return err
	}
	mk := func(a transport.Auth, allowHTTP bool) (*http.Client, error) {
		t := o.TLS
		t.AllowHTTP = allowHTTP
		c, err := transport.NewClient(transport.Options{TLS: t, Auth: a, Timeout: o.StepTimeout, Recorder: o.Recorder, Dial: dial})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		// Never follow a redirect inside the client: each hop is validated here.
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c, nil
	}
	if r.auth, err = mk(o.Auth, false); err != nil {
		return err
	}
	if r.anon, err = mk(transport.Auth{}, false); err != nil {
		return err
	}
	// The only client that may speak plain http carries no credentials.
	r.plain, err = mk(transport.Auth{}, true)
	return err
}

func (r *run) hasCredentials() bool { return r.o.Auth.Scheme != transport.SchemeNone }

func (r *run) hop() error {
	r.hops++
	if r.hops > MaxHops {
		return ErrTooManyRedirects
	}
	return nil
}

func (r *run) step(s Step) {
	r.res.Steps = append(r.res.Steps, s)
	if r.o.OnStep != nil {
		r.o.OnStep(s)
	}
}

// inDomain: the address's domain itself or a subdomain of it.
func (r *run) inDomain(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == r.domain || strings.HasSuffix(h, "."+r.domain)
}

// mayAuthenticate applies the credential rule for an https host.
func (r *run) mayAuthenticate(ctx context.Context, host string) bool {
	if !r.hasCredentials() || r.inDomain(host) {
		return true
	}
	h := strings.ToLower(host)
	if ok, asked := r.confirmed[h]; asked {
		return ok
	}
	ok := r.o.Confirm != nil && r.o.Confirm(ctx, h)
	r.confirmed[h] = ok
	if !ok && r.refused == "" {
		r.refused = h
	}
	return ok
}

func (r *run) httpsURL(host, path string) string {
	if r.o.HTTPSPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(r.o.HTTPSPort))
	}
	return "https://" + host + path
}

const (
	poxPath  = "/autodiscover/autodiscover.xml"
	soapPath = "/autodiscover/autodiscover.svc"
)

func (r *run) discoverAddress(ctx context.Context, addr string) outcome {
	dom, _ := domainOf(addr)
	tried := map[string]bool{}
	for _, host := range []string{dom, "autodiscover." + dom} {
		for _, p := range []Protocol{POX, SOAP} {
			path := poxPath
			if p == SOAP {
				path = soapPath
			}
			if out := r.try(ctx, addr, p, r.httpsURL(host, path), tried, map[string]bool{}); out.stop() {
				return out
			}
		}
	}
	if out := r.plainRedirect(ctx, addr, dom, tried); out.stop() {
		return out
	}
	if out := r.srv(ctx, addr, dom, tried); out.stop() {
		return out
	}
	if !r.o.NoV2 {
		return r.v2(ctx, addr, tried)
	}
	return outcome{}
}

// try sends one authenticated POX or SOAP request and follows the answer's URL redirects.
// chain holds the URLs of the current redirect chain (a repeat is a loop).
func (r *run) try(ctx context.Context, addr string, p Protocol, rawURL string, tried, chain map[string]bool) outcome {
	st := Step{URL: rawURL, Method: http.MethodPost, Protocol: p, Address: addr}
	if chain[rawURL] {
		// End this chain only: a web server in front of one candidate may loop while
		// the next candidate works.
		st.Outcome, st.Detail = OutcomeFailed, "redirect loop: this URL is already in the redirect chain"
		r.step(st)
		if r.loop == "" {
			r.loop = rawURL
		}
		return outcome{}
	}
	if tried[rawURL] {
		st.Outcome, st.Detail = OutcomeSkipped, "already tried for this address"
		r.step(st)
		return outcome{}
	}
	tried[rawURL], chain[rawURL] = true, true
	u, err := url.Parse(rawURL)
	switch {
	case err != nil || u.Host == "":
		st.Outcome, st.Detail = OutcomeFailed, "not a valid URL"
		r.step(st)
		return outcome{}
	case !strings.EqualFold(u.Scheme, "https"):
		st.Outcome, st.Detail = OutcomeRefused, "credentials are never sent over "+u.Scheme+"; only https URLs are followed"
		r.step(st)
		return outcome{}
	}
	host := u.Hostname()
	if !r.mayAuthenticate(ctx, host) {
		st.Outcome = OutcomeRefused
		st.Detail = fmt.Sprintf("%s is outside %s and sending it credentials was not allowed", host, r.domain)
		r.step(st)
		return outcome{}
	}
	if err := ctx.Err(); err != nil {
		return outcome{err: err}
	}
	a, status, d, err := r.exchange(ctx, r.auth, p, http.MethodPost, rawURL, addr)
	st.Status, st.Duration = status, d
	if err != nil {
		st.Outcome, st.Detail = OutcomeFailed, r.describe(err)
		r.step(st)
		if cerr := ctx.Err(); cerr != nil {
			return outcome{err: cerr}
		}
		return outcome{}
	}
	return r.follow(ctx, addr, p, u, a, st, tried, chain)
}

// follow acts on an answer to an authenticated request.
func (r *run) follow(ctx context.Context, addr string, p Protocol, from *url.URL, a Answer, st Step, tried, chain map[string]bool) outcome {
	switch a.Kind {
	case KindSettings:
		if a.EWSURL == "" {
			st.Outcome, st.Detail = OutcomeFailed, "settings without an EWS URL"
			r.step(st)
			return outcome{}
		}
		st.Outcome, st.Detail = OutcomeFound, a.EWSURL
		r.step(st)
		return outcome{found: &a, via: string(p) + " " + from.String()}
	case KindRedirectAddr:
		t := strings.TrimSpace(a.Target)
		if _, err := domainOf(t); err != nil {
			st.Outcome, st.Detail = OutcomeFailed, fmt.Sprintf("redirect to an invalid address %q", truncate(t))
			r.step(st)
			return outcome{}
		}
		if strings.EqualFold(t, addr) {
			st.Outcome, st.Detail = OutcomeFailed, "redirect to the same address"
			r.step(st)
			return outcome{}
		}
		st.Outcome, st.Detail = OutcomeRedirectAddr, "start over with "+t
		r.step(st)
		return outcome{nextAddr: t}
	case KindRedirectURL:
		target, err := from.Parse(strings.TrimSpace(a.Target))
		if err != nil || target.Host == "" {
			st.Outcome, st.Detail = OutcomeFailed, fmt.Sprintf("redirect to an invalid URL %q", truncate(a.Target))
			r.step(st)
			return outcome{}
		}
		target.Fragment, target.User = "", nil
		st.Outcome = OutcomeRedirectURL
		if strings.HasPrefix(a.Code, "HTTP ") {
			st.Outcome = OutcomeHTTPRedirect
		}
		st.Detail = "to " + target.String()
		r.step(st)
		if err := r.hop(); err != nil {
			return outcome{err: err}
		}
		return r.try(ctx, addr, protocolFor(target, p), target.String(), tried, chain)
	}
	st.Outcome = OutcomeFailed
	if a.Class == result.MailboxNotFound {
		st.Outcome = OutcomeNotFound
	}
	st.Detail = strings.TrimSpace(fmt.Sprintf("%s: %s %s", a.Class, a.Code, truncate(a.Message)))
	r.step(st)
	return outcome{}
}

// plainRedirect is the unauthenticated GET over http whose only use is a redirect to https.
func (r *run) plainRedirect(ctx context.Context, addr, dom string, tried map[string]bool) outcome {
	host := "autodiscover." + dom
	if r.o.HTTPPort != 80 {
		host = net.JoinHostPort(host, strconv.Itoa(r.o.HTTPPort))
	}
	u := &url.URL{Scheme: "http", Host: host, Path: poxPath}
	st := Step{URL: u.String(), Method: http.MethodGet, Protocol: HTTP, Address: addr}
	a, status, d, err := r.exchange(ctx, r.plain, HTTP, http.MethodGet, u.String(), "")
	st.Status, st.Duration = status, d
	if err != nil {
		st.Outcome, st.Detail = OutcomeFailed, r.describe(err)
		if errors.Is(err, ErrNotAutodiscover) {
			st.Detail = fmt.Sprintf("no redirect (HTTP %d)", status)
		}
		r.step(st)
		if cerr := ctx.Err(); cerr != nil {
			return outcome{err: cerr}
		}
		return outcome{}
	}
	if a.Kind != KindRedirectURL {
		st.Outcome, st.Detail = OutcomeFailed, fmt.Sprintf("no redirect (HTTP %d)", status)
		r.step(st)
		return outcome{}
	}
	target, perr := u.Parse(strings.TrimSpace(a.Target))
	if perr != nil || target.Host == "" || !strings.EqualFold(target.Scheme, "https") {
		st.Outcome = OutcomeRefused
		st.Detail = fmt.Sprintf("redirect to %q ignored: only https targets are followed", truncate(a.Target))
		r.step(st)
		return outcome{}
	}
	target.Fragment, target.User = "", nil
	st.Outcome, st.Detail = OutcomeHTTPRedirect, "to "+target.String()
	r.step(st)
	if err := r.hop(); err != nil {
		return outcome{err: err}
	}
	return r.try(ctx, addr, protocolFor(target, POX), target.String(), tried, map[string]bool{})
}

// srv looks up _autodiscover._tcp.<domain> and tries the https targets, best first.
func (r *run) srv(ctx context.Context, addr, dom string, tried map[string]bool) outcome {
	name := "_autodiscover._tcp." + dom
	st := Step{URL: name, Method: "SRV", Address: addr}
	sctx, cancel := context.WithTimeout(ctx, r.o.StepTimeout)
	start := time.Now()
	_, recs, err := r.resolver.LookupSRV(sctx, "autodiscover", "tcp", dom)
	cancel()
	st.Duration = time.Since(start).Round(time.Millisecond)
	if len(recs) == 0 {
		st.Outcome = OutcomeFailed
		var de *net.DNSError
		switch {
		case errors.As(err, &de) && de.IsNotFound:
			st.Outcome, st.Detail = OutcomeNotFound, "no SRV record"
		case err != nil:
			st.Detail = r.describe(err)
		default:
			st.Detail = "no SRV record"
		}
		r.step(st)
		if cerr := ctx.Err(); cerr != nil {
			return outcome{err: cerr}
		}
		return outcome{}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Priority != recs[j].Priority {
			return recs[i].Priority < recs[j].Priority
		}
		return recs[i].Weight > recs[j].Weight
	})
	// A hostile or broken zone could list hundreds of targets; the best few suffice.
	const maxSRV = 8
	if len(recs) > maxSRV {
		recs = recs[:maxSRV]
	}
	var names []string
	for _, s := range recs {
		names = append(names, fmt.Sprintf("%s:%d (priority %d, weight %d)", strings.TrimSuffix(s.Target, "."), s.Port, s.Priority, s.Weight))
	}
	st.Outcome, st.Detail = OutcomeFound, strings.Join(names, "; ")
	r.step(st)
	for _, s := range recs {
		host := strings.TrimSuffix(s.Target, ".")
		if int(s.Port) != r.o.HTTPSPort {
			r.step(Step{URL: fmt.Sprintf("%s:%d", host, s.Port), Method: "SRV", Address: addr, Outcome: OutcomeSkipped,
				Detail: fmt.Sprintf("port %d is not the https port %d", s.Port, r.o.HTTPSPort)})
			continue
		}
		if host == "" {
			continue
		}
		for _, p := range []Protocol{POX, SOAP} {
			path := poxPath
			if p == SOAP {
				path = soapPath
			}
			if out := r.try(ctx, addr, p, r.httpsURL(host, path), tried, map[string]bool{}); out.stop() {
				return out
			}
		}
	}
	return outcome{}
}

// v2 asks the unauthenticated Autodiscover v2 JSON endpoint, following https redirects.
func (r *run) v2(ctx context.Context, addr string, tried map[string]bool) outcome {
	u := &url.URL{Scheme: "https", Host: r.o.V2Host,
		Path: "/autodiscover/autodiscover.json/v1.0/" + addr, RawQuery: "Protocol=EWS"}
	if r.o.HTTPSPort != 443 {
		u.Host = net.JoinHostPort(r.o.V2Host, strconv.Itoa(r.o.HTTPSPort))
	}
	for {
		raw := u.String()
		st := Step{URL: raw, Method: http.MethodGet, Protocol: V2, Address: addr}
		if tried[raw] {
			st.Outcome, st.Detail = OutcomeFailed, "redirect loop: this URL was already asked"
			r.step(st)
			if r.loop == "" {
				r.loop = raw
			}
			return outcome{}
		}
		tried[raw] = true
		a, status, d, err := r.exchange(ctx, r.anon, V2, http.MethodGet, raw, "")
		st.Status, st.Duration = status, d
		if err != nil {
			st.Outcome, st.Detail = OutcomeFailed, r.describe(err)
			r.step(st)
			if cerr := ctx.Err(); cerr != nil {
				return outcome{err: cerr}
			}
			return outcome{}
		}
		switch {
		case a.Kind == KindSettings && a.EWSURL != "":
			st.Outcome, st.Detail = OutcomeFound, a.EWSURL
			r.step(st)
			return outcome{found: &a, via: string(V2) + " " + raw}
		case a.Kind == KindRedirectURL:
			target, perr := u.Parse(strings.TrimSpace(a.Target))
			if perr != nil || !strings.EqualFold(target.Scheme, "https") || target.Host == "" {
				st.Outcome, st.Detail = OutcomeRefused, fmt.Sprintf("redirect to %q ignored: only https targets are followed", truncate(a.Target))
				r.step(st)
				return outcome{}
			}
			target.Fragment, target.User = "", nil
			st.Outcome, st.Detail = OutcomeHTTPRedirect, "to "+target.String()
			r.step(st)
			if err := r.hop(); err != nil {
				return outcome{err: err}
			}
			u = target
			continue
		case a.Kind == KindSettings:
			st.Outcome, st.Detail = OutcomeFailed, "answer without a URL"
		default:
			st.Outcome = OutcomeFailed
			if a.Class == result.MailboxNotFound {
				st.Outcome = OutcomeNotFound
			}
			st.Detail = strings.TrimSpace(fmt.Sprintf("%s: %s %s", a.Class, a.Code, truncate(a.Message)))
		}
		r.step(st)
		return outcome{}
	}
}

// maxBody bounds what is read of any reply: real answers are a few KiB.
const maxBody = 1 << 20

// exchange performs one request under the step deadline and interprets the reply.
func (r *run) exchange(ctx context.Context, c *http.Client, p Protocol, method, rawURL, addr string) (Answer, int, time.Duration, error) {
	sctx, cancel := context.WithTimeout(ctx, r.o.StepTimeout)
	defer cancel()
	sctx = transport.WithStep(sctx, "autodiscover", addr)
	var body io.Reader
	if method == http.MethodPost {
		if p == SOAP {
			body = bytes.NewReader(soapRequest(addr, rawURL))
		} else {
			body = bytes.NewReader(poxRequest(addr))
		}
	}
	req, err := http.NewRequestWithContext(sctx, method, rawURL, body)
	if err != nil {
		return Answer{}, 0, 0, err
	}
	switch p {
	case POX, SOAP:
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		// Exchange Online routes OAuth requests by this header; harmless elsewhere.
		req.Header.Set("X-AnchorMailbox", addr)
	case V2:
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Answer{}, 0, time.Since(start).Round(time.Millisecond), err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	d := time.Since(start).Round(time.Millisecond)
	if err != nil {
		return Answer{}, resp.StatusCode, d, fmt.Errorf("reading the reply: %w", err)
	}
	a, err := Interpret(p, resp.StatusCode, resp.Header, raw)
	return a, resp.StatusCode, d, err
}

// describe turns a step error into a short, secret-free reason.
func (r *run) describe(err error) string {
	var te *transport.TLSError
	var de *net.DNSError
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer within %s", r.o.StepTimeout)
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &te):
		return te.Error()
	case errors.As(err, &de):
		if de.IsNotFound {
			return "host not found (DNS)"
		}
		return "DNS: " + de.Err
	case errors.Is(err, ErrNotAutodiscover):
		return err.Error()
	case errors.As(err, &oe) && oe.Op == "dial":
		return "cannot connect: " + strings.TrimPrefix(oe.Err.Error(), "connect: ")
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func protocolFor(u *url.URL, current Protocol) Protocol {
	p := strings.ToLower(u.Path)
	switch {
	case strings.HasSuffix(p, ".svc"):
		return SOAP
	case strings.HasSuffix(p, ".xml"):
		return POX
	}
	return current
}

func poxRequest(addr string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>`)
	_ = xml.EscapeText(&b, []byte(addr))
	b.WriteString(`</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
`)
	return b.Bytes()
}

// soapRequest asks for the four settings Deputy uses. It requests the Exchange2010 schema:
// every server since 2010 and Exchange Online accept it, and those settings exist in it.
func soapRequest(addr, to string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"
               xmlns:wsa="http://www.w3.org/2005/08/addressing"
               xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
               xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion>
    <wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action>
    <wsa:To>`)
	_ = xml.EscapeText(&b, []byte(to))
	b.WriteString(`</wsa:To>
  </soap:Header>
  <soap:Body>
    <a:GetUserSettingsRequestMessage>
      <a:Request>
        <a:Users><a:User><a:Mailbox>`)
	_ = xml.EscapeText(&b, []byte(addr))
	b.WriteString(`</a:Mailbox></a:User></a:Users>
        <a:RequestedSettings>
          <a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting>
          <a:Setting>UserDisplayName</a:Setting><a:Setting>CasVersion</a:Setting>
        </a:RequestedSettings>
      </a:Request>
    </a:GetUserSettingsRequestMessage>
  </soap:Body>
</soap:Envelope>
`)
	return b.Bytes()
}

// domainOf validates an SMTP address enough to build host names from its domain.
func domainOf(address string) (string, error) {
	at := strings.LastIndex(address, "@")
	if at <= 0 || at == len(address)-1 {
		return "", fmt.Errorf("%w: %q is not an e-mail address (expected user@domain)", ErrInvalidInput, truncate(address))
	}
	if strings.ContainsAny(address, " \t\r\n<>\"/\\") {
		return "", fmt.Errorf("%w: %q contains characters an e-mail address cannot have", ErrInvalidInput, truncate(address))
	}
	d := strings.TrimSuffix(strings.ToLower(address[at+1:]), ".")
	if len(d) > 253 || !strings.Contains(d, ".") {
		return "", fmt.Errorf("%w: %q has no valid domain (expected user@example.com)", ErrInvalidInput, truncate(address))
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("%w: %q has no valid domain (expected user@example.com)", ErrInvalidInput, truncate(address))
		}
		for _, c := range label {
			if !(c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') && c < 0x80 {
				return "", fmt.Errorf("%w: domain %q contains %q", ErrInvalidInput, d, c)
			}
		}
	}
	return d, nil
}

// resolveDialer builds a dialer honouring curl-style HOST:PORT:ADDR entries.
func resolveDialer(entries []string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	m := map[string]string{}
	for _, e := range entries {
		host, port, addr, err := ParseResolve(e)
		if err != nil {
			return nil, err
		}
		m[net.JoinHostPort(host, port)] = addr
	}
	nd := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, p, err := net.SplitHostPort(addr); err == nil {
			if to, ok := m[net.JoinHostPort(strings.ToLower(h), p)]; ok {
				addr = net.JoinHostPort(to, p)
			}
		}
		return nd.DialContext(ctx, network, addr)
	}, nil
}

// ParseResolve reads one curl-style HOST:PORT:ADDR entry (ADDR may be a bracketed IPv6
// address). It returns the lower-cased host, the port and the bare address.
func ParseResolve(e string) (host, port, addr string, err error) {
	bad := func(why string) (string, string, string, error) {
		return "", "", "", fmt.Errorf("%w: --resolve %q: %s (expected HOST:PORT:ADDRESS, e.g. autodiscover.contoso.com:443:10.0.0.5)", ErrInvalidInput, truncate(e), why)
	}
	parts := strings.SplitN(strings.TrimSpace(e), ":", 3)
	if len(parts) != 3 {
		return bad("missing fields")
	}
	host, port, addr = strings.ToLower(strings.TrimSuffix(parts[0], ".")), parts[1], parts[2]
	if host == "" {
		return bad("empty host")
	}
	n, perr := strconv.Atoi(port)
	if perr != nil || n < 1 || n > 65535 {
		return bad("port must be 1-65535")
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if net.ParseIP(addr) == nil {
		return bad("address must be an IP address")
	}
	return host, strconv.Itoa(n), addr, nil
}

func newResolver(server string) (*net.Resolver, error) {
	if server == "" {
		return net.DefaultResolver, nil
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	h, p, err := net.SplitHostPort(server)
	if n, perr := strconv.Atoi(p); err != nil || net.ParseIP(h) == nil || perr != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%w: --dns %q: expected ADDRESS or ADDRESS:PORT, e.g. 10.0.0.2:53", ErrInvalidInput, truncate(server))
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}, nil
}

func truncate(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
