// Package exchangesim is a simulated Microsoft Exchange EWS endpoint: a real HTTP(S)
// server that authenticates for real (Basic and NTLMv2 bound to the TCP connection, as
// IIS does) and answers EWS SOAP requests error for error like Exchange 2019, driven by
// a Scenario (directory, rights, mailbox states, faults). It shares no code with the
// client side on purpose: two independent implementations catch each other's mistakes.
package exchangesim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Start.
type Options struct {
	Listen    string        // host:port; default 127.0.0.1:0 (a free port)
	PlainHTTP bool          // serve http:// instead of https://
	Latency   time.Duration // added to every authenticated EWS request (cancellable)
}

// Counters are what a test can observe. Read them with Server.Counters (a snapshot).
type Counters struct {
	Requests        int64            // every HTTP request received (all paths, incl. 401 rounds)
	ByOperation     map[string]int64 // EWS operation (Body element local name) → count
	Conns           int64            // TCP connections accepted
	NTLMHandshakes  int64            // NTLM type 3 messages verified successfully
	PeakConcurrency int64            // most authenticated EWS requests in flight at once
	AuthFailures    int64            // wrong password, unknown user, bad/misplaced NTLM type 3
	// AnchorMismatches counts impersonated requests whose X-AnchorMailbox header is
	// missing or names another mailbox (Exchange then routes slowly or fails with 500/503).
	AnchorMismatches int64
	// AuthorizationHeaders holds every Authorization header value received (first
	// maxAuthHeaders), so that tests can prove which secrets went over the wire.
	AuthorizationHeaders []string
}

const maxAuthHeaders = 10000

// Server is a running simulated Exchange.
type Server struct {
	URL      string // EWS endpoint, e.g. https://127.0.0.1:port/EWS/Exchange.asmx
	SHA256   string // leaf certificate SHA-256, lower-case hex without colons ("" for plain HTTP)
	User     string // demo service account UPN (first scenario account)
	Password string // its password
	Domain   string // NetBIOS domain (for DOMAIN\user)

	sc      *Scenario
	opts    Options
	srv     *http.Server
	ln      net.Listener
	mux     *http.ServeMux
	certPEM []byte
	done    chan struct{}

	closeMu sync.Mutex
	closed  bool
	active  sync.WaitGroup

	requests, conns, ntlmOK, authFail atomic.Int64
	anchorMiss, posts                 atomic.Int64
	inflight, peak                    atomic.Int64

	mu          sync.Mutex
	byOp        map[string]int64
	authHeaders []string
	perAccount  map[string]int     // in-flight requests per principal (budget)
	throttled   map[string]bool    // throttle-once mailboxes already throttled
	items       map[string][]*item // mailbox (lower case) → calendar items
	nextConn    int64

	exo atomic.Pointer[exoMode] // Exchange Online mode (exo.go), nil on-premises
}

type item struct {
	ID, ChangeKey, Subject string
}

// Start listens and serves the scenario until Close.
func Start(sc *Scenario, o Options) (*Server, error) {
	if sc == nil {
		return nil, errors.New("exchangesim: nil scenario")
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("exchangesim: %w", err)
	}
	sc.prepare()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("exchangesim: listen %s: %w", o.Listen, err)
	}
	s := &Server{
		sc: sc, opts: o, ln: ln, mux: http.NewServeMux(), done: make(chan struct{}),
		byOp: map[string]int64{}, perAccount: map[string]int{}, throttled: map[string]bool{},
		items: map[string][]*item{},
		User:  sc.Accounts[0].User, Password: sc.Accounts[0].Password, Domain: sc.NetBIOS,
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// HTTP/1.1 only: NTLM is bound to the TCP connection (h2 would multiplex it).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(io.Discard, "", 0), // TLS handshake failures are the client's story
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			s.mu.Lock()
			s.nextConn++
			id := s.nextConn
			s.mu.Unlock()
			return context.WithValue(ctx, connKey{}, &connState{id: id})
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	serveLn := ln
	if !o.PlainHTTP {
		cert, pemBytes, sum, err := selfSigned(sc.host())
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("exchangesim: certificate: %w", err)
		}
		s.certPEM, s.SHA256 = pemBytes, sum
		serveLn = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.URL = scheme + "://" + net.JoinHostPort(host, port) + "/EWS/Exchange.asmx"
	go func() { _ = s.srv.Serve(serveLn) }()
	return s, nil
}

// Close stops the server at once: listeners, connections and stalled handlers.
func (s *Server) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.closeMu.Unlock()
	err := s.srv.Close()
	waited := make(chan struct{})
	go func() { s.active.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Second):
		return errors.New("exchangesim: handlers still running after close")
	}
	return err
}

// Mux lets callers mount more endpoints (e.g. Autodiscover) on the same server.
// /EWS/Exchange.asmx and /EWS/Services.wsdl (any case) are served before the mux.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// CertPEM is the server certificate (nil for plain HTTP).
func (s *Server) CertPEM() []byte { return s.certPEM }

// Scenario is the scenario being served.
func (s *Server) Scenario() *Scenario { return s.sc }

// Counters returns a snapshot; safe to call concurrently with traffic.
func (s *Server) Counters() Counters {
	c := Counters{
		Requests: s.requests.Load(), Conns: s.conns.Load(), NTLMHandshakes: s.ntlmOK.Load(),
		PeakConcurrency: s.peak.Load(), AuthFailures: s.authFail.Load(), ByOperation: map[string]int64{},
		AnchorMismatches: s.anchorMiss.Load(),
	}
	s.mu.Lock()
	for k, v := range s.byOp {
		c.ByOperation[k] = v
	}
	c.AuthorizationHeaders = append([]string(nil), s.authHeaders...)
	s.mu.Unlock()
	return c
}

// ResetCounters zeroes the counters (not the mailbox state: items and throttle-once stay).
func (s *Server) ResetCounters() {
	s.requests.Store(0)
	s.conns.Store(0)
	s.ntlmOK.Store(0)
	s.authFail.Store(0)
	s.anchorMiss.Store(0)
	s.peak.Store(s.inflight.Load())
	s.mu.Lock()
	s.byOp = map[string]int64{}
	s.authHeaders = nil
	s.mu.Unlock()
}

// Items is the number of calendar items created (and not deleted) in a mailbox.
func (s *Server) Items(mailbox string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items[strings.ToLower(mailbox)])
}

// LeftItems is the number of created, not deleted items over all mailboxes.
func (s *Server) LeftItems() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.items {
		n += len(v)
	}
	return n
}

func (s *Server) enter() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return false
	}
	s.active.Add(1)
	return true
}

// ServeHTTP routes: the EWS endpoint and WSDL (case-insensitive, as IIS), else the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer s.active.Done()
	s.requests.Add(1)
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		s.mu.Lock()
		for _, v := range h {
			if len(s.authHeaders) < maxAuthHeaders {
				s.authHeaders = append(s.authHeaders, v)
			}
		}
		s.mu.Unlock()
	}
	w.Header().Set("Server", "Microsoft-IIS/10.0")
	w.Header().Set("X-Powered-By", "ASP.NET")
	switch {
	case strings.EqualFold(r.URL.Path, "/EWS/Exchange.asmx"):
		if m := s.exo.Load(); m != nil {
			s.serveEXO(w, r, m) // bearer tokens and Exchange Online policies (exo.go)
			return
		}
		s.serveEWS(w, r)
	case strings.EqualFold(r.URL.Path, "/EWS/Services.wsdl"):
		s.serveWSDL(w, r)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

// selfSigned makes an ECDSA P-256 certificate for 127.0.0.1, ::1, localhost and host.
func selfSigned(host string) (tls.Certificate, []byte, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	now := time.Now()
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"Deputy simulated Exchange"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost", host},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	sum := sha256.Sum256(der)
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, p, hex.EncodeToString(sum[:]), nil
}

// wait sleeps d unless the request or the server ends first; false if interrupted.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
