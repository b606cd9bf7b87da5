package ews

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"deputy"
	"deputy/internal/result"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withCode turns a real per-item error reply into one with another code and text (the
// corpus has no licensed document for some codes; the shape is Exchange's).
func withCode(t testing.TB, code, text string) []byte {
	b := readSample(t, "convertid-error-invalidsmtpaddress-exchangelib.xml")
	b = bytes.Replace(b, []byte("ErrorInvalidSmtpAddress"), []byte(code), 1)
	return bytes.Replace(b, []byte("The SMTP address format is invalid."), []byte(text), 1)
}

// withFaultCode does the same for a real SOAP fault.
func withFaultCode(t testing.TB, code, text string) []byte {
	b := readSample(t, "getimitemlist-fault-incorrectschemaversion-msdocs.xml")
	b = bytes.ReplaceAll(b, []byte("ErrorIncorrectSchemaVersion"), []byte(code))
	re := regexp.MustCompile(`The request is valid but[^<]*`)
	return re.ReplaceAll(b, []byte(text))
}

var versionRE = regexp.MustCompile(`RequestServerVersion Version="([^"]+)"`)

func requestVersion(body []byte) string {
	if m := versionRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

func TestVersionStepDown(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		reject     func(t *testing.T) []byte
		ctype      string
		perMailbox bool
	}{
		{"fault ErrorIncorrectSchemaVersion", 500, func(t *testing.T) []byte {
			return readSample(t, "getimitemlist-fault-incorrectschemaversion-msdocs.xml")
		}, "text/xml; charset=utf-8", false},
		{"fault ErrorInvalidServerVersion", 500, func(t *testing.T) []byte {
			return withFaultCode(t, "ErrorInvalidServerVersion", "The specified server version is invalid.")
		}, "text/xml; charset=utf-8", false},
		{"per-item ErrorInvalidSchemaVersionForMailboxVersion", 200, func(t *testing.T) []byte {
			return withCode(t, "ErrorInvalidSchemaVersionForMailboxVersion", "The mailbox's version cannot serve this schema version.")
		}, "text/xml; charset=utf-8", true},
		{"per-item ErrorInvalidRequest about the server version", 200, func(t *testing.T) []byte {
			return withCode(t, "ErrorInvalidRequest", "Exchange Server doesn't support the requested version.")
		}, "text/xml; charset=utf-8", false},
		{"HTTP 500 text", 500, func(*testing.T) []byte {
			return []byte("The specified server version is invalid.")
		}, "text/plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplayServer(t)
			body := tt.reject(t)
			// The server speaks Exchange2010_SP1 at most.
			rs.setReply(func(w http.ResponseWriter, r *http.Request, req []byte) bool {
				if rank(requestVersion(req)) <= rank("Exchange2010_SP1") {
					return false
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write(body)
				return true
			})
			shared := NewVersion("")
			c := rs.client()
			c.Version = shared
			if _, err := c.GetFolder(context.Background(), "alice@contoso.com", "calendar"); err != nil {
				t.Fatalf("GetFolder after step-down: %v", err)
			}
			var sent []string
			for _, r := range rs.requests() {
				sent = append(sent, requestVersion(r.Body))
			}
			want := []string{"Exchange2013_SP1", "Exchange2013", "Exchange2010_SP2", "Exchange2010_SP1"}
			if fmt.Sprint(sent) != fmt.Sprint(want) {
				t.Fatalf("versions sent %v, want %v", sent, want)
			}
			// Another worker sharing the Version starts where the first ended.
			c2 := rs.client()
			c2.Version = shared
			if _, err := c2.GetRoomLists(context.Background()); err != nil {
				t.Fatal(err)
			}
			second := requestVersion(rs.requests()[len(want)].Body)
			if tt.perMailbox {
				// One mailbox on an old server must not drag every worker down.
				if second != DefaultVersion || shared.Get() != DefaultVersion {
					t.Errorf("per-mailbox version error moved the shared version: next request %s, shared %s", second, shared.Get())
				}
			} else if second != "Exchange2010_SP1" {
				t.Errorf("second worker sent %s", second)
			}
		})
	}
}

func TestVersionFloor(t *testing.T) {
	rs := newReplayServer(t)
	rs.setReply(func(w http.ResponseWriter, r *http.Request, req []byte) bool {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(500)
		w.Write(readSample(t, "getimitemlist-fault-incorrectschemaversion-msdocs.xml"))
		return true
	})
	c := rs.client()
	_, err := c.GetFolder(context.Background(), "", "msgfolderroot")
	var e *Error
	if !errors.As(err, &e) || e.Class != result.VersionError || e.Code != "ErrorIncorrectSchemaVersion" || e.Version != "Exchange2010" {
		t.Fatalf("got %v, want version-error at Exchange2010", err)
	}
	if n := len(rs.requests()); n != len(ladder) {
		t.Errorf("%d requests, want %d (one per rung)", n, len(ladder))
	}
	if c.Version.Get() != "Exchange2010" {
		t.Errorf("version %s", c.Version.Get())
	}
}

func TestVersionStepDownConcurrent(t *testing.T) {
	v := NewVersion("")
	var stepped atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v.StepDown("Exchange2013_SP1") {
				stepped.Add(1)
			}
		}()
	}
	wg.Wait()
	if v.Get() != "Exchange2013" || stepped.Load() != 50 {
		t.Fatalf("version %s after 50 concurrent step-downs from the same rung (%d told to retry); want exactly one step", v.Get(), stepped.Load())
	}
	tests := []struct {
		start, from, want string
		ok                bool
	}{
		{"Exchange2010", "Exchange2010", "Exchange2010", false},
		{"Exchange2016", "Exchange2016", "Exchange2013_SP1", true},
		{"V2017_07_11", "V2017_07_11", "Exchange2013_SP1", true},
		{"Exchange2007_SP1", "Exchange2007_SP1", "Exchange2007_SP1", false},
		{"Exchange2010_SP2", "Exchange2013", "Exchange2010_SP2", true}, // another worker went lower already
		{"Exchange2013", "Exchange2010", "Exchange2013", false},        // stale report from a lower rung
		{"bogus", "Exchange2013_SP1", "Exchange2013", true},
	}
	for _, tt := range tests {
		v := NewVersion(tt.start)
		if ok := v.StepDown(tt.from); ok != tt.ok || v.Get() != tt.want {
			t.Errorf("NewVersion(%q).StepDown(%q) = %v → %s, want %v → %s", tt.start, tt.from, ok, v.Get(), tt.ok, tt.want)
		}
	}
}

// TestImpersonationHeaders: ExchangeImpersonation and X-AnchorMailbox are sent iff
// impersonating, and the address survives escaping byte for byte.
func TestImpersonationHeaders(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	ctx := context.Background()
	for _, as := range oddAddresses {
		before := len(rs.requests())
		if _, err := c.GetFolder(ctx, as, "calendar"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.CreateCalendarItem(ctx, as, CalendarItem{Subject: "s", Start: start, End: start.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteItem(ctx, as, ItemID{ID: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetRoomsAs(ctx, as, "list@contoso.com"); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.requests()[before:] {
			anchor, hasAnchor := r.Header["X-Anchormailbox"]
			var env struct {
				SMTP []string `xml:"Header>ExchangeImpersonation>ConnectingSID>SmtpAddress"`
			}
			if err := xml.Unmarshal(r.Body, &env); err != nil {
				t.Fatalf("request is not XML: %v", err)
			}
			if as == "" {
				if hasAnchor || len(env.SMTP) != 0 || bytes.Contains(r.Body, []byte("ExchangeImpersonation")) {
					t.Errorf("%s: impersonation sent without being asked: anchor %v, header %v", operation(r.Body), anchor, env.SMTP)
				}
				continue
			}
			if len(anchor) != 1 || anchor[0] != as {
				t.Errorf("%s: X-AnchorMailbox %q, want %q", operation(r.Body), anchor, as)
			}
			if len(env.SMTP) != 1 || env.SMTP[0] != as {
				t.Errorf("%s: SmtpAddress %q, want %q", operation(r.Body), env.SMTP, as)
			}
		}
	}
	for _, r := range rs.requests() {
		if ct := r.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if ua := r.Header.Get("User-Agent"); ua != "Deputy/"+deputy.Version {
			t.Errorf("User-Agent %q", ua)
		}
	}
}

func TestInputRejectedBeforeSending(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name string
		call func() error
	}{
		{"unknown folder", func() error { _, err := c.GetFolder(ctx, "", "Calendar "); return err }},
		{"CRLF in address", func() error { _, err := c.GetFolder(ctx, "a@b.c\r\nX-Evil: 1", "inbox"); return err }},
		{"space in address", func() error { _, err := c.GetFolder(ctx, "a b@c.d"); return err }},
		{"NUL in address", func() error { _, err := c.GetFolder(ctx, "a\x00@c.d"); return err }},
		{"invalid UTF-8 address", func() error { _, err := c.GetFolder(ctx, "a\xff@c.d"); return err }},
		{"end before start", func() error {
			_, err := c.CreateCalendarItem(ctx, "", CalendarItem{Subject: "s", Start: now, End: now.Add(-time.Minute)})
			return err
		}},
		{"no times", func() error { _, err := c.CreateCalendarItem(ctx, "", CalendarItem{Subject: "s"}); return err }},
		{"control char in subject", func() error {
			_, err := c.CreateCalendarItem(ctx, "", CalendarItem{Subject: "a\x01", Start: now, End: now.Add(time.Minute)})
			return err
		}},
		{"empty item id", func() error { return c.DeleteItem(ctx, "", ItemID{}) }},
		{"empty room list", func() error { _, err := c.GetRooms(ctx, " "); return err }},
		{"no URL", func() error { _, err := (&Client{}).GetRoomLists(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInput) {
				t.Fatalf("got %v, want ErrInput", err)
			}
			if strings.ContainsAny(err.Error(), "\r\x00") {
				t.Errorf("message carries raw control characters: %q", err.Error())
			}
		})
	}
	if n := len(rs.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}

// TestHTTPFailures: the Client against a real server that misbehaves in real ways.
func TestHTTPFailures(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		class     result.Class
		code      string
		schemes   []string
		backoff   time.Duration
		fault     bool
		inMessage string
	}{
		{name: "401 NTLM challenge (recorded)", handler: func(w http.ResponseWriter, r *http.Request) {
			_, h, _, _ := loadReply(t, sample{File: "ews-401-ntlm-challenge-evolution.http"})
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(401)
		}, class: result.AuthFailed, code: "HTTP 401", schemes: []string{"NTLM", "Negotiate"}},
		{name: "401 Bearer with x-ms-diagnostics", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.windows.net/common/oauth2/authorize", error="invalid_token"`)
			w.Header().Add("WWW-Authenticate", `Basic Realm=""`)
			w.Header().Set("x-ms-diagnostics", `2000003;reason="The audience claim value is invalid 'https://graph.microsoft.com'.";error_category="invalid_resource"`)
			w.WriteHeader(401)
		}, class: result.AuthFailed, code: "HTTP 401", schemes: []string{"Bearer", "Basic"}, inMessage: "2000003"},
		{name: "HTML login page with 200", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign In</title></head><body><form>password</form></body></html>")
		}, class: result.NotEWS, code: "HTTP 200", inMessage: `"Sign In"`},
		{name: "HTML served as text/xml", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, "<html><head><title>F5</title></head></html>")
		}, class: result.NotEWS, code: "HTTP 200"},
		{name: "XML that is not SOAP", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(readSample(t, "autodiscover-pox-settings-phpews.xml"))
		}, class: result.NotEWS, code: "HTTP 200", inMessage: "not a SOAP envelope"},
		{name: "truncated XML", handler: func(w http.ResponseWriter, r *http.Request) {
			b := readSample(t, "getfolder-success-phpews.xml")
			w.Write(b[:len(b)/2])
		}, class: result.NotEWS, code: "HTTP 200"},
		{name: "empty 200", handler: func(w http.ResponseWriter, r *http.Request) {}, class: result.NotEWS, code: "HTTP 200", inMessage: "empty"},
		{name: "fault ErrorServerBusy with BackOffMilliseconds", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.WriteHeader(500)
			w.Write(readSample(t, "getroomlists-fault-serverbusy-exchangelib.xml"))
		}, class: result.Throttled, code: "ErrorServerBusy", backoff: 297749 * time.Millisecond, fault: true},
		{name: "fault ExceededConnectionCount", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write(readSample(t, "fault-exceededconnectioncount-ewsrs.xml"))
		}, class: result.Throttled, code: "ErrorExceededConnectionCount", fault: true},
		{name: "fault ErrorImpersonateUserDenied", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write(withFaultCode(t, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user."))
		}, class: result.ImpersonationDenied, code: "ErrorImpersonateUserDenied", fault: true},
		{name: "fault ErrorInternalServerError wrapping ErrorServerBusy", handler: func(w http.ResponseWriter, r *http.Request) {
			b := withFaultCode(t, "ErrorInternalServerError", "An internal server error occurred.")
			b = bytes.Replace(b, []byte("</detail>"), []byte(`<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">`+
				`<t:Value Name="InnerErrorMessageText">The server cannot service this request right now.</t:Value>`+
				`<t:Value Name="InnerErrorResponseCode">ErrorServerBusy</t:Value>`+
				`<t:Value Name="InnerErrorDescriptiveLinkKey">0</t:Value>`+
				`<t:Value Name="BackOffMilliseconds">1500</t:Value></t:MessageXml></detail>`), 1)
			w.WriteHeader(500)
			w.Write(b)
		}, class: result.Throttled, code: "ErrorInternalServerError", backoff: 1500 * time.Millisecond, fault: true},
		{name: "per-item ErrorServerBusy with m:MessageXml", handler: func(w http.ResponseWriter, r *http.Request) {
			b := withCode(t, "ErrorServerBusy", "The server cannot service this request right now. Try again later.")
			b = bytes.Replace(b, []byte("</m:DescriptiveLinkKey>"), []byte(`</m:DescriptiveLinkKey><m:MessageXml>`+
				`<t:Value Name="BackOffMilliseconds">4200</t:Value></m:MessageXml>`), 1)
			w.Write(b)
		}, class: result.Throttled, code: "ErrorServerBusy", backoff: 4200 * time.Millisecond},
		{name: "403 policy block", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) },
			class: result.AccessDenied, code: "HTTP 403"},
		{name: "503 with Retry-After", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}, class: result.Transient, code: "HTTP 503", backoff: 7 * time.Second},
		{name: "302 generic error page", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/ews/genericerrorpage.htm?aspxerrorpath=/ews/exchange.asmx", http.StatusFound)
		}, class: result.Transient, code: "HTTP 302", inMessage: "genericerrorpage.htm"},
		{name: "302 to a login page", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://adfs.contoso.com/adfs/ls/?wa=wsignin1.0&wctx=SECRETSTATE", http.StatusFound)
		}, class: result.NotEWS, code: "HTTP 302", inMessage: "adfs.contoso.com/adfs/ls/"},
		{name: "empty SOAP envelope", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`)
		}, class: result.Other, code: "HTTP 200", inMessage: "without any ResponseMessage"},
		{name: "404", handler: http.NotFound, class: result.NotEWS, code: "HTTP 404"},
		{name: "500 ASP.NET error page", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			io.WriteString(w, "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' Application.</h1></body></html>")
		}, class: result.Transient, code: "HTTP 500"},
		{name: "X-CasErrorCode", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-CasErrorCode", "BackEndLocatorException")
			w.WriteHeader(500)
		}, class: result.Transient, code: "HTTP 500", inMessage: "BackEndLocatorException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewTLSServer(tt.handler)
			defer ts.Close()
			c := &Client{URL: ts.URL + "/EWS/Exchange.asmx", HTTP: ts.Client(), Version: NewVersion("")}
			_, err := c.GetRoomLists(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			if e.Class != tt.class || e.Code != tt.code || e.BackOff != tt.backoff || e.Fault != tt.fault {
				t.Fatalf("got class=%s code=%q backoff=%s fault=%v (%v); want %s %q %s %v", e.Class, e.Code, e.BackOff, e.Fault, err,
					tt.class, tt.code, tt.backoff, tt.fault)
			}
			if tt.schemes != nil && fmt.Sprint(e.AuthSchemes) != fmt.Sprint(tt.schemes) {
				t.Errorf("schemes %q, want %q", e.AuthSchemes, tt.schemes)
			}
			if !strings.Contains(err.Error(), tt.inMessage) {
				t.Errorf("%q lacks %q", err.Error(), tt.inMessage)
			}
			if e.Operation != "GetRoomLists" {
				t.Errorf("operation %q", e.Operation)
			}
			for _, secret := range []string{"TlRMTVNT", "SECRETSTATE", "password"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text leaks %q: %s", secret, err)
				}
			}
		})
	}
}

// TestHugeBody: a reply far beyond MaxBody fails fast, without reading it all.
func TestHugeBody(t *testing.T) {
	var sent atomic.Int64
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`)
		chunk := bytes.Repeat([]byte("<a>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</a>"), 1000)
		for sent.Load() < 2<<30 { // up to 2 GiB, until the client hangs up
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer ts.Close()
	c := &Client{URL: ts.URL, HTTP: ts.Client(), MaxBody: 1 << 20}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.GetRoomLists(context.Background())
	runtime.ReadMemStats(&after)
	var e *Error
	if !errors.As(err, &e) || e.Class != result.Other || !strings.Contains(e.Message, "response larger than 1 MiB") {
		t.Fatalf("got %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB for a 1 MiB limit", alloc>>20)
	}
	if s := sent.Load(); s > 1<<30 {
		t.Errorf("server could send %d MiB: the client kept reading", s>>20)
	}
}

// TestGzipBomb: a gzip body that inflates beyond the limit is refused.
func TestGzipBomb(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`))
	zeros := make([]byte, 1<<20)
	for range 12 {
		zw.Write(zeros)
	}
	zw.Close()
	_, err := parse(200, nil, z.Bytes(), 8<<20)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "larger than 8 MiB") {
		t.Fatalf("got %v", err)
	}
}

// TestCancel: a stalled server does not hold the caller past its context.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer ts.Close()
	defer close(release)
	c := &Client{URL: ts.URL, HTTP: ts.Client()}
	for _, mode := range []string{"cancel", "deadline"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if mode == "deadline" {
				ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
			} else {
				time.AfterFunc(150*time.Millisecond, cancel)
			}
			defer cancel()
			start := time.Now()
			_, err := c.GetFolder(ctx, "alice@contoso.com")
			if d := time.Since(start); d > time.Second {
				t.Errorf("returned after %s", d)
			}
			want := context.Canceled
			if mode == "deadline" {
				want = context.DeadlineExceeded
			}
			var e *Error
			if !errors.Is(err, want) || !errors.As(err, &e) {
				t.Fatalf("got %v, want %v inside *Error", err, want)
			}
			if wantCode := map[string]string{"cancel": "cancelled", "deadline": "timeout"}[mode]; e.Class != result.Transient || e.Code != wantCode {
				t.Errorf("class %s code %s, want transient %s", e.Class, e.Code, wantCode)
			}
		})
	}
}

// TestConnectionReuse: keep-alive holds across successes and error replies — NTLM
// authenticates a connection, so a new one per request would double the traffic.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	rs := newReplayServer(t, func(s *httptest.Server) {
		s.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
	})
	var n atomic.Int32
	rs.setReply(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if n.Add(1)%2 == 0 {
			w.WriteHeader(500)
			w.Write(readSample(t, "getroomlists-fault-serverbusy-exchangelib.xml"))
			return true
		}
		return false
	})
	c := rs.client()
	for i := range 20 {
		_, err := c.GetFolder(context.Background(), "alice@contoso.com", "msgfolderroot")
		if (i%2 == 1) != (err != nil) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d TCP connections for 20 sequential requests, want 1", got)
	}
}

func TestGetFolderPartial(t *testing.T) {
	ok := readSample(t, "getfolder-success-msdocs.xml")
	bad := readSample(t, "getfolder-error-invalididmalformed-msdocs.xml")
	msg := regexp.MustCompile(`(?s)<m:GetFolderResponseMessage.*</m:GetFolderResponseMessage>`)
	both := bytes.Replace(ok, []byte("</m:ResponseMessages>"), append(msg.Find(bad), "</m:ResponseMessages>"...), 1)
	rs := newReplayServer(t)
	rs.setReply(func(w http.ResponseWriter, r *http.Request, body []byte) bool { w.Write(both); return true })
	c := rs.client()
	folders, err := c.GetFolder(context.Background(), "alice@contoso.com", "inbox", "calendar")
	var e *Error
	if !errors.As(err, &e) || e.Code != "ErrorInvalidIdMalformed" {
		t.Fatalf("err %v", err)
	}
	if len(folders) != 1 || folders[0].DistinguishedID != "inbox" || folders[0].DisplayName != "Inbox" || folders[0].ID != "AQApA=" {
		t.Fatalf("folders %+v", folders)
	}
	if sv := c.ServerVersion(); sv.String() != "8.0.628.0" {
		t.Errorf("server version %q", sv)
	}
}

func TestClientOperations(t *testing.T) {
	rs := newReplayServer(t)
	c := rs.client()
	ctx := context.Background()
	now := time.Now()
	id, err := c.CreateCalendarItem(ctx, "alice@contoso.com", CalendarItem{Subject: "s", Start: now, End: now.Add(time.Minute)})
	if err != nil || id.ID == "" || id.ChangeKey == "" {
		t.Fatalf("CreateCalendarItem = %+v, %v", id, err)
	}
	if err := c.DeleteItem(ctx, "alice@contoso.com", id); err != nil {
		t.Fatal(err)
	}
	last := rs.requests()[1].Body
	for _, want := range []string{`DeleteType="HardDelete"`, `SendMeetingCancellations="SendToNone"`, `Id="` + id.ID + `"`} {
		if !bytes.Contains(last, []byte(want)) {
			t.Errorf("DeleteItem request lacks %s", want)
		}
	}
	lists, err := c.GetRoomLists(ctx)
	if err != nil || len(lists) != 1 || lists[0].Email != "RoomList@contoso.com" {
		t.Fatalf("GetRoomLists = %+v, %v", lists, err)
	}
	rooms, err := c.GetRooms(ctx, lists[0].Email)
	if err != nil || len(rooms) != 2 || rooms[1] != (Address{"Room02", "Room02@contoso.com"}) {
		t.Fatalf("GetRooms = %+v, %v", rooms, err)
	}
	if err := c.ConvertId(ctx); err != nil {
		t.Fatalf("ConvertId: %v", err)
	}
	// The last reply (ConvertId's, recorded from Exchange 2016) had its own ServerVersionInfo.
	if got := c.ServerVersion().String(); got != "15.1.2345.6789 (V2017_07_11)" {
		t.Errorf("ServerVersion %q", got)
	}
}

// TestConvertIdAuthFailure: ConvertId reports what matters — the credentials.
func TestConvertIdAuthFailure(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", "NTLM")
		w.WriteHeader(401)
	}))
	defer ts.Close()
	err := (&Client{URL: ts.URL, HTTP: ts.Client()}).ConvertId(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Class != result.AuthFailed || fmt.Sprint(e.AuthSchemes) != "[Negotiate NTLM]" {
		t.Fatalf("got %v", err)
	}
}

// TestGzipOverTheWire: the transport asks for gzip and the reply is decoded.
func TestGzipOverTheWire(t *testing.T) {
	var asked atomic.Bool
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(strings.Contains(r.Header.Get("Accept-Encoding"), "gzip"))
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(readSample(t, "getrooms-success-howto-msdocs.xml"))
		zw.Close()
	}))
	defer ts.Close()
	rooms, err := (&Client{URL: ts.URL, HTTP: ts.Client()}).GetRooms(context.Background(), "list@contoso.com")
	if err != nil || len(rooms) == 0 || !asked.Load() {
		t.Fatalf("rooms %v, err %v, gzip asked %v", rooms, err, asked.Load())
	}
}
