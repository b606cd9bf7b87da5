package exchangesim

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

func ntlmClient(s *Server) *http.Client {
	return &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: transport(s)}, Timeout: 10 * time.Second}
}

func TestNTLM(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	tests := []struct {
		name, user, pass string
		status           int
	}{
		{"upn", s.User, s.Password, 200},
		{"domain backslash user", s.Domain + `\svc-deputy`, s.Password, 200},
		{"lower-case netbios", `fabrikam\svc-deputy`, s.Password, 200},
		{"wrong password", s.User, "not-the-password", 401},
		{"unknown user", `FABRIKAM\mallory`, s.Password, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.ResetCounters()
			c := ntlmClient(s)
			body := []byte(getFolder("anna.berg@fabrikam.test"))
			r := post(t, c, s.URL, body, basic(tc.user, tc.pass))
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			cnt := s.Counters()
			if tc.status == 401 {
				if cnt.AuthFailures != 1 || cnt.NTLMHandshakes != 0 {
					t.Errorf("AuthFailures %d NTLMHandshakes %d, want 1 and 0", cnt.AuthFailures, cnt.NTLMHandshakes)
				}
				return
			}
			if r.code() != "NoError" {
				t.Fatalf("code %s", r.code())
			}
			// anonymous → 401, type 1 → 401 + challenge, type 3 → 200
			if cnt.Requests != 3 || cnt.NTLMHandshakes != 1 || cnt.Conns != 1 {
				t.Errorf("after handshake: %d requests, %d handshakes, %d conns; want 3, 1, 1", cnt.Requests, cnt.NTLMHandshakes, cnt.Conns)
			}
			// The connection stays authenticated: later requests go through first time.
			for i := 0; i < 5; i++ {
				if r := post(t, c, s.URL, body, basic(tc.user, tc.pass)); r.code() != "NoError" {
					t.Fatalf("request %d on the authenticated connection: %d %s", i, r.Status, r.code())
				}
			}
			cnt = s.Counters()
			if cnt.Requests != 8 || cnt.NTLMHandshakes != 1 || cnt.Conns != 1 {
				t.Errorf("after 5 more: %d requests, %d handshakes, %d conns; want 8, 1, 1", cnt.Requests, cnt.NTLMHandshakes, cnt.Conns)
			}
			for _, h := range cnt.AuthorizationHeaders {
				if strings.Contains(h, tc.pass) {
					t.Error("the password went over the wire in an NTLM exchange")
				}
			}
		})
	}
}

// rawNTLM drives the handshake by hand so that messages can go to chosen connections.
func rawNTLM(t *testing.T, c *http.Client, url, scheme, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(getFolder("")))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", scheme+" "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func challengeOf(t *testing.T, resp *http.Response, scheme string) []byte {
	t.Helper()
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if tok, ok := strings.CutPrefix(v, scheme+" "); ok {
			b, err := base64.StdEncoding.DecodeString(tok)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no %s challenge in %q", scheme, resp.Header.Values("WWW-Authenticate"))
	return nil
}

func TestNTLMBoundToConnection(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	for _, scheme := range []string{"NTLM", "Negotiate"} {
		t.Run(scheme, func(t *testing.T) {
			neg, err := ntlmssp.NewNegotiateMessage("", "")
			if err != nil {
				t.Fatal(err)
			}
			connA, connB := client(s), client(s)
			resp := rawNTLM(t, connA, s.URL, scheme, base64.StdEncoding.EncodeToString(neg))
			if resp.StatusCode != 401 {
				t.Fatalf("type 1: status %d", resp.StatusCode)
			}
			chal := challengeOf(t, resp, scheme)
			if ntlmType(chal) != 2 || !bytes.Contains(chal, utf16le(DemoNetBIOS)) {
				t.Fatalf("not a type 2 for %s", DemoNetBIOS)
			}
			auth, err := ntlmssp.NewAuthenticateMessage(chal, s.User, s.Password, nil)
			if err != nil {
				t.Fatalf("go-ntlmssp refuses the challenge: %v", err)
			}
			tok := base64.StdEncoding.EncodeToString(auth)
			// On another TCP connection the type 3 is refused …
			if resp := rawNTLM(t, connB, s.URL, scheme, tok); resp.StatusCode != 401 {
				t.Fatalf("type 3 on another connection: status %d, want 401", resp.StatusCode)
			}
			// … and on its own connection it is accepted (once).
			if resp := rawNTLM(t, connA, s.URL, scheme, tok); resp.StatusCode != 200 {
				t.Fatalf("type 3 on its connection: status %d, want 200", resp.StatusCode)
			}
			if resp := rawNTLM(t, connA, s.URL, scheme, ""); resp.StatusCode != 200 {
				t.Fatalf("later anonymous request on the authenticated connection: %d", resp.StatusCode)
			}
			if resp := rawNTLM(t, connB, s.URL, scheme, ""); resp.StatusCode != 401 {
				t.Fatalf("anonymous request on the other connection: %d, want 401", resp.StatusCode)
			}
			// Replaying the type 3 (its challenge is spent) fails.
			if resp := rawNTLM(t, connA, s.URL, scheme, tok); resp.StatusCode != 401 {
				t.Fatalf("replayed type 3: status %d, want 401", resp.StatusCode)
			}
		})
	}
}

func TestNTLMHostileTokens(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	for _, tok := range []string{"!!!", "", base64.StdEncoding.EncodeToString([]byte("NTLMSSP\x00\x03\x00\x00\x00")),
		base64.StdEncoding.EncodeToString(append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 80)...)),
		base64.StdEncoding.EncodeToString([]byte{0x60, 0x82, 0x01, 0x00}), // SPNEGO/Kerberos
	} {
		if resp := rawNTLM(t, c, s.URL, "NTLM", tok); resp.StatusCode != 401 {
			t.Errorf("token %q: status %d, want 401", tok, resp.StatusCode)
		}
	}
	// A type 3 arriving after a type 1 but with garbage fields is refused, not a panic.
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	rawNTLM(t, c, s.URL, "NTLM", base64.StdEncoding.EncodeToString(neg))
	bad := append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0x41}, 64)...)
	if resp := rawNTLM(t, c, s.URL, "NTLM", base64.StdEncoding.EncodeToString(bad)); resp.StatusCode != 401 {
		t.Errorf("garbage type 3: status %d", resp.StatusCode)
	}
}

func FuzzParseAuthenticate(f *testing.F) {
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	chal, _, _ := buildChallenge("FABRIKAM", "fabrikam.test")
	if auth, err := ntlmssp.NewAuthenticateMessage(chal, "a@b.c", "p", nil); err == nil {
		f.Add(auth)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if am, err := parseAuthenticate(b); err == nil {
			verifyNTLMv2(am, "p", []byte("12345678"))
		}
	})
}
