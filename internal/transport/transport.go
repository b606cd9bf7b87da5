// Package transport is the HTTP layer under every Deputy network client (EWS,
// Autodiscover, Graph, OAuth): verified TLS with optional certificate pinning, Basic,
// NTLM and bearer authentication, request counting and redacted traces.
//
// A client from NewClient belongs to ONE worker. NTLM authenticates the TCP connection,
// not the request, so each client owns a single keep-alive HTTP/1.1 connection per host:
// the handshake happens once per connection and every later call is one request.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"deputy"

	"github.com/Azure/go-ntlmssp"
)

// Authentication schemes for Auth.Scheme.
const (
	SchemeNone   = ""
	SchemeBasic  = "basic"
	SchemeNTLM   = "ntlm"
	SchemeBearer = "bearer"
)

// Auth is how requests authenticate.
type Auth struct {
	Scheme   string // "", "basic", "ntlm", "bearer"
	User     string // basic, ntlm: UPN (svc@contoso.com) or DOMAIN\user
	Password string
	// Token returns the bearer token for each request (it may cache and refresh).
	Token func(ctx context.Context) (string, error)
}

// Options configure one worker's client.
type Options struct {
	TLS  TLSOptions
	Auth Auth
	// Timeout bounds each call (all NTLM legs included). Zero means DefaultTimeout.
	Timeout time.Duration
	// Recorder, if set, receives a redacted trace of every request on the wire.
	Recorder *Recorder
	// Requests, if set, counts every HTTP request sent, NTLM legs included.
	Requests *atomic.Int64
	// Dial overrides TCP dialling (e.g. a --resolve style mapping).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy picks the proxy for a target URL (nil result: direct). Nil means the
	// environment's HTTPS_PROXY/HTTP_PROXY/NO_PROXY. HTTPS goes through a CONNECT tunnel
	// on an http:// proxy, with the usual certificate checks end to end.
	Proxy     func(target *url.URL) (*url.URL, error)
	UserAgent string
}

// DefaultTimeout applies when Options.Timeout is zero: no call may hang for ever.
const DefaultTimeout = 30 * time.Second

// NewClient builds the HTTP client for one worker. It follows no redirects (the caller
// sees the 3xx and decides) and refuses http:// URLs unless TLS.AllowHTTP.
func NewClient(o Options) (*http.Client, error) {
	return newClient(o, false)
}

// newClient is NewClient; singleConn forces one connection per host whatever the scheme.
func newClient(o Options, singleConn bool) (*http.Client, error) {
	d, err := newDialer(o.TLS, o.Dial)
	if err != nil {
		return nil, err
	}
	d.proxy = envProxy
	if o.Proxy != nil {
		d.proxy = o.Proxy
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	base := &http.Transport{
		// Plain http:// (only with AllowHTTP) may go through the environment's proxy;
		// https:// tunnels are opened by the dialer, which verifies the certificate.
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme != "http" {
				return nil, nil
			}
			return d.proxy(r.URL)
		},
		DialContext:           d.dialTCPPlain,
		DialTLSContext:        d.DialTLSContext,
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	// HTTP/1.1 only: NTLM authenticates the connection and IIS refuses it over HTTP/2
	// (HTTP_1_1_REQUIRED); EWS gains nothing from HTTP/2 and one protocol keeps the
	// request counts exact.
	var protos http.Protocols
	protos.SetHTTP1(true)
	base.Protocols = &protos

	if singleConn {
		base.MaxConnsPerHost = 1
		base.MaxIdleConnsPerHost = 1
	}
	var rt http.RoundTripper = base
	if o.Requests != nil {
		rt = &counter{next: rt, n: o.Requests}
	}
	if o.Recorder != nil {
		rt = &recording{next: rt, rec: o.Recorder}
	}

	a := o.Auth
	switch strings.ToLower(a.Scheme) {
	case SchemeNone:
	case SchemeBasic:
		if err := needCredentials(a); err != nil {
			return nil, err
		}
		o.Recorder.Secret(a.Password)
		rt = &basicAuth{next: rt, user: a.User, password: a.Password}
	case SchemeNTLM:
		if err := needCredentials(a); err != nil {
			return nil, err
		}
		o.Recorder.Secret(a.Password)
		// One connection per host: the Negotiator's three legs and every later call
		// must travel the one connection that NTLM authenticated (a shared pool sends
		// legs down different connections: measured 62 % failures, design notes §4.1).
		base.MaxConnsPerHost = 1
		base.MaxIdleConnsPerHost = 1
		rt = &ntlmAuth{next: ntlmssp.Negotiator{RoundTripper: &release401{next: rt}}, user: a.User, password: a.Password}
	case SchemeBearer:
		if a.Token == nil {
			return nil, errors.New("bearer authentication needs a token source")
		}
		rt = &bearerAuth{next: rt, token: a.Token, rec: o.Recorder}
	default:
		return nil, fmt.Errorf("unknown authentication scheme %q (use basic, ntlm or bearer)", a.Scheme)
	}

	ua := o.UserAgent
	if ua == "" {
		ua = deputy.Name + "/" + deputy.Version
	}
	rt = &front{next: rt, base: base, allowHTTP: o.TLS.AllowHTTP, userAgent: ua}
	return &http.Client{
		Transport: rt,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

func needCredentials(a Auth) error {
	switch {
	case strings.TrimSpace(a.User) == "":
		return fmt.Errorf("%s authentication needs a user name (UPN such as svc@contoso.com, or DOMAIN\\user)", a.Scheme)
	case a.Password == "":
		return fmt.Errorf("%s authentication needs a password", a.Scheme)
	case strings.Contains(a.User, ":"):
		return fmt.Errorf("user name %q contains ':', which no Windows account name can", a.User)
	case strings.HasSuffix(a.User, "\\") || strings.HasPrefix(a.User, "\\"):
		return fmt.Errorf("user name %q: expected DOMAIN\\user", a.User)
	}
	return nil
}

// dialTCPPlain is the DialContext for http:// requests (proxying is the Transport's).
func (d *dialer) dialTCPPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx, network, addr)
}

// front refuses plain HTTP unless allowed and sets the User-Agent.
type front struct {
	next      http.RoundTripper
	base      *http.Transport
	allowHTTP bool
	userAgent string
}

func (f *front) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.URL.Scheme {
	case "https":
	case "http":
		if !f.allowHTTP {
			closeBody(r)
			return nil, fmt.Errorf("%s: %w", r.URL.Redacted(), ErrPlainHTTP)
		}
	default:
		closeBody(r)
		return nil, fmt.Errorf("URL scheme %q not supported (use https://)", r.URL.Scheme)
	}
	if r.Header.Get("User-Agent") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", f.userAgent)
	}
	return f.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the connection pool.
func (f *front) CloseIdleConnections() { f.base.CloseIdleConnections() }

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// basicAuth sends credentials with the first request: no anonymous probe, so one call is
// one request.
type basicAuth struct {
	next           http.RoundTripper
	user, password string
}

func (b *basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// ntlmAuth hands the credentials to go-ntlmssp's Negotiator, which reads them from the
// Basic header it is given and never sends them as Basic (AllowBasicAuth is false).
type ntlmAuth struct {
	next           ntlmssp.Negotiator
	user, password string
}

func (n *ntlmAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(n.user, n.password)
	return n.next.RoundTrip(r)
}

// release401 reads a 401's body into memory and closes it, freeing the connection.
// go-ntlmssp's Negotiator keeps the first 401 open while it sends the negotiate and
// authenticate legs; with one connection per host and a 401 that has a body (IIS always
// sends an HTML page) the next leg would wait for that connection until the timeout.
type release401 struct{ next http.RoundTripper }

// max401Body bounds what is kept of a 401 page; a longer one costs its connection.
const max401Body = 64 << 10

func (u *release401) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := u.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, max401Body))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// bearerAuth adds "Authorization: Bearer" from the token source on every request.
type bearerAuth struct {
	next  http.RoundTripper
	token func(ctx context.Context) (string, error)
	rec   *Recorder
}

func (b *bearerAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := b.token(r.Context())
	if err != nil {
		closeBody(r)
		return nil, fmt.Errorf("getting an access token: %w", err)
	}
	b.rec.Secret(tok)
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}

// counter counts requests as they go to the wire.
type counter struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}
