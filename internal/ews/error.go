package ews

import (
	"fmt"
	"strings"
	"time"

	"deputy/internal/result"
)

// Error is one failed EWS call, classified. It carries what Exchange said (Code verbatim,
// Message) and the HTTP facts an admin needs to find the cause, never the request or
// response body (only Snippet: the sanitised start of a body that was not XML).
type Error struct {
	HTTPStatus int
	// Code is Exchange's ResponseCode verbatim (e.g. ErrorImpersonateUserDenied); for a
	// SOAP fault without one, the faultcode (e.g. soap:Client); for HTTP-level failures
	// "HTTP 401", "HTTP 503", …; for transport failures "timeout", "connection".
	Code    string
	Message string
	// InnerCode is MessageXml's InnerErrorResponseCode (ErrorInternalServerError wraps
	// e.g. ErrorServerBusy); Class follows it when it is more specific.
	InnerCode string
	BackOff   time.Duration // BackOffMilliseconds, or Retry-After on 429/503
	Class     result.Class
	Fault     bool   // the reply was a SOAP fault (the whole request failed)
	Operation string // e.g. GetFolder, when known

	Diagnostics string   // x-ms-diagnostics header (OAuth failures in Exchange Online)
	CasError    string   // X-CasErrorCode header (CAS proxy failures)
	AuthSchemes []string // schemes offered by WWW-Authenticate on a 401
	ContentType string
	Snippet     string // first ~200 bytes of a non-XML body, sanitised
	// Values are MessageXml's name/value pairs and elements (BackOffMilliseconds,
	// MaxConcurrencyLimit, LineNumber, Violation, …).
	Values map[string]string
	// Version is the RequestServerVersion the failing request carried.
	Version string

	Err error // transport error (timeouts, resets, cancellation), if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ews")
	if e.Operation != "" {
		b.WriteString(" " + e.Operation)
	}
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
	}
	if e.InnerCode != "" {
		b.WriteString(" (inner " + e.InnerCode + ")")
	}
	if e.HTTPStatus != 0 && !strings.HasPrefix(e.Code, "HTTP ") {
		fmt.Fprintf(&b, " [HTTP %d]", e.HTTPStatus)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	} else if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.BackOff > 0 {
		fmt.Fprintf(&b, "; back off %s", e.BackOff)
	}
	if len(e.AuthSchemes) > 0 {
		b.WriteString("; server offers " + strings.Join(e.AuthSchemes, ", "))
	}
	if e.Diagnostics != "" {
		b.WriteString("; x-ms-diagnostics: " + e.Diagnostics)
	}
	if e.CasError != "" {
		b.WriteString("; X-CasErrorCode: " + e.CasError)
	}
	if e.Class != "" {
		b.WriteString(" (" + string(e.Class) + ")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
