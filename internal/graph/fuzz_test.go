package graph_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"deputy/internal/graph"
	"deputy/internal/result"
)

// FuzzParseError: any reply is classified into the vocabulary, bounded and one line.
func FuzzParseError(f *testing.F) {
	f.Add(404, `{"error":{"code":"ErrorInvalidUser","message":"The requested user 'x' is invalid."}}`, "")
	f.Add(403, `{"error":{"code":"ErrorAccessDenied","message":"[RAOP]","innerError":{"request-id":"1"}}}`, "")
	f.Add(429, ``, "Mon, 23 Nov 2026 19:00:00 GMT")
	f.Add(502, `<html>`, "-5")
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		e := graph.ParseError(status, http.Header{"Retry-After": {retry}}, []byte(body))
		found := false
		for _, c := range result.Classes {
			found = found || c == e.Class
		}
		if !found || e.RetryAfter < 0 {
			t.Fatalf("class %q retry %s", e.Class, e.RetryAfter)
		}
		for _, s := range []string{e.Code, e.Message, e.RequestID} {
			if strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) || len([]rune(s)) > 600 {
				t.Fatalf("unclean field %q", s)
			}
		}
	})
}

// FuzzBatchReply: whatever the $batch reply, one response per request, ids kept.
func FuzzBatchReply(f *testing.F) {
	f.Add(`{"responses":[{"id":"2","status":200,"body":{}},{"id":"1","status":404}]}`)
	f.Add(`{"responses":[{"id":"1","status":200,"headers":{"Retry-After":"x"},"body":"AAAA"}]}`)
	f.Add(`{"responses":null}`)
	var body string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer ts.Close()
	c := &graph.Client{Base: ts.URL, HTTP: ts.Client()}
	f.Fuzz(func(t *testing.T, reply string) {
		body = reply
		reqs := []graph.Request{graph.CalendarRequest("1", "a@b.test"), graph.CalendarRequest("2", "c@d.test")}
		resps, err := c.Batch(t.Context(), reqs)
		if err != nil {
			return
		}
		if len(resps) != 2 || resps[0].ID != "1" || resps[1].ID != "2" {
			t.Fatalf("responses %+v", resps)
		}
		for _, r := range resps {
			_, _ = graph.ParseCalendar(r)
			_, _ = graph.ParseEventID(r)
		}
	})
}

// FuzzDecodeClaims: a hostile token never panics the token check nor appears in it.
func FuzzDecodeClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJyb2xlcyI6WyJDYWxlbmRhcnMuUmVhZCJdfQ.c2ln")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c := graph.CheckToken(tok, true, graph.Situation{}, time.Unix(1795000000, 0))
		if len(tok) > 12 && strings.Contains(c.Summary+c.Remediation+strings.Join(c.Evidence, ""), tok) {
			t.Fatal("token echoed")
		}
	})
}
