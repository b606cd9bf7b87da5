package ews

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"deputy/internal/result"
)

// DefaultMaxBody bounds how much of a reply is read (and how far a gzip body may expand).
// EWS replies to Deputy's probes are a few KiB; 8 MiB leaves room for big room lists.
const DefaultMaxBody int64 = 8 << 20

// Response is a parsed EWS reply.
type Response struct {
	HTTPStatus int
	Operation  string        // body element without "Response", e.g. GetFolder
	Server     ServerVersion // zero when the reply had no ServerVersionInfo
	Messages   []Message     // one per item; unwrapped replies (GetRoomLists) give one
}

// Message is one ResponseMessage (or the unwrapped top element of GetRoomLists/GetRooms).
type Message struct {
	Class     string // Success | Warning | Error
	Code      string // ResponseCode
	Text      string // MessageText
	Values    map[string]string
	Folders   []Folder
	Items     []ItemID
	Addresses []Address // RoomLists/Address or Rooms/Room/Id
}

// Folder is one folder of a GetFolder reply.
type Folder struct {
	ID, ChangeKey   string
	DisplayName     string
	DistinguishedID string // the DistinguishedFolderId this answers (filled in by GetFolder)
}

// ItemID identifies an item.
type ItemID struct{ ID, ChangeKey string }

// Address is a room list or room.
type Address struct{ Name, Email string }

// Parse reads any reply of an EWS endpoint: a success envelope, per-item
// ResponseMessages (Success/Warning/Error), a SOAP fault, an HTTP-level failure
// (401/403/503/302…), HTML or other non-XML bodies, gzip. It matches elements by local
// name only, so prefix variants (soap:, s:, SOAP-ENV:, default namespace), a BOM or a
// missing XML declaration all work — and so do the https:// namespaces of Microsoft's
// docs samples (a tolerant reader: the namespace adds no information here, and
// rejecting them would turn a harmless quirk into a misleading not-ews verdict).
//
// The error, when not nil, is the first failure as *Error; the Response is returned
// whenever the body was an EWS envelope, so callers can still read the items that
// succeeded (e.g. calendar OK, inbox denied).
func Parse(status int, h http.Header, body []byte) (*Response, error) {
	return parse(status, h, body, DefaultMaxBody)
}

func parse(status int, h http.Header, body []byte, max int64) (*Response, error) {
	if h == nil {
		h = http.Header{}
	}
	base := Error{
		HTTPStatus:  status,
		ContentType: h.Get("Content-Type"),
		Diagnostics: clean(h.Get("X-Ms-Diagnostics"), 300),
		CasError:    clean(h.Get("X-CasErrorCode"), 200),
	}
	fail := func(code string, class result.Class, msg string) (*Response, error) {
		e := base
		e.Code, e.Class, e.Message = code, class, msg
		return nil, &e
	}

	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		// Normally net/http already decoded it; a server that gzips unasked, or a
		// transport with DisableCompression, still gets a readable reply.
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fail(httpCode(status), result.NotEWS, "gzip-compressed reply could not be decoded: "+err.Error())
		}
		dec, err := io.ReadAll(io.LimitReader(zr, max+1))
		if err != nil {
			return fail(httpCode(status), result.NotEWS, "gzip-compressed reply could not be decoded: "+err.Error())
		}
		if int64(len(dec)) > max {
			return fail(httpCode(status), result.Other, fmt.Sprintf("response larger than %s — not a normal EWS reply", mib(max)))
		}
		body = dec
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))

	if status == http.StatusUnauthorized || status == http.StatusProxyAuthRequired {
		e := base
		e.Code, e.Class = httpCode(status), result.AuthFailed
		hdr := "Www-Authenticate"
		if status == http.StatusProxyAuthRequired {
			hdr = "Proxy-Authenticate"
		}
		e.AuthSchemes = authSchemes(h.Values(hdr))
		// Also what an unauthenticated probe gets; exchangelib notes that Exchange
		// sometimes answers 401 when it means "throttled", so the runner may retry once.
		e.Message = "authentication required or the credentials were rejected"
		if status == http.StatusProxyAuthRequired {
			e.Message = "an HTTP proxy between Deputy and Exchange demands its own authentication"
		}
		if len(e.AuthSchemes) == 0 && status == http.StatusUnauthorized {
			e.Message += " and offered no authentication scheme"
		}
		return nil, &e
	}

	var xmlErr error
	if looksXML(body) && !isHTMLType(base.ContentType) {
		resp, err := parseEnvelope(body, &base)
		if err == nil {
			resp.HTTPStatus = status
			if ee := firstError(resp, &base); ee != nil {
				return resp, ee
			}
			if status >= 200 && status < 300 || status == 500 {
				return resp, nil
			}
			// An envelope without an error on an unexpected status: the status decides.
		} else if fe, ok := err.(*Error); ok {
			return resp, fe // a SOAP fault
		} else {
			xmlErr = err
		}
	}
	return httpFailure(status, h, body, &base, xmlErr)
}

// httpFailure classifies a reply that is not a usable EWS envelope.
func httpFailure(status int, h http.Header, body []byte, base *Error, xmlErr error) (*Response, error) {
	e := *base
	e.Code = httpCode(status)
	text := bodyText(body)
	html := isHTMLType(base.ContentType) || looksHTML(body)
	if html || !looksXML(body) {
		e.Snippet = clean(text, 200)
	}
	what := describeBody(body, html, xmlErr)
	switch {
	case status >= 300 && status < 400:
		loc := safeURL(h.Get("Location"))
		switch {
		case strings.Contains(strings.ToLower(loc), "genericerrorpage"):
			e.Class, e.Message = result.Transient, "Exchange redirected to its generic error page (a passing outage; retry) → "+loc
		case strings.Contains(strings.ToLower(loc), "/internalsite/"):
			e.Class, e.Message = result.Other, "Exchange redirected to /internalsite/ (a certificate/TLS problem on the server) → "+loc
		default:
			e.Class, e.Message = result.NotEWS, "EWS never redirects; the endpoint sent Deputy elsewhere (a login page or a wrong URL) → "+loc
		}
	case status == http.StatusForbidden:
		e.Class, e.Message = result.AccessDenied, "the server refused access (HTTP 403): in Exchange Online a policy block — EWS disabled for the organisation or user, app not in EwsAllowedAppIDs, licence without EWS, or an application access policy"
		if h.Get("Restrict-Access-Confirm") != "" {
			e.Message += "; Restrict-Access-Confirm is set: tenant restrictions apply on this network"
		}
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		e.Class, e.Message = result.NotEWS, fmt.Sprintf("no EWS endpoint at this URL (HTTP %d); %s", status, what)
	case status == http.StatusTooManyRequests:
		e.Class, e.Message = result.Throttled, "too many requests (HTTP 429)"
		e.BackOff = retryAfter(h)
	case status == http.StatusServiceUnavailable:
		e.Class, e.Message = result.Transient, "service unavailable (HTTP 503): IIS is queueing requests or the server is restarting; back off"
		e.BackOff = retryAfter(h)
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		e.Class, e.Message = result.Transient, fmt.Sprintf("a proxy in front of Exchange failed (HTTP %d)", status)
	case status >= 500:
		if strings.Contains(text, "The specified server version is invalid") {
			e.Class, e.Message = result.VersionError, "the server rejected RequestServerVersion: The specified server version is invalid"
		} else {
			e.Class, e.Message = result.Transient, fmt.Sprintf("server error (HTTP %d) without a SOAP fault; %s", status, what)
		}
	case status >= 200 && status < 300:
		e.Class, e.Message = result.NotEWS, what+" instead of an EWS reply: forms pre-authentication (ADFS, WAP, a reverse proxy) or a wrong URL"
	default:
		e.Class, e.Message = result.Other, fmt.Sprintf("unexpected HTTP %d; %s", status, what)
	}
	if e.CasError != "" && e.Class != result.NotEWS {
		e.Message += " (CAS proxy error " + e.CasError + ")"
	}
	return nil, &e
}

func describeBody(body []byte, html bool, xmlErr error) string {
	t := bytes.TrimSpace(body)
	switch {
	case len(t) == 0:
		return "an empty body"
	case html:
		if title := htmlTitle(body); title != "" {
			return fmt.Sprintf("an HTML page titled %q", title)
		}
		return "an HTML page"
	case xmlErr != nil:
		return "XML that is not a SOAP envelope (" + clean(xmlErr.Error(), 120) + ")"
	}
	return "a body that is not XML"
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

func htmlTitle(body []byte) string {
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	if m := titleRE.FindSubmatch(body); m != nil {
		return clean(string(m[1]), 100)
	}
	return ""
}

func httpCode(status int) string {
	if status == 0 {
		return "HTTP ?"
	}
	return "HTTP " + strconv.Itoa(status)
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// safeURL keeps scheme, host and path of a redirect target: query strings of login
// pages can carry tokens or state.
func safeURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || s == "" {
		return clean(s, 100)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return clean(u.String(), 200)
}

func looksXML(b []byte) bool {
	t := bytes.TrimLeftFunc(b, unicode.IsSpace)
	return len(t) > 0 && t[0] == '<' && !looksHTML(t)
}

func looksHTML(b []byte) bool {
	t := bytes.TrimLeftFunc(b, unicode.IsSpace)
	if len(t) > 512 {
		t = t[:512]
	}
	l := bytes.ToLower(t)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html")) ||
		(bytes.HasPrefix(l, []byte("<?xml")) && bytes.Contains(l, []byte("<html")))
}

func isHTMLType(ct string) bool { return strings.Contains(strings.ToLower(ct), "html") }

func bodyText(b []byte) string {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	return string(b)
}

// clean makes server-supplied text safe for one log/report line: valid UTF-8, no control
// characters, whitespace collapsed, at most n bytes.
func clean(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// authSchemes lists the scheme names of WWW-Authenticate values, e.g. ["NTLM",
// "Negotiate"] or ["Bearer"] (auth-params and tokens are dropped: an NTLM challenge
// blob is no business of a report).
func authSchemes(values []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, s := range challengeSchemes(v) {
			if !seen[strings.ToLower(s)] {
				seen[strings.ToLower(s)] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// challengeSchemes splits one header value (RFC 7235: challenges separated by commas,
// each a scheme token then a token68 or auth-params; quoted strings may hold commas).
// An element whose first word contains '=' is an auth-param of the previous challenge.
func challengeSchemes(v string) []string {
	var out []string
	var elems []string
	inQ, from := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if inQ {
				i++
			}
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				elems = append(elems, v[from:i])
				from = i + 1
			}
		}
	}
	elems = append(elems, v[min(from, len(v)):])
	for _, el := range elems {
		f := strings.Fields(el)
		if len(f) == 0 || strings.ContainsAny(f[0], "=\"") || !isToken(f[0]) ||
			len(f) > 1 && strings.HasPrefix(f[1], "=") {
			continue
		}
		out = append(out, f[0])
	}
	return out
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 126 || r <= 32 || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}

// firstError turns the first ResponseClass="Error" message into an *Error.
func firstError(r *Response, base *Error) error {
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Class != "Error" {
			continue
		}
		e := *base
		e.Operation = r.Operation
		e.Code = m.Code
		if e.Code == "" {
			e.Code = "Error"
		}
		e.Message = clean(m.Text, 1000)
		e.Values = m.Values
		e.InnerCode = m.Values["InnerErrorResponseCode"]
		e.BackOff = backOff(m.Values)
		e.Class = classify(e.Code, e.InnerCode, m.Text+" "+m.Values["InnerErrorMessageText"], true)
		return &e
	}
	return nil
}

var suggested = regexp.MustCompile(`(?i)suggested backoff time\s*(\d+)\s*ms`)

func backOff(v map[string]string) time.Duration {
	if s, ok := v["BackOffMilliseconds"]; ok {
		if ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && ms >= 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	for _, s := range v {
		if m := suggested.FindStringSubmatch(s); m != nil {
			if ms, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	return 0
}

// errNotEnvelope reports XML whose root is not a SOAP Envelope.
var errNotEnvelope = errors.New("root element is not a SOAP Envelope")
