// Package adsim is a simulated Autodiscover deployment for tests and labs: real TLS and
// plain-http listeners serving many host names (told apart by the Host header), with a
// test CA whose PEM the client trusts explicitly, and a DNS server answering SRV
// queries. It records every Authorization header it receives, per host and scheme, so a
// test can prove where credentials went. It is an independent implementation: it does
// not import the client (internal/autodiscover) or internal/transport.
package adsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Mode is what one endpoint of a host does.
type Mode int

const (
	Off          Mode = iota // 404 Not Found
	Answer                   // answer from the mailbox table (settings, redirectAddr, or "not found")
	RedirectURL              // Autodiscover redirectUrl (POX Action / SOAP ErrorCode) to Target
	HTTPRedirect             // HTTP Status (default 302) with Location: Target
	HTML                     // 200 text/html login page
	Stall                    // never answers (until the client gives up or the server closes)
	ServerError              // 500 with a plain-text body
)

// Endpoint configures one endpoint of a host.
type Endpoint struct {
	Mode Mode
	// Target is the URL for RedirectURL / HTTPRedirect; "{https}" and "{http}" in it are
	// replaced by the simulator's ports, so a scenario can be written before Start.
	Target string
	Status int // HTTPRedirect status; 302 when 0
	// UpperURL spells the POX redirect element RedirectURL (exchangelib's sample) instead
	// of RedirectUrl.
	UpperURL bool
}

// Host is one simulated host name. POX and SOAP are served over https with Basic auth;
// Plain is the unauthenticated http GET of /autodiscover/autodiscover.xml; V2 is the
// unauthenticated v2 JSON endpoint over https.
type Host struct {
	POX, SOAP, Plain, V2 Endpoint
}

// Mailbox is one address the deployment knows.
type Mailbox struct {
	DisplayName string
	EWSURL      string
	// RedirectAddr, when set, makes Answer endpoints send the client to this address.
	RedirectAddr string
}

// SRV is one _autodiscover._tcp answer.
type SRV struct {
	Priority, Weight uint16
	Port             uint16 // 0 = the simulator's https port
	Target           string
}

// Config describes the deployment.
type Config struct {
	User, Password string
	Hosts          map[string]Host    // by lower-case host name
	Mailboxes      map[string]Mailbox // by lower-case address
	SRV            map[string][]SRV   // by domain: answers for _autodiscover._tcp.<domain>
	Absent         []string           // names that resolve to a closed port (connection refused)
}

// Record is one request the simulator received.
type Record struct {
	Host, Scheme, Method, Path string
	// Authorization is the raw header value; tests assert on its presence, never print it.
	Authorization string
}

// Server is a running simulator.
type Server struct {
	HTTPSPort, HTTPPort int
	DNSAddr             string // 127.0.0.1:port (UDP)
	// LeafSHA256 is the hex SHA-256 of the host certificate, for pinning tests.
	LeafSHA256     string
	User, Password string

	cfg      Config
	caPEM    []byte
	https    *http.Server
	plain    *http.Server
	dns      *dns.Server
	stop     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	records []Record
}

// Start generates the CA and the host certificate and starts the listeners on 127.0.0.1.
func Start(cfg Config) (*Server, error) {
	if cfg.User == "" {
		cfg.User, cfg.Password = "svc-deputy@fabrikam.test", "Sim-Passw0rd!"
	}
	s := &Server{cfg: cfg, User: cfg.User, Password: cfg.Password, stop: make(chan struct{})}
	names := make([]string, 0, len(cfg.Hosts))
	for h := range cfg.Hosts {
		names = append(names, strings.ToLower(h))
	}
	sort.Strings(names)
	cert, caPEM, err := newCerts(names)
	if err != nil {
		return nil, err
	}
	s.caPEM = caPEM
	sum := sha256.Sum256(cert.Certificate[0])
	s.LeafSHA256 = hex.EncodeToString(sum[:])

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("adsim: https listener: %w", err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tl.Close()
		return nil, fmt.Errorf("adsim: http listener: %w", err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tl.Close()
		pl.Close()
		return nil, fmt.Errorf("adsim: dns listener: %w", err)
	}
	s.HTTPSPort = tl.Addr().(*net.TCPAddr).Port
	s.HTTPPort = pl.Addr().(*net.TCPAddr).Port
	s.DNSAddr = pc.LocalAddr().String()

	// Handshake failures are what some tests provoke; they are not news.
	quiet := slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	s.https = &http.Server{Handler: s.handler("https"), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	s.plain = &http.Server{Handler: s.handler("http"), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	go s.https.Serve(tls.NewListener(tl, s.https.TLSConfig))
	go s.plain.Serve(pl)

	ready := make(chan struct{})
	s.dns = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serveDNS), NotifyStartedFunc: func() { close(ready) }}
	go s.dns.ActivateAndServe()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		s.Close()
		return nil, errors.New("adsim: dns server did not start")
	}
	return s, nil
}

// Close stops every listener and releases stalled handlers.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.https.Close()
		s.plain.Close()
		s.dns.Shutdown()
	})
}

// CAPEM is the PEM of the test CA that signed the host certificate.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Resolve returns curl-style HOST:PORT:ADDR entries aiming every configured host's
// https and http port at the simulator, and every Absent name at 127.0.0.2 (nothing
// listens there, so the connection is refused at once).
func (s *Server) Resolve() []string {
	var out []string
	for h := range s.cfg.Hosts {
		for _, p := range []int{s.HTTPSPort, s.HTTPPort} {
			out = append(out, fmt.Sprintf("%s:%d:127.0.0.1", strings.ToLower(h), p))
		}
	}
	for _, h := range s.cfg.Absent {
		for _, p := range []int{s.HTTPSPort, s.HTTPPort} {
			out = append(out, fmt.Sprintf("%s:%d:127.0.0.2", strings.ToLower(h), p))
		}
	}
	sort.Strings(out)
	return out
}

// Records returns a copy of every request received so far.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

func (s *Server) record(r Record) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

func (s *Server) handler(scheme string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		s.record(Record{Host: host, Scheme: scheme, Method: r.Method, Path: r.URL.Path,
			Authorization: r.Header.Get("Authorization")})
		hc, ok := s.cfg.Hosts[host]
		if !ok {
			http.Error(w, "unknown host", http.StatusNotFound)
			return
		}
		path := strings.ToLower(r.URL.Path)
		switch {
		case scheme == "http":
			if path == "/autodiscover/autodiscover.xml" {
				s.serveEndpoint(w, r, hc.Plain, "plain")
				return
			}
		case path == "/autodiscover/autodiscover.xml":
			s.serveEndpoint(w, r, hc.POX, "pox")
			return
		case path == "/autodiscover/autodiscover.svc":
			s.serveEndpoint(w, r, hc.SOAP, "soap")
			return
		case strings.HasPrefix(path, "/autodiscover/autodiscover.json/v1.0/"):
			s.serveEndpoint(w, r, hc.V2, "v2")
			return
		}
		http.Error(w, "not found", http.StatusNotFound)
	})
}

func (s *Server) serveEndpoint(w http.ResponseWriter, r *http.Request, e Endpoint, kind string) {
	e.Target = strings.NewReplacer("{https}", strconv.Itoa(s.HTTPSPort), "{http}", strconv.Itoa(s.HTTPPort)).Replace(e.Target)
	switch e.Mode {
	case Off:
		http.Error(w, "not found", http.StatusNotFound)
		return
	case Stall:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	case HTTPRedirect:
		st := e.Status
		if st == 0 {
			st = http.StatusFound
		}
		w.Header().Set("Location", e.Target)
		w.WriteHeader(st)
		return
	case HTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>")
		return
	case ServerError:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if kind == "pox" || kind == "soap" {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+strings.ToLower(r.Host)+`"`)
			http.Error(w, "401 - Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	switch kind {
	case "pox":
		s.servePOX(w, r, e)
	case "soap":
		s.serveSOAP(w, r, e)
	case "v2":
		s.serveV2(w, r, e)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const p = "Basic "
	if len(h) < len(p) || !strings.EqualFold(h[:len(p)], p) {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(p):]))
	if err != nil {
		return false
	}
	want := []byte(s.cfg.User + ":" + s.cfg.Password)
	return subtle.ConstantTimeCompare(raw, want) == 1
}

func (s *Server) mailbox(addr string) (Mailbox, bool) {
	m, ok := s.cfg.Mailboxes[strings.ToLower(strings.TrimSpace(addr))]
	return m, ok
}

// serveDNS answers SRV queries for _autodiscover._tcp.<domain>; everything else is NXDOMAIN.
func (s *Server) serveDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	found := false
	for _, qq := range q.Question {
		name := strings.ToLower(strings.TrimSuffix(qq.Name, "."))
		const prefix = "_autodiscover._tcp."
		if qq.Qtype != dns.TypeSRV || !strings.HasPrefix(name, prefix) {
			continue
		}
		recs, ok := s.cfg.SRV[strings.TrimPrefix(name, prefix)]
		if !ok {
			continue
		}
		found = true
		for _, r := range recs {
			port := r.Port
			if port == 0 {
				port = uint16(s.HTTPSPort)
			}
			m.Answer = append(m.Answer, &dns.SRV{
				Hdr:      dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60},
				Priority: r.Priority, Weight: r.Weight, Port: port, Target: dns.Fqdn(r.Target),
			})
		}
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// newCerts makes a throwaway CA and one leaf certificate for every name.
func newCerts(names []string) (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "adsim test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cn := "adsim"
	if len(names) > 0 {
		cn = names[0]
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// URL builds https://host:port/path for a configured host on the simulator's https port.
func (s *Server) URL(host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.HTTPSPort)) + path
}

// PlainURL builds http://host:port/path on the simulator's http port.
func (s *Server) PlainURL(host, path string) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.HTTPPort)) + path
}
