package transport

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"deputy/internal/result"
)

// DefaultBodyLimit is how much of each body a trace keeps.
const DefaultBodyLimit = 8 << 10

// Recorder collects redacted traces of the HTTP exchanges of one run. It is safe for
// concurrent use by all workers; a nil *Recorder records nothing.
//
// Redaction is by construction, not by care at the call site: credential headers keep
// only their scheme, cookies only their names, NTLM/Negotiate blobs are dropped, and
// every registered secret is scrubbed from URLs, headers and bodies in its plain,
// base64 (at every byte alignment), UTF-16LE, URL-, XML- and JSON-escaped forms, as are
// JWTs and token/password fields.
type Recorder struct {
	max       int
	bodyLimit int

	mu       sync.Mutex
	traces   []*result.Trace
	dropped  int
	given    map[string]bool // secrets as registered
	secrets  map[string]bool // every form of them that is scrubbed
	replacer *strings.Replacer
}

// NewRecorder keeps at most max traces (max ≤ 0: 1000); later ones are counted as dropped.
func NewRecorder(max int) *Recorder {
	if max <= 0 {
		max = 1000
	}
	return &Recorder{max: max, bodyLimit: DefaultBodyLimit, given: map[string]bool{}, secrets: map[string]bool{}}
}

// Traces returns a copy of the traces recorded so far, in the order requests were sent.
func (r *Recorder) Traces() []result.Trace {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]result.Trace, len(r.traces))
	for i, t := range r.traces {
		out[i] = *t
	}
	return out
}

// Dropped is the number of exchanges not recorded because the limit was reached.
func (r *Recorder) Dropped() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// minSecret is the shortest string scrubbed: shorter ones would blank out ordinary text
// and say little about the secret anyway.
const minSecret = 4

// Secret registers a string (password, client secret, token) to scrub from every trace.
func (r *Recorder) Secret(s string) {
	if r == nil || len(s) < minSecret {
		return
	}
	r.mu.Lock()
	known := r.given[s]
	r.mu.Unlock()
	if known { // bearer tokens are registered on every request
		return
	}
	forms := secretForms(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.given[s] = true
	for _, f := range forms {
		r.secrets[f] = true
	}
	all := make([]string, 0, len(r.secrets))
	for f := range r.secrets {
		all = append(all, f)
	}
	// Longest first: strings.Replacer tries the old strings in argument order.
	sort.Slice(all, func(i, j int) bool {
		if len(all[i]) != len(all[j]) {
			return len(all[i]) > len(all[j])
		}
		return all[i] < all[j]
	})
	pairs := make([]string, 0, 2*len(all))
	for _, f := range all {
		pairs = append(pairs, f, "[redacted]")
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// secretForms lists the encodings under which s could appear on the wire.
func secretForms(s string) []string {
	u16 := utf16le(s)
	forms := []string{s, string(u16), url.QueryEscape(s), url.PathEscape(s), html.EscapeString(s)}
	if j, err := json.Marshal(s); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	for _, raw := range [][]byte{[]byte(s), u16} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			forms = append(forms, enc.EncodeToString(raw))
			// Inside a longer base64 text the secret can start at any of three byte
			// offsets; keep the characters that depend on the secret's bytes alone.
			for k := 0; k < 3; k++ {
				b := append(make([]byte, k), raw...)
				e := enc.WithPadding(base64.NoPadding).EncodeToString(b)
				from := (8*k + 5) / 6
				to := 8 * len(b) / 6
				if to-from >= 6 {
					forms = append(forms, e[from:to])
				}
			}
		}
	}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= minSecret {
			out = append(out, f)
		}
	}
	return out
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return b
}

var (
	jwtRE       = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{2,}(\.[A-Za-z0-9_-]*)?`)
	authBlobRE  = regexp.MustCompile(`(?i)\b(Bearer|NTLM|Negotiate|Kerberos|Basic)\s+[A-Za-z0-9+/._~-]{8,}=*`)
	jsonFieldRE = regexp.MustCompile(`(?i)"(access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|secret|token)"\s*:\s*"(?:[^"\\]|\\.)*"`)
	formFieldRE = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|code)=("[^"]*"|'[^']*'|[^&\s"'<]*)`)
)

// Redact scrubs s of registered secrets, tokens and credential fields.
func (r *Recorder) Redact(s string) string {
	if r != nil {
		r.mu.Lock()
		rep := r.replacer
		r.mu.Unlock()
		if rep != nil {
			s = rep.Replace(s)
		}
	}
	s = jwtRE.ReplaceAllString(s, "[redacted-jwt]")
	s = authBlobRE.ReplaceAllString(s, "$1 [redacted]")
	s = jsonFieldRE.ReplaceAllString(s, `"$1":"[redacted]"`)
	s = formFieldRE.ReplaceAllString(s, "$1=[redacted]")
	return s
}

func (r *Recorder) headers(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(r.Redact(redactHeader(k, v)))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// redactHeader blanks credential-bearing header values, keeping what helps diagnosis:
// the scheme, a challenge's parameters (realm), cookie names.
func redactHeader(name, v string) string {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization":
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		return scheme + " [redacted]"
	case "Www-Authenticate", "Proxy-Authenticate":
		scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
		switch strings.ToLower(scheme) {
		case "ntlm", "negotiate", "kerberos":
			if ok && strings.TrimSpace(rest) != "" {
				return scheme + " [redacted]"
			}
		}
		return v
	case "Cookie":
		parts := strings.Split(v, ";")
		for i, p := range parts {
			name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
			parts[i] = name + "=[redacted]"
		}
		return strings.Join(parts, "; ")
	case "Set-Cookie":
		name, _, _ := strings.Cut(strings.TrimSpace(v), "=")
		return name + "=[redacted]"
	}
	return v
}

// body renders a captured body for a trace: scrubbed first, then truncated (so a cut can't
// leave part of a secret), binary shown by size only.
func (r *Recorder) body(b []byte, total int64, complete bool) string {
	if len(b) == 0 {
		if complete {
			return ""
		}
		return "[body not read]"
	}
	check := b
	for i := 0; i < 3 && len(check) > 0 && !utf8.Valid(check); i++ {
		check = check[:len(check)-1]
	}
	if !utf8.Valid(check) || bytes.IndexByte(check, 0) >= 0 {
		return fmt.Sprintf("[binary body, %d bytes]", total)
	}
	s := r.Redact(string(check))
	truncated := int64(len(check)) < total
	if len(s) > r.bodyLimit {
		cut := r.bodyLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, truncated = s[:cut], true
	}
	switch {
	case !complete:
		s += "\n[… body not read to the end]"
	case truncated:
		s += fmt.Sprintf("\n[… truncated, %d bytes in all]", total)
	}
	return s
}

type stepKey struct{}

type stepLabel struct{ step, mailbox string }

// WithStep labels the traces of requests made with ctx.
func WithStep(ctx context.Context, step, mailbox string) context.Context {
	return context.WithValue(ctx, stepKey{}, stepLabel{step, mailbox})
}

// start reserves a trace slot, or returns nil when the limit is reached.
func (r *Recorder) start(t *result.Trace) *result.Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.traces) >= r.max {
		r.dropped++
		return nil
	}
	r.traces = append(r.traces, t)
	return t
}

// recording is the RoundTripper that feeds a Recorder. It sits inside the auth layer so
// it sees each request as sent — every NTLM leg, the real headers — and redacts them.
type recording struct {
	next http.RoundTripper
	rec  *Recorder
}

func (rt *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	lbl, _ := req.Context().Value(stepKey{}).(stepLabel)
	t := rt.rec.start(&result.Trace{Step: lbl.step, Mailbox: lbl.mailbox, Method: req.Method, URL: rt.rec.Redact(req.URL.Redacted())})
	if t == nil {
		return rt.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		// Close the original even on error: go-ntlmssp waits for that Close before it
		// rewinds the body for its next leg.
		req.Body.Close()
		if err != nil {
			rt.finish(t, 0, "", fmt.Sprintf("error reading request body: %v", err))
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	h := req.Header.Clone()
	h.Set("Host", host)
	reqText := fmt.Sprintf("%s %s HTTP/1.1\n%s\n%s", req.Method, rt.rec.Redact(req.URL.RequestURI()), rt.rec.headers(h), rt.rec.body(reqBody, int64(len(reqBody)), true))

	began := time.Now()
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		msg := "error: " + rt.rec.Redact(err.Error()) // Redact takes mu: call it before
		rt.rec.mu.Lock()
		t.Request = reqText
		t.DurationMs = time.Since(began).Milliseconds()
		t.Response = msg
		rt.rec.mu.Unlock()
		return nil, err
	}
	head := fmt.Sprintf("%s %s\n%s\n", resp.Proto, resp.Status, rt.rec.headers(resp.Header))
	rt.rec.mu.Lock()
	t.Request = reqText
	t.Status = resp.StatusCode
	t.DurationMs = time.Since(began).Milliseconds()
	t.Response = head + "[body not read]"
	rt.rec.mu.Unlock()
	resp.Body = &capturingBody{rc: resp.Body, limit: rt.rec.bodyLimit + 1024, done: func(b []byte, total int64, complete bool) {
		text := head + rt.rec.body(b, total, complete)
		rt.rec.mu.Lock()
		t.Response = text
		rt.rec.mu.Unlock()
	}}
	return resp, nil
}

func (rt *recording) finish(t *result.Trace, status int, req, resp string) {
	rt.rec.mu.Lock()
	defer rt.rec.mu.Unlock()
	t.Status, t.Request, t.Response = status, req, resp
}

// capturingBody keeps the first bytes of a response body as the caller reads it.
type capturingBody struct {
	rc    io.ReadCloser
	limit int
	buf   []byte
	total int64
	eof   bool
	once  sync.Once
	done  func(b []byte, total int64, complete bool)
}

func (c *capturingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if n > 0 {
		c.total += int64(n)
		if room := c.limit - len(c.buf); room > 0 {
			c.buf = append(c.buf, p[:min(n, room)]...)
		}
	}
	if err == io.EOF {
		c.eof = true
		c.once.Do(func() { c.done(c.buf, c.total, true) })
	}
	return n, err
}

func (c *capturingBody) Close() error {
	c.once.Do(func() { c.done(c.buf, c.total, c.eof) })
	return c.rc.Close()
}
