package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParsePin(t *testing.T) {
	const want = "3fa0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e"
	colons := ""
	for i := 0; i < len(want); i += 2 {
		if i > 0 {
			colons += ":"
		}
		colons += strings.ToUpper(want[i : i+2])
	}
	tests := []struct {
		in      string
		want    string
		errPart string
	}{
		{in: want, want: want},
		{in: strings.ToUpper(want), want: want},
		{in: colons, want: want},
		{in: strings.ReplaceAll(colons, ":", " "), want: want},
		{in: "  sha256 Fingerprint=" + colons + "\n", want: want},
		{in: "SHA256:" + want, want: want},
		{in: want[:40], errPart: "SHA-1 thumbprint"},
		{in: want[:40], errPart: "got 40"},
		{in: "", errPart: "empty"},
		{in: want + "00", errPart: "got 66"},
		{in: want[:63] + "g", errPart: `"g" at position 64`},
		{in: "sha256//AbCdEf==", errPart: "not a hex digit"},
	}
	for _, tc := range tests {
		got, err := ParsePin(tc.in)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("ParsePin(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func tlsKind(err error) TLSErrorKind {
	var te *TLSError
	if errors.As(err, &te) {
		return te.Kind
	}
	return ""
}

// TestTrust runs the trust matrix through both NewClient and Inspect.
func TestTrust(t *testing.T) {
	ca := makeCert(t, certSpec{cn: "Contoso Test CA", isCA: true})
	caFile := writeFile(t, "ca.pem", ca.pem())
	const host = "exchange.contoso.test"
	selfSigned := makeCert(t, certSpec{cn: host, dns: []string{host}})
	selfOther := makeCert(t, certSpec{cn: "EX01", dns: []string{"ex01.contoso.local"}})
	valid := makeCert(t, certSpec{cn: host, dns: []string{host}, parent: &ca})
	otherHost := makeCert(t, certSpec{cn: "mail.fabrikam.test", dns: []string{"mail.fabrikam.test"}, parent: &ca})
	expired := makeCert(t, certSpec{cn: host, dns: []string{host}, parent: &ca,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	cnOnly := makeCert(t, certSpec{cn: host})
	notYet := makeCert(t, certSpec{cn: host, dns: []string{host}, parent: &ca,
		notBefore: time.Now().Add(24 * time.Hour), notAfter: time.Now().Add(48 * time.Hour)})

	tests := []struct {
		name    string
		cert    testCert
		opts    TLSOptions
		want    TLSErrorKind // "" = trusted
		wantMsg string
	}{
		{name: "self-signed, no pin", cert: selfSigned, want: Untrusted, wantMsg: "--pin-sha256 " + Fingerprint(selfSigned.cert)},
		{name: "self-signed, right pin", cert: selfSigned, opts: TLSOptions{PinSHA256: Fingerprint(selfSigned.cert)}},
		{name: "self-signed, right pin with colons upper case", cert: selfSigned, opts: TLSOptions{PinSHA256: colonPin(Fingerprint(selfSigned.cert))}},
		{name: "self-signed, wrong pin", cert: selfSigned, opts: TLSOptions{PinSHA256: Fingerprint(selfOther.cert)}, want: PinMismatch, wantMsg: "pin is " + Fingerprint(selfOther.cert)},
		{name: "self-signed for another name, no pin", cert: selfOther, want: Untrusted},
		{name: "self-signed for another name, pinned", cert: selfOther, opts: TLSOptions{PinSHA256: Fingerprint(selfOther.cert)}},
		{name: "CA-signed, no CA file", cert: valid, want: Untrusted, wantMsg: "--ca-file"},
		{name: "CA-signed, CA file", cert: valid, opts: TLSOptions{CAFile: caFile}},
		{name: "CA-signed, CA file, pin of another cert", cert: valid, opts: TLSOptions{CAFile: caFile, PinSHA256: Fingerprint(selfSigned.cert)}, want: PinMismatch},
		{name: "CA-signed for another host", cert: otherHost, opts: TLSOptions{CAFile: caFile}, want: HostMismatch, wantMsg: "mail.fabrikam.test"},
		{name: "CA-signed for another host, pinned", cert: otherHost, opts: TLSOptions{CAFile: caFile, PinSHA256: Fingerprint(otherHost.cert)}},
		{name: "expired", cert: expired, opts: TLSOptions{CAFile: caFile}, want: Expired, wantMsg: "expired"},
		{name: "expired, pinned", cert: expired, opts: TLSOptions{PinSHA256: Fingerprint(expired.cert)}, want: Expired},
		{name: "pinned, no SAN at all", cert: cnOnly, opts: TLSOptions{PinSHA256: Fingerprint(cnOnly.cert)}, want: HostMismatch, wantMsg: "subject alternative name"},
		{name: "not yet valid", cert: notYet, opts: TLSOptions{CAFile: caFile}, want: Expired, wantMsg: "not valid before"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := staticServer(t, tc.cert, okHandler)
			url := "https://" + host + ":" + port(srv) + "/EWS/Exchange.asmx"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			c, err := NewClient(Options{TLS: tc.opts, Dial: resolve(srv)})
			if err != nil {
				t.Fatal(err)
			}
			status, err := get(ctx, c, url)
			if got := tlsKind(err); got != tc.want {
				t.Fatalf("request: kind %q (err %v), want %q", got, err, tc.want)
			}
			if tc.want == "" && status != 200 {
				t.Fatalf("status %d", status)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("message %q lacks %q", err, tc.wantMsg)
			}

			info, err := InspectDial(ctx, url, tc.opts, resolve(srv))
			if got := tlsKind(err); got != tc.want {
				t.Fatalf("Inspect: kind %q (err %v), want %q", got, err, tc.want)
			}
			if info == nil {
				t.Fatal("Inspect returned no certificate")
			}
			if info.SHA256 != Fingerprint(tc.cert.cert) || info.Trusted != (tc.want == "") {
				t.Errorf("Inspect: sha256 %s trusted %v; want %s trusted %v", info.SHA256, info.Trusted, Fingerprint(tc.cert.cert), tc.want == "")
			}
			if info.Subject == "" || info.Issuer == "" || info.NotAfter.IsZero() || len(info.DNSNames) != len(tc.cert.cert.DNSNames) {
				t.Errorf("Inspect: incomplete info %+v", info)
			}
			if err != nil {
				var te *TLSError
				errors.As(err, &te)
				if te.Cert == nil || te.Cert.SHA256 != info.SHA256 {
					t.Errorf("TLSError.Cert = %+v, want the server's certificate", te.Cert)
				}
			}
		})
	}
}

func colonPin(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(h[i : i+2]))
	}
	return b.String()
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// TestPinSwap: a client pinned to certificate A keeps working while the server shows A,
// and refuses the next connection once the server shows B — even a CA-valid B.
func TestPinSwap(t *testing.T) {
	ca := makeCert(t, certSpec{cn: "Swap CA", isCA: true})
	a := makeCert(t, certSpec{cn: "a", dns: []string{"localhost"}})
	b := makeCert(t, certSpec{cn: "b", dns: []string{"localhost"}, parent: &ca})
	var cur atomic.Pointer[testCert]
	cur.Store(&a)
	srv := tlsServer(t, &cur, okHandler)
	url := "https://localhost:" + port(srv) + "/"
	opts := TLSOptions{PinSHA256: Fingerprint(a.cert), CAFile: writeFile(t, "ca.pem", ca.pem())}
	c, err := NewClient(Options{TLS: opts, Dial: resolve(srv)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if st, err := get(ctx, c, url); err != nil || st != 200 {
			t.Fatalf("call %d with cert A: %d %v", i, st, err)
		}
	}
	cur.Store(&b)
	c.CloseIdleConnections()
	_, err = get(ctx, c, url)
	var te *TLSError
	if !errors.As(err, &te) || te.Kind != PinMismatch {
		t.Fatalf("after swap: %v, want PinMismatch", err)
	}
	if te.Cert == nil || te.Cert.SHA256 != Fingerprint(b.cert) {
		t.Errorf("PinMismatch cert = %+v, want B", te.Cert)
	}
	if _, err := Inspect(ctx, url, opts); err == nil {
		// Inspect dials the real address (127.0.0.1 via "localhost"); it must refuse B too.
		t.Fatal("Inspect trusted the swapped certificate")
	}
}

func TestCAFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", "/nonexistent/ca.pem", "CA file"},
		{"not PEM", writeFile(t, "junk.pem", []byte("hello")), "no PEM certificate"},
	} {
		_, err := NewClient(Options{TLS: TLSOptions{CAFile: tc.path}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewClient(Options{TLS: TLSOptions{PinSHA256: "abcd"}}); err == nil {
		t.Error("bad pin accepted")
	}
}

func TestPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(okHandler)
	defer srv.Close()
	for _, allow := range []bool{false, true} {
		c, err := NewClient(Options{TLS: TLSOptions{AllowHTTP: allow}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := get(context.Background(), c, srv.URL)
		if allow && (err != nil || st != 200) {
			t.Errorf("AllowHTTP: %d %v", st, err)
		}
		if !allow && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("http:// without AllowHTTP: %v, want ErrPlainHTTP", err)
		}
	}
	if _, err := Inspect(context.Background(), srv.URL, TLSOptions{}); !errors.Is(err, ErrPlainHTTP) {
		t.Errorf("Inspect http://: %v", err)
	}
	if _, err := Inspect(context.Background(), "ftp://x", TLSOptions{}); err == nil {
		t.Error("Inspect ftp:// accepted")
	}
}

// TestHandshakeStall: a server that accepts TCP and never speaks TLS is given up on at
// the caller's deadline, as a Handshake error that still says "deadline exceeded".
func TestHandshakeStall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Inspect(ctx, "https://"+ln.Addr().String()+"/", TLSOptions{})
	if tlsKind(err) != Handshake || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want Handshake wrapping DeadlineExceeded", err)
	}
	// Generous bound: this checks the deadline is honoured at all, not speed.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
