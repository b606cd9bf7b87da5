package transport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"deputy/internal/result"
)

// leaks lists the ways secret shows in text: plainly, as any 8+ character piece, UTF-16LE,
// escaped, or inside any base64 run (decoded at every alignment, both alphabets). It is
// written independently of the recorder's own list of forms.
func leaks(text, secret string) []string {
	var found []string
	for _, f := range []struct{ name, s string }{
		{"plain", secret}, {"query-escaped", url.QueryEscape(secret)}, {"html-escaped", html.EscapeString(secret)},
		{"utf16le", string(testU16(secret))},
	} {
		if strings.Contains(text, f.s) {
			found = append(found, f.name)
		}
	}
	if j, _ := json.Marshal(secret); strings.Contains(text, string(j[1:len(j)-1])) {
		found = append(found, "json-escaped")
	}
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			found = append(found, "piece "+secret[i:i+8])
			break
		}
	}
	targets := [][]byte{[]byte(secret), testU16(secret)}
	for _, run := range regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}`).FindAllString(text, -1) {
		for off := 0; off < 4; off++ {
			s := run[off:]
			if len(s)%4 == 1 {
				s = s[:len(s)-1]
			}
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				b, err := enc.DecodeString(s)
				if err != nil {
					continue
				}
				for _, t := range targets {
					if bytes.Contains(b, t) {
						found = append(found, "base64 "+run)
					}
				}
			}
		}
	}
	return found
}

func testU16(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func traceText(ts []result.Trace) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s %s %s %s %d\n%s\n%s\n", t.Step, t.Mailbox, t.Method, t.URL, t.Status, t.Request, t.Response)
	}
	return b.String()
}

// echoes returns a response body quoting secret in every form a careless server (or an
// OAuth endpoint) might: plain, escaped, in token fields, and base64 at each alignment.
func echoes(secret string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<Error>bad password %s / %s</Error>\n", html.EscapeString(secret), secret)
	fmt.Fprintf(&b, `{"access_token":%q,"note":"%s"}`+"\n", secret, url.QueryEscape(secret))
	for k := 0; k < 3; k++ {
		pre := strings.Repeat("p", k)
		fmt.Fprintf(&b, "blob%d=%s\n", k, base64.StdEncoding.EncodeToString([]byte(pre+secret+"/tail")))
		fmt.Fprintf(&b, "wide%d=%s\n", k, base64.URLEncoding.EncodeToString(append([]byte(pre), testU16(secret)...)))
	}
	return b.String()
}

// TestRecorderRedaction runs Basic, NTLM and bearer calls whose secrets the server echoes
// back in many forms and checks that no trace carries any of them.
func TestRecorderRedaction(t *testing.T) {
	const password = "Zq7!hunter2&<Ünïcode> pw"
	const jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	const opaque = "opaque-Token_4f9a8b7c6d5e"

	echo := func(secret string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "X-BackEndCookie", Value: "cookie-backend-server-id"})
			w.Header().Set("X-Echo", "Bearer "+base64.StdEncoding.EncodeToString([]byte(secret)))
			w.Write([]byte(echoes(secret)))
		}
	}

	type call struct {
		name    string
		secrets []string
		run     func(t *testing.T, rec *Recorder) (steps int)
	}
	calls := []call{
		{"basic", []string{password}, func(t *testing.T, rec *Recorder) int {
			u, o := selfSignedServer(t, echo(password))
			o.Auth = Auth{Scheme: "basic", User: `CONTOSO\svc`, Password: password}
			o.Recorder = rec
			c, err := NewClient(o)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(WithStep(context.Background(), "auth", ""), http.MethodPost,
				u+"?password="+url.QueryEscape(password), strings.NewReader("grant_type=password&password="+url.QueryEscape(password)+"&x="+password))
			req.Header.Set("Cookie", "session="+password)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readAll(resp)
			return 1
		}},
		{"ntlm", []string{password}, func(t *testing.T, rec *Recorder) int {
			s := newNTLMServer()
			s.password = password
			s.body = soapBody
			url, o := s.start(t)
			o.Auth.Password = password
			o.Recorder = rec
			c, err := NewClient(o)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if st, err := post(WithStep(context.Background(), "impersonation", "room1@contoso.com"), c, url, soapBody); err != nil || st != 200 {
					t.Fatalf("%d %v", st, err)
				}
			}
			return 4 // probe, negotiate, authenticate, then one request
		}},
		{"bearer-jwt", []string{jwt}, func(t *testing.T, rec *Recorder) int {
			url, o := selfSignedServer(t, echo(jwt))
			o.Auth = Auth{Scheme: "bearer", Token: func(context.Context) (string, error) { return jwt, nil }}
			o.Recorder = rec
			c, _ := NewClient(o)
			get(context.Background(), c, url)
			return 1
		}},
		{"bearer-opaque", []string{opaque}, func(t *testing.T, rec *Recorder) int {
			url, o := selfSignedServer(t, echo(opaque))
			o.Auth = Auth{Scheme: "bearer", Token: func(context.Context) (string, error) { return opaque, nil }}
			o.Recorder = rec
			c, _ := NewClient(o)
			get(context.Background(), c, url)
			return 1
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecorder(100)
			want := tc.run(t, rec)
			ts := rec.Traces()
			if len(ts) != want {
				t.Fatalf("%d traces, want %d:\n%s", len(ts), want, traceText(ts))
			}
			text := traceText(ts)
			for _, s := range tc.secrets {
				if l := leaks(text, s); len(l) > 0 {
					t.Errorf("secret leaked as %v in:\n%s", l, text)
				}
			}
			if strings.Contains(text, "cookie-") {
				t.Errorf("cookie value in trace:\n%s", text)
			}
			for _, tr := range ts {
				if tr.Status == 0 || tr.Request == "" || !strings.Contains(tr.Response, "HTTP/1.1") {
					t.Errorf("incomplete trace %+v", tr)
				}
			}
			// Enough survives to diagnose: schemes and cookie names stay.
			switch tc.name {
			case "basic":
				for _, must := range []string{"Authorization: Basic [redacted]", "Set-Cookie: X-BackEndCookie=[redacted]", "Cookie: session=[redacted]", "bad password"} {
					if !strings.Contains(text, must) {
						t.Errorf("trace lacks %q:\n%s", must, text)
					}
				}
				if ts[0].Step != "auth" || ts[0].Method != http.MethodPost {
					t.Errorf("label %q method %q", ts[0].Step, ts[0].Method)
				}
			case "ntlm":
				for _, must := range []string{"Authorization: NTLM [redacted]", "Www-Authenticate: NTLM [redacted]", "Www-Authenticate: Negotiate\n"} {
					if !strings.Contains(text, must) {
						t.Errorf("trace lacks %q:\n%s", must, text)
					}
				}
				if strings.Contains(text, "TlRMTVNT") { // base64 "NTLMSS"
					t.Errorf("NTLM blob in trace:\n%s", text)
				}
				if ts[0].Step != "impersonation" || ts[0].Mailbox != "room1@contoso.com" || ts[0].Status != 401 || ts[3].Status != 200 {
					t.Errorf("legs: %+v", ts)
				}
				if !strings.Contains(ts[3].Request, "<GetFolder/>") {
					t.Errorf("request body missing: %s", ts[3].Request)
				}
			case "bearer-jwt", "bearer-opaque":
				if !strings.Contains(text, "Authorization: Bearer [redacted]") {
					t.Errorf("trace lacks the bearer scheme:\n%s", text)
				}
			}
		})
	}
}

func readAll(resp *http.Response) []byte {
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	return b.Bytes()
}

// TestRecorderBodies: truncation can't leave a piece of a secret, binary bodies show by
// size, the limit on traces holds, and the caller still gets the whole body.
func TestRecorderBodies(t *testing.T) {
	const secret = "Very-Secret-Value-0123456789"
	big := strings.Repeat("a", DefaultBodyLimit-10) + secret + strings.Repeat("b", 20000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(secret))
	zw.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(big))
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		case "/unread":
			w.Write([]byte(big))
		}
	})
	url, o := selfSignedServer(t, h)
	url = strings.TrimSuffix(url, "/EWS/Exchange.asmx")
	rec := NewRecorder(3)
	rec.Secret(secret)
	rec.Secret("abc") // too short to scrub sensibly: must not blank out ordinary text
	o.Recorder = rec
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := c.Get(url + "/big")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(resp); string(got) != big {
		t.Fatalf("caller got %d bytes, want %d", len(got), len(big))
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/gzip", nil)
	req.Header.Set("Accept-Encoding", "gzip") // caller asked: the body stays compressed
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	resp, err = c.Get(url + "/unread")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := 0; i < 2; i++ {
		resp, err := c.Get(url + "/big")
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
	}

	ts := rec.Traces()
	if len(ts) != 3 || rec.Dropped() != 2 {
		t.Fatalf("%d traces, %d dropped; want 3 and 2", len(ts), rec.Dropped())
	}
	if l := leaks(traceText(ts), secret); len(l) > 0 {
		t.Errorf("secret leaked: %v", l)
	}
	if n := len(ts[0].Response); n > DefaultBodyLimit+1024 {
		t.Errorf("big response trace is %d bytes", n)
	}
	if !strings.Contains(ts[0].Response, fmt.Sprintf("truncated, %d bytes in all", len(big))) || !strings.Contains(ts[0].Response, "[redacted]") {
		t.Errorf("big: %s", tail(ts[0].Response))
	}
	if !strings.Contains(ts[1].Response, "[binary body,") {
		t.Errorf("gzip: %s", ts[1].Response)
	}
	if !strings.Contains(ts[2].Response, "not read to the end") && !strings.Contains(ts[2].Response, "body not read") {
		t.Errorf("unread: %s", tail(ts[2].Response))
	}
	if strings.Contains(ts[0].Request, "[redacted]") {
		t.Errorf("short secret scrubbed ordinary text: %s", ts[0].Request)
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return "…" + s[len(s)-200:]
	}
	return s
}

// TestRedactPatterns: tokens and credential fields are scrubbed even when never registered.
func TestRedactPatterns(t *testing.T) {
	var rec *Recorder // nil: patterns only
	for _, tc := range []struct{ in, gone, kept string }{
		{`{"access_token":"abc.def-123","token_type":"Bearer"}`, "abc.def-123", `"token_type":"Bearer"`},
		{`client_id=app&client_secret=s3cr3t~value&scope=x`, "s3cr3t~value", "scope=x"},
		{`refresh_token=0.AAAbbbCCC&grant_type=refresh_token`, "0.AAAbbbCCC", "grant_type=refresh_token"},
		{`Authorization: Bearer abcdefghijklmnop`, "abcdefghijklmnop", "Bearer [redacted]"},
		{`token eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig-nature expired`, "eyJ0eXAiOiJKV1QifQ", "expired"},
		{`<t:Password>p@ss</t:Password> password=p%40ss`, "p%40ss", "<t:Password>"},
		{`<Credentials user="svc" password="hunter2 x"/>`, "hunter2", `user="svc"`},
	} {
		got := rec.Redact(tc.in)
		if strings.Contains(got, tc.gone) || !strings.Contains(got, tc.kept) {
			t.Errorf("Redact(%q) = %q", tc.in, got)
		}
	}
}

// TestRecorderConcurrent: workers share one recorder; each trace stays whole.
func TestRecorderConcurrent(t *testing.T) {
	s := newNTLMServer()
	url, o := s.start(t)
	rec := NewRecorder(10000)
	o.Recorder = rec
	var n atomic.Int64
	o.Requests = &n
	done := make(chan struct{})
	for w := 0; w < 4; w++ {
		c, err := NewClient(o)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 20; i++ {
				post(context.Background(), c, url, soapBody)
			}
		}()
	}
	for w := 0; w < 4; w++ {
		<-done
	}
	if got := len(rec.Traces()); int64(got) != n.Load() {
		t.Errorf("%d traces for %d requests", got, n.Load())
	}
}

// TestLeaksDetector keeps the redaction tests honest: the detector finds every form
// echoes() produces when nothing is redacted.
func TestLeaksDetector(t *testing.T) {
	const secret = "Zq7!hunter2&<Ünïcode> pw"
	for _, line := range strings.Split(strings.TrimSpace(echoes(secret)), "\n") {
		if len(leaks(line, secret)) == 0 {
			t.Errorf("detector misses the secret in %q", line)
		}
	}
	if l := leaks("nothing to see here, "+base64.StdEncoding.EncodeToString([]byte("other")), secret); len(l) > 0 {
		t.Errorf("false positive: %v", l)
	}
}

// A request that fails below HTTP (here: the server hangs up) is recorded, not a deadlock:
// the error path once took the recorder's lock twice.
func TestRecorderTransportErrorDoesNotHang(t *testing.T) {
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
			c.Close()
		}
	}()
	rec := NewRecorder(10)
	hc, err := NewClient(Options{TLS: TLSOptions{AllowHTTP: true}, Recorder: rec, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := hc.Get("http://" + ln.Addr().String() + "/EWS/Exchange.asmx")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a hang-up succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the recorder deadlocked on a transport error")
	}
	tr := rec.Traces()
	if len(tr) == 0 || !strings.HasPrefix(tr[len(tr)-1].Response, "error: ") {
		t.Fatalf("the failed request was not recorded: %+v", tr)
	}
}
