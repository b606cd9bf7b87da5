package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"deputy/internal/result"
)

const classOther = result.Other

// Error is a Graph error reply: the HTTP status, Graph's own error.code and message
// verbatim, the request ids Microsoft support asks for, the Retry-After of a 429/503, and
// Deputy's classification.
type Error struct {
	Status          int
	Code            string // Graph's error.code, verbatim (e.g. ErrorInvalidUser)
	Message         string // Graph's error.message (one line, bounded)
	RequestID       string // innerError.request-id
	ClientRequestID string // innerError.client-request-id
	Date            string // innerError.date
	RetryAfter      time.Duration
	Class           result.Class
}

func (e *Error) Error() string {
	s := fmt.Sprintf("graph: HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Throttled reports a 429 (the app's budget) or a 503 with Retry-After.
func (e *Error) Throttled() bool {
	return e.Status == http.StatusTooManyRequests || (e.Status == http.StatusServiceUnavailable && e.RetryAfter > 0)
}

// AccessPolicyBlocked reports Exchange Online's answer for a mailbox an Application Access
// Policy keeps the app out of: 403 ErrorAccessDenied with "[RAOP]" /
// "Blocked by tenant configured AppOnly AccessPolicy settings".
func (e *Error) AccessPolicyBlocked() bool { return accessPolicyBlocked(e.Status, e.Message) }

func accessPolicyBlocked(status int, msg string) bool {
	return status == http.StatusForbidden && (strings.Contains(msg, "[RAOP]") ||
		strings.Contains(strings.ToLower(msg), "blocked by tenant configured apponly accesspolicy"))
}

// Codes Graph uses for the cases Deputy tells apart.
const (
	CodeInvalidUser          = "ErrorInvalidUser"
	CodeMailboxNotEnabled    = "MailboxNotEnabledForRESTAPI"
	CodeAccessDenied         = "ErrorAccessDenied"
	CodeInvalidAuthToken     = "InvalidAuthenticationToken"
	CodeTooManyRequests      = "TooManyRequests"
	CodeRequestResourceNotFd = "Request_ResourceNotFound"
)

// ParseError reads Graph's error body {"error":{"code","message","innerError":{…}}} (any
// body: a proxy's HTML page or nothing at all still gives a classified error) and the
// Retry-After header.
func ParseError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date            string `json:"date"`
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if len(body) > 0 && json.Unmarshal(body, &env) == nil {
		e.Code = clean(env.Error.Code, 100)
		e.Message = clean(env.Error.Message, 600)
		e.RequestID = clean(env.Error.InnerError.RequestID, 100)
		e.ClientRequestID = clean(env.Error.InnerError.ClientRequestID, 100)
		e.Date = clean(env.Error.InnerError.Date, 60)
	} else if len(body) > 0 {
		e.Message = "the reply is not Graph's JSON error: " + clean(string(body[:min(len(body), 200)]), 200)
	}
	if h != nil {
		e.RetryAfter = retryAfter(h.Get("Retry-After"), time.Now())
		if e.RequestID == "" {
			e.RequestID = clean(h.Get("request-id"), 100)
		}
	}
	if e.Code == "" && status == http.StatusTooManyRequests {
		e.Code = CodeTooManyRequests
	}
	e.Class = Classify(status, e.Code, e.Message)
	return e
}

// Classify maps a Graph reply onto Deputy's vocabulary.
//
//	404 ErrorInvalidUser (or a directory 404)      → mailbox-not-found
//	404 MailboxNotEnabledForRESTAPI                → no-mailbox (on-premises in a hybrid, no licence, a guest)
//	403 with [RAOP] (Application Access Policy)    → impersonation-denied (out of the app's scope)
//	other 403                                      → access-denied
//	429                                            → throttled
//	401                                            → auth-failed
//	5xx                                            → transient
func Classify(status int, code, message string) result.Class {
	switch {
	case status >= 200 && status < 300:
		return result.OK
	case code == CodeMailboxNotEnabled:
		return result.NoMailbox
	case code == CodeInvalidUser || code == CodeRequestResourceNotFd:
		return result.MailboxNotFound
	case status == http.StatusTooManyRequests:
		return result.Throttled
	case status == http.StatusUnauthorized || code == CodeInvalidAuthToken:
		return result.AuthFailed
	case accessPolicyBlocked(status, message):
		return result.ImpersonationDenied
	case status == http.StatusForbidden:
		return result.AccessDenied
	case status >= 500 || status == 0:
		return result.Transient
	}
	return result.Other
}

// clean makes server text safe to show: one line, printable, bounded.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
