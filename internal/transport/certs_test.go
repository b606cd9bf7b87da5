package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// testCert is a generated certificate with its key.
type testCert struct {
	cert *x509.Certificate
	tls  tls.Certificate
}

func (c testCert) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

type certSpec struct {
	cn        string
	dns       []string
	ips       []net.IP
	notBefore time.Time
	notAfter  time.Time
	isCA      bool
	parent    *testCert // nil: self-signed
}

var serial atomic.Int64

func makeCert(t testing.TB, s certSpec) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"Deputy test"}},
		DNSNames:              s.dns,
		IPAddresses:           s.ips,
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if s.isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	parent, signer := tmpl, any(key)
	if s.parent != nil {
		parent, signer = s.parent.cert, s.parent.tls.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if s.parent != nil {
		chain = append(chain, s.parent.cert.Raw)
	}
	return testCert{cert: c, tls: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: c}}
}

// tlsServer serves h over TLS with whatever certificate *cur holds at handshake time.
// setup, if given, adjusts the server before it starts.
func tlsServer(t testing.TB, cur *atomic.Pointer[testCert], h http.Handler, setup ...func(*http.Server)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	for _, f := range setup {
		f(srv.Config)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := cur.Load()
		return &c.tls, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func staticServer(t testing.TB, c testCert, h http.Handler, setup ...func(*http.Server)) *httptest.Server {
	var p atomic.Pointer[testCert]
	p.Store(&c)
	return tlsServer(t, &p, h, setup...)
}

// resolve maps every address to the test server, like curl --resolve: the URL keeps
// the host name the certificate is checked against.
func resolve(srv *httptest.Server) func(ctx context.Context, network, addr string) (net.Conn, error) {
	target := srv.Listener.Addr().String()
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte("ok"))
})
