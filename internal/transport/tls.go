package transport

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"deputy/internal/result"
)

// TLSOptions says which server certificates to trust. The zero value trusts what the
// operating system trusts, with host-name and validity checks.
type TLSOptions struct {
	// PinSHA256 is the SHA-256 fingerprint (hex, see ParsePin) of the one leaf certificate
	// to trust. When set, the server is trusted if and only if it presents exactly this
	// certificate: it replaces the chain and host-name checks (Exchange's self-signed
	// certificate, reached by IP or alias), but not the validity period — an expired
	// certificate is reported as Expired, because the fix is to renew it.
	PinSHA256 string
	// CAFile is a PEM file of extra CA certificates trusted besides the system's.
	CAFile string
	// AllowHTTP permits plain http:// URLs (credentials then cross the network in clear).
	AllowHTTP bool
}

// ParsePin normalises a SHA-256 fingerprint: hex with or without colons, spaces or
// dashes, any case, optionally prefixed the way tools print it ("SHA256:", "sha256
// Fingerprint="). It returns 64 lower-case hex digits.
func ParsePin(s string) (string, error) {
	t := strings.TrimSpace(s)
	low := strings.ToLower(t)
	for _, p := range []string{"sha256 fingerprint=", "sha-256 fingerprint=", "sha256:", "sha256=", "sha-256:"} {
		if strings.HasPrefix(low, p) {
			t = t[len(p):]
			break
		}
	}
	var b strings.Builder
	for i, r := range t {
		switch {
		case r == ':' || r == ' ' || r == '-' || r == '\t':
			continue
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			b.WriteRune(r)
		case r >= 'A' && r <= 'F':
			b.WriteRune(r + ('a' - 'A'))
		default:
			return "", fmt.Errorf("pin contains %q at position %d, which is not a hex digit (expected a SHA-256 fingerprint such as 3f:a0:…)", string(r), i+1)
		}
	}
	h := b.String()
	switch n := len(h); {
	case n == 64:
		return h, nil
	case n == 0:
		return "", errors.New("pin is empty: give the certificate's SHA-256 fingerprint (64 hex digits)")
	case n == 40:
		return "", fmt.Errorf("pin must be 64 hex digits (SHA-256), got 40 — is this a SHA-1 thumbprint? " +
			"Windows and Get-ExchangeCertificate show SHA-1; get the SHA-256 with " +
			"(Get-Item Cert:\\LocalMachine\\My\\<thumbprint>).GetCertHashString('SHA256') or from deputy's certificate check")
	default:
		return "", fmt.Errorf("pin must be 64 hex digits (SHA-256), got %d", n)
	}
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, lower-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Config returns the client TLS configuration for serverName: TLS 1.2 or later, the
// system roots plus CAFile, and — with a pin — the pinned certificate as the only root.
//
// With a pin, the certificate must already be known to this process (Inspect or an
// earlier connection through NewClient learns it from the first handshake); until then
// the returned configuration trusts nothing and the handshake fails with
// *tls.CertificateVerificationError. NewClient and Inspect handle that step themselves.
func (o TLSOptions) Config(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if o.PinSHA256 == "" {
		pool, err := o.roots()
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
		return cfg, nil
	}
	pin, err := ParsePin(o.PinSHA256)
	if err != nil {
		return nil, err
	}
	// Why not switch off Go's verification and check the pin in VerifyConnection: then
	// the pin is the only guard, and a reviewer can't tell a safe use of that switch from
	// the anti-pattern. Instead the pinned leaf becomes the only root (a certificate in the
	// root pool verifies as a one-element chain), so crypto/tls still checks the
	// signature over the handshake, the validity period and key usage, and
	// VerifyConnection re-checks the fingerprint.
	cfg.RootCAs = x509.NewCertPool()
	if cert := pinned.get(pin); cert != nil {
		cfg.RootCAs.AddCert(cert)
		// The pin stands in for the host-name check: if the certificate doesn't name the
		// host we dialled (an IP, an alias), verify against a name it does carry. The
		// pin fixes the exact certificate, so this cannot let another one through.
		if cert.VerifyHostname(serverName) != nil {
			if name := certName(cert); name != "" {
				cfg.ServerName = name
			}
		}
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		if fp := Fingerprint(cs.PeerCertificates[0]); fp != pin {
			return &pinMismatchError{leaf: cs.PeerCertificates[0]}
		}
		return nil
	}
	return cfg, nil
}

// certName is a name the certificate is valid for, usable as tls.Config.ServerName.
func certName(c *x509.Certificate) string {
	for _, n := range c.DNSNames {
		if !strings.Contains(n, "*") {
			return n
		}
	}
	for _, n := range c.DNSNames {
		return strings.Replace(n, "*", "pinned", 1)
	}
	if len(c.IPAddresses) > 0 {
		return c.IPAddresses[0].String()
	}
	return ""
}

type pinMismatchError struct{ leaf *x509.Certificate }

func (e *pinMismatchError) Error() string { return "certificate does not match the pin" }

// pinned caches certificates seen whose fingerprint equals a pin in use. It is keyed by
// the fingerprint itself, so an entry can never vouch for a different certificate.
var pinned = &pinCache{m: map[string]*x509.Certificate{}}

type pinCache struct {
	mu sync.Mutex
	m  map[string]*x509.Certificate
}

func (p *pinCache) get(pin string) *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[pin]
}

// learn stores c if its fingerprint equals pin; it reports whether c is now known.
func (p *pinCache) learn(pin string, c *x509.Certificate) bool {
	if c == nil || Fingerprint(c) != pin {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[pin]; !ok {
		p.m[pin] = c
	}
	return true
}

func (o TLSOptions) roots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if o.CAFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----; convert a .cer/.der with: openssl x509 -inform der -in ca.cer -out ca.pem)", o.CAFile)
	}
	return pool, nil
}

// TLSErrorKind classifies why a TLS connection was refused.
type TLSErrorKind string

const (
	Untrusted    TLSErrorKind = "untrusted"     // unknown authority, self-signed
	HostMismatch TLSErrorKind = "host-mismatch" // certificate doesn't name the host
	Expired      TLSErrorKind = "expired"       // expired or not yet valid
	PinMismatch  TLSErrorKind = "pin-mismatch"  // a pin is set and the certificate differs
	Handshake    TLSErrorKind = "handshake"     // protocol or network failure during the handshake
)

// TLSError says why a server's certificate or handshake was refused, and carries the
// certificate whenever one was seen so a front end can offer "Trust this certificate".
type TLSError struct {
	Kind TLSErrorKind
	Host string
	Cert *result.CertInfo
	Pin  string // the pin that was expected, for PinMismatch
	Err  error
}

func (e *TLSError) Unwrap() error { return e.Err }

func (e *TLSError) Error() string {
	fp := "<sha256>"
	if e.Cert != nil {
		fp = e.Cert.SHA256
	}
	switch e.Kind {
	case Untrusted:
		return fmt.Sprintf("the certificate of %s is not trusted (%s): if it is your server's own certificate, pin it with --pin-sha256 %s, or add the issuing CA with --ca-file", e.Host, e.cause(), fp)
	case HostMismatch:
		if e.Pin != "" {
			return fmt.Sprintf("the pinned certificate of %s names no host (only a Common Name), which Go cannot verify even when pinned: reissue it with a subject alternative name (New-ExchangeCertificate -DomainName %s)", e.Host, e.Host)
		}
		names := "no host names"
		if e.Cert != nil && len(e.Cert.DNSNames) > 0 {
			names = strings.Join(e.Cert.DNSNames, ", ")
		}
		return fmt.Sprintf("the certificate of %s is for %s, not %s: use a URL with one of those names, or pin this certificate with --pin-sha256 %s", e.Host, names, e.Host, fp)
	case Expired:
		when := ""
		if e.Cert != nil {
			now := time.Now()
			if now.Before(e.Cert.NotBefore) {
				when = " (not valid before " + e.Cert.NotBefore.UTC().Format(time.DateOnly) + " — check the clocks)"
			} else {
				when = " (expired " + e.Cert.NotAfter.UTC().Format(time.DateOnly) + ")"
			}
		}
		return fmt.Sprintf("the certificate of %s is outside its validity period%s: renew it on the server (Exchange: New-ExchangeCertificate, then Enable-ExchangeCertificate -Services IIS) and re-pin if you pinned it", e.Host, when)
	case PinMismatch:
		return fmt.Sprintf("%s presented a certificate with SHA-256 %s, but the pin is %s: the certificate was replaced (renewed?) or this is not the server you expect — verify it, then pin the new fingerprint", e.Host, fp, e.Pin)
	}
	return fmt.Sprintf("TLS handshake with %s failed: %v", e.Host, e.Err)
}

func (e *TLSError) cause() string {
	if e.Cert != nil && e.Cert.Subject == e.Cert.Issuer {
		return "self-signed"
	}
	var ua x509.UnknownAuthorityError
	if errors.As(e.Err, &ua) {
		if e.Cert != nil {
			return "issued by " + e.Cert.Issuer + ", an authority this machine doesn't trust"
		}
		return "unknown authority"
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return "not trusted"
}

// CertInfoOf describes a certificate for result.CertInfo.
func CertInfoOf(c *x509.Certificate, trusted bool) *result.CertInfo {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return &result.CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		SHA256:    Fingerprint(c),
		DNSNames:  names,
		Trusted:   trusted,
	}
}

// classify turns a handshake error into a *TLSError. When several things are wrong it
// names the one whose fix matters first: an expired certificate must be renewed whatever
// else; an untrusted one is fixed by a pin, which also covers a host-name mismatch.
func classify(err error, host, pin string, roots *x509.CertPool) error {
	var te *TLSError
	if errors.As(err, &te) {
		return err
	}
	var pm *pinMismatchError
	if errors.As(err, &pm) {
		return &TLSError{Kind: PinMismatch, Host: host, Pin: pin, Cert: CertInfoOf(pm.leaf, false), Err: err}
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || len(cve.UnverifiedCertificates) == 0 {
		return &TLSError{Kind: Handshake, Host: host, Err: err}
	}
	leaf := cve.UnverifiedCertificates[0]
	info := CertInfoOf(leaf, false)
	if pin != "" && info.SHA256 != pin {
		return &TLSError{Kind: PinMismatch, Host: host, Pin: pin, Cert: info, Err: err}
	}
	now := time.Now()
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return &TLSError{Kind: Expired, Host: host, Cert: info, Err: err}
	}
	if pin == "" && roots != nil {
		inter := x509.NewCertPool()
		for _, c := range cve.UnverifiedCertificates[1:] {
			inter.AddCert(c)
		}
		if _, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); verr != nil {
			var ci x509.CertificateInvalidError
			if !errors.As(verr, &ci) || ci.Reason != x509.Expired {
				return &TLSError{Kind: Untrusted, Host: host, Cert: info, Err: verr}
			}
		}
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return &TLSError{Kind: HostMismatch, Host: host, Pin: pin, Cert: info, Err: err}
	}
	return &TLSError{Kind: Untrusted, Host: host, Cert: info, Err: err}
}

// hostOf strips the port and IPv6 brackets.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return strings.Trim(addr, "[]")
}
