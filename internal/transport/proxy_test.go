package transport

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// connectProxy is an HTTP proxy that only does CONNECT, sending every tunnel to target
// (like a proxy that resolves the names itself), and optionally demands Basic auth.
func connectProxy(t *testing.T, target string, auth string) (*url.URL, *atomic.Int64) {
	var tunnels atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		if auth != "" && r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(auth)) {
			w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tunnels.Add(1)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			io.Copy(up, brw)
			up.Close()
		}()
		io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u, &tunnels
}

func TestProxyTunnel(t *testing.T) {
	s := newNTLMServer()
	target, o := s.start(t)
	// The proxy reaches the server; the client never dials it directly.
	var direct atomic.Int64
	realDial := o.Dial
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "ex01.") {
			direct.Add(1)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	serverAddr := func() string {
		c, err := realDial(context.Background(), "tcp", "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.RemoteAddr().String()
	}()

	const proxyAuth = "alice:Pr0xy-Secret"
	pu, tunnels := connectProxy(t, serverAddr, proxyAuth)
	pu.User = url.UserPassword("alice", "Pr0xy-Secret")
	o.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
	var n atomic.Int64
	o.Requests = &n
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	const calls = 5
	for i := 0; i < calls; i++ {
		if st, err := post(context.Background(), c, target, soapBody); err != nil || st != 200 {
			t.Fatalf("call %d through proxy: %d %v", i, st, err)
		}
	}
	if direct.Load() != 0 {
		t.Errorf("dialled the server directly %d times", direct.Load())
	}
	// One tunnel carries the NTLM connection (plus at most one for learning the pin).
	if tunnels.Load() < 1 || tunnels.Load() > 2 || n.Load() != calls+2 {
		t.Errorf("tunnels %d, requests %d; want 1–2 and %d", tunnels.Load(), n.Load(), calls+2)
	}

	// Wrong proxy credentials: a clear error without the password.
	pu.User = url.UserPassword("alice", "wrong-Proxy-Pass")
	c, _ = NewClient(o)
	_, err = post(context.Background(), c, target, soapBody)
	if err == nil || !strings.Contains(err.Error(), "407") || !strings.Contains(err.Error(), "refused the tunnel") {
		t.Errorf("proxy auth failure: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-Proxy-Pass") {
		t.Errorf("proxy password in error: %v", err)
	}
}
