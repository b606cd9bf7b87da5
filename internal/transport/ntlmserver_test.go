package transport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM is defined on MD4 (MS-NLMP NTOWFv2); no other hash can verify it
	"golang.org/x/crypto/md4"
)

// ntlmServer is a small IIS-like NTLMv2 server for tests: the handshake is bound to the
// TCP connection, the NTLMv2 response is verified against the password, and a connection
// once authenticated stays authenticated (so an anonymous request on it is served).
type ntlmServer struct {
	domain, user, upn, password string
	keyExch                     bool // set NTLMSSP_NEGOTIATE_KEY_EXCH, which go-ntlmssp refuses
	closeAfterChallenge         bool // like a proxy that doesn't keep the connection
	offer                       []string
	body                        string // if set, every served request must carry exactly this body

	requests, conns, handshakes, rejected, badBody atomic.Int64
	// last request's headers, to check what the client sent
	mu      sync.Mutex
	headers []http.Header
}

type ntlmConnKey struct{}

type ntlmConn struct {
	mu        sync.Mutex
	used      bool // served a request: counted in ntlmServer.conns
	challenge []byte
	authed    bool
}

func newNTLMServer() *ntlmServer {
	return &ntlmServer{domain: "CONTOSO", user: "svc-deputy", upn: "svc-deputy@contoso.com",
		password: "S3cret-Ntlm-Pässwörd", offer: []string{"Negotiate", "NTLM"}}
}

// start serves s over TLS with a self-signed certificate; it returns the URL and the
// options (pin + dial) that reach it.
func (s *ntlmServer) start(t testing.TB) (string, Options) {
	c := makeCert(t, certSpec{cn: "ex01.contoso.test", dns: []string{"ex01.contoso.test"}})
	srv := staticServer(t, c, s, func(hs *http.Server) {
		hs.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, ntlmConnKey{}, &ntlmConn{})
		}
	})
	return "https://ex01.contoso.test:" + port(srv) + "/EWS/Exchange.asmx", Options{
		TLS:  TLSOptions{PinSHA256: Fingerprint(c.cert)},
		Dial: resolve(srv),
		Auth: Auth{Scheme: "ntlm", User: s.domain + `\` + s.user, Password: s.password},
		// Fail fast if a leg ever waits for a busy connection again.
		Timeout: 10 * time.Second,
	}
}

func (s *ntlmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	st := r.Context().Value(ntlmConnKey{}).(*ntlmConn)
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.used {
		// Counted here rather than in ConnState: connections that fail the TLS handshake
		// (the client learning a pinned certificate) carry no HTTP.
		st.used = true
		s.conns.Add(1)
	}
	if r.ProtoMajor != 1 {
		http.Error(w, "HTTP/1.1 required", http.StatusHTTPVersionNotSupported)
		return
	}
	if !st.authed {
		scheme, blob, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		msg, _ := base64.StdEncoding.DecodeString(blob)
		switch {
		case (scheme == "NTLM" || scheme == "Negotiate") && msgType(msg) == 1:
			st.challenge = make([]byte, 8)
			rand.Read(st.challenge)
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(s.challengeMsg(st.challenge)))
			if s.closeAfterChallenge {
				w.Header().Set("Connection", "close")
			}
			iis401(w)
			return
		case (scheme == "NTLM" || scheme == "Negotiate") && msgType(msg) == 3 && st.challenge != nil:
			if !s.verify(st.challenge, msg) {
				s.rejected.Add(1)
				st.challenge = nil
				s.unauthorized(w)
				return
			}
			s.handshakes.Add(1)
			st.authed = true
		default:
			s.unauthorized(w)
			return
		}
	}
	if s.body != "" && body.String() != s.body {
		s.badBody.Add(1)
		http.Error(w, "body mangled", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(`<?xml version="1.0"?><ok/>`))
}

func (s *ntlmServer) unauthorized(w http.ResponseWriter) {
	for _, o := range s.offer {
		w.Header().Add("WWW-Authenticate", o)
	}
	iis401(w)
}

// iis401 answers 401 with a body, as IIS does (its 401.2 page is ~1.3 KB of HTML): a
// client that leaves one unread while sending the next leg on its only connection hangs.
func iis401(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(strings.Repeat("<p>401 - Unauthorized: Access is denied due to invalid credentials.</p>\n", 18)))
}

func msgType(m []byte) uint32 {
	if len(m) < 12 || string(m[:8]) != "NTLMSSP\x00" {
		return 0
	}
	return binary.LittleEndian.Uint32(m[8:12])
}

func u16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromU16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func av(id uint16, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func (s *ntlmServer) challengeMsg(challenge []byte) []byte {
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(time.Now().UnixNano()/100)+116444736000000000)
	info := av(2, u16(s.domain))
	info = append(info, av(1, u16("EX01"))...)
	info = append(info, av(4, u16("contoso.test"))...)
	info = append(info, av(3, u16("ex01.contoso.test"))...)
	info = append(info, av(7, ts)...)
	info = append(info, av(0, nil)...)
	target := u16(s.domain)

	flags := uint32(1 | 4 | 1<<9 | 1<<15 | 1<<16 | 1<<19 | 1<<23 | 1<<29 | 1<<31)
	if s.keyExch {
		flags |= 1 << 30
	}
	const head = 56
	m := []byte("NTLMSSP\x00")
	m = binary.LittleEndian.AppendUint32(m, 2)
	m = appendVar(m, len(target), head)
	m = binary.LittleEndian.AppendUint32(m, flags)
	m = append(m, challenge...)
	m = append(m, make([]byte, 8)...)
	m = appendVar(m, len(info), head+len(target))
	m = append(m, 10, 0, 0x61, 0x4a, 0, 0, 0, 15) // version 10.0.19041, NTLM rev 15
	m = append(m, target...)
	return append(m, info...)
}

func appendVar(b []byte, n, off int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}

// field reads the varField at off; nil if out of bounds (hostile input must not panic).
func field(m []byte, off int) []byte {
	if len(m) < off+8 {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(m[off:]))
	p := int(binary.LittleEndian.Uint32(m[off+4:]))
	if p < 0 || p+n > len(m) {
		return nil
	}
	return m[p : p+n]
}

// verify checks an AUTHENTICATE message: the account is ours and NTProofStr =
// HMAC-MD5(NTOWFv2, serverChallenge || blob) with NTOWFv2 from the password.
func (s *ntlmServer) verify(challenge, m []byte) bool {
	nt := field(m, 20)
	if len(nt) < 16+28 {
		return false
	}
	user, domain := fromU16(field(m, 36)), fromU16(field(m, 28))
	ours := (strings.EqualFold(user, s.user) && strings.EqualFold(domain, s.domain)) ||
		(domain == "" && strings.EqualFold(user, s.upn))
	if !ours {
		return false
	}
	h := md4.New()
	h.Write(u16(s.password))
	ntowf := hmacMD5(h.Sum(nil), u16(strings.ToUpper(user)+domain))
	proof := hmacMD5(ntowf, challenge, nt[16:])
	return hmac.Equal(proof, nt[:16])
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}
