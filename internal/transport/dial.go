package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"deputy/internal/result"
)

// Time limits for the steps below a request; the request's own deadline (Options.Timeout,
// the caller's context) usually ends them sooner.
const (
	dialTimeout      = 15 * time.Second
	handshakeTimeout = 15 * time.Second
)

// dialer opens TCP and TLS connections. It does the TLS handshake itself (rather than
// leaving it to http.Transport) so that every handshake failure is classified, a pinned
// certificate can be learnt on first sight, and an HTTPS proxy tunnel uses the same
// verification as a direct connection.
type dialer struct {
	tls   TLSOptions
	pin   string // normalised
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	proxy func(target *url.URL) (*url.URL, error) // nil: no proxy
}

func newDialer(o TLSOptions, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*dialer, error) {
	d := &dialer{tls: o, dial: dial}
	if o.PinSHA256 != "" {
		pin, err := ParsePin(o.PinSHA256)
		if err != nil {
			return nil, err
		}
		d.pin = pin
	}
	if d.dial == nil {
		nd := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		d.dial = nd.DialContext
	}
	// Validate the CA file now: a bad path is an input error, not a connection error.
	if _, err := o.Config("localhost"); err != nil {
		return nil, err
	}
	return d, nil
}

// dialTCP connects to addr, through the environment's HTTPS proxy if one applies.
func (d *dialer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var proxy *url.URL
	if d.proxy != nil {
		p, err := d.proxy(&url.URL{Scheme: "https", Host: addr})
		if err != nil {
			return nil, fmt.Errorf("proxy settings: %w", err)
		}
		proxy = p
	}
	if proxy == nil {
		return d.dial(ctx, network, addr)
	}
	if proxy.Scheme != "http" {
		return nil, fmt.Errorf("proxy %s: only http:// proxies are supported for HTTPS targets", proxy.Redacted())
	}
	paddr := proxy.Host
	if proxy.Port() == "" {
		paddr = net.JoinHostPort(proxy.Hostname(), "80")
	}
	conn, err := d.dial(ctx, network, paddr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
	}
	if err := connectTunnel(ctx, conn, proxy, addr); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// connectTunnel asks an HTTP proxy for a CONNECT tunnel to target.
func connectTunnel(ctx context.Context, conn net.Conn, proxy *url.URL, target string) error {
	dl := time.Now().Add(dialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	conn.SetDeadline(dl)
	defer conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(conn); err != nil {
		return ctxErr(ctx, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("proxy %s refused the tunnel to %s: %s", proxy.Redacted(), target, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("proxy %s sent data before the tunnel was up", proxy.Redacted())
	}
	return nil
}

// ctxErr prefers the context's error (cancelled, deadline) over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// DialTLSContext is http.Transport's hook: a verified TLS connection to addr.
func (d *dialer) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.handshake(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// handshake connects and verifies. With a pin whose certificate isn't known yet, the
// first handshake fails verification; if the certificate it saw is the pinned one, it is
// learnt and the handshake repeated with that certificate as the only root.
func (d *dialer) handshake(ctx context.Context, network, addr string) (*tls.Conn, error) {
	host := hostOf(addr)
	for attempt := 0; ; attempt++ {
		known := d.pin != "" && pinned.get(d.pin) != nil
		cfg, err := d.tls.Config(host)
		if err != nil {
			return nil, err
		}
		// HTTP/1.1 only: NTLM is bound to the connection and IIS refuses it over HTTP/2.
		cfg.NextProtos = []string{"http/1.1"}
		raw, err := d.dialTCP(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		conn := tls.Client(raw, cfg)
		err = conn.HandshakeContext(hctx)
		cancel()
		if err == nil {
			return conn, nil
		}
		raw.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, &TLSError{Kind: Handshake, Host: host, Err: fmt.Errorf("%w (%v)", cerr, err)}
		}
		var cve *tls.CertificateVerificationError
		if d.pin != "" && !known && attempt == 0 && errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 &&
			pinned.learn(d.pin, cve.UnverifiedCertificates[0]) {
			continue
		}
		return nil, classify(err, host, d.pin, cfg.RootCAs)
	}
}

// Inspect connects to the URL's host and reports the certificate it presents and whether
// it is trusted under o. On a refused certificate it returns *TLSError with the
// certificate filled in; the error says what to do.
func Inspect(ctx context.Context, rawURL string, o TLSOptions) (*result.CertInfo, error) {
	return InspectDial(ctx, rawURL, o, nil)
}

// InspectDial is Inspect with a dial override (curl-like --resolve); nil dials directly.
func InspectDial(ctx context.Context, rawURL string, o TLSOptions, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*result.CertInfo, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "http" {
		return nil, fmt.Errorf("%s: %w", u.Redacted(), ErrPlainHTTP)
	}
	d, err := newDialer(o, dial)
	if err != nil {
		return nil, err
	}
	d.proxy = envProxy
	conn, err := d.handshake(ctx, "tcp", hostPort(u))
	if err != nil {
		var te *TLSError
		if errors.As(err, &te) {
			return te.Cert, err
		}
		return nil, err
	}
	defer conn.Close()
	return CertInfoOf(conn.ConnectionState().PeerCertificates[0], true), nil
}

// ErrPlainHTTP reports an http:// URL: no TLS, and refused for requests unless AllowHTTP.
var ErrPlainHTTP = errors.New("plain http:// URL: credentials and mail data would cross the network unencrypted; use https://, or pass --allow-http for a test server")

func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", rawURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("URL %q: must start with https://", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host name", rawURL)
	}
	return u, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// envProxy is the environment's proxy (HTTPS_PROXY, NO_PROXY) for a target.
func envProxy(target *url.URL) (*url.URL, error) {
	return http.ProxyFromEnvironment(&http.Request{URL: target})
}
