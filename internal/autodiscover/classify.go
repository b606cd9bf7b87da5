package autodiscover

import (
	"fmt"
	"net/http"

	"deputy/internal/result"
)

// Protocol is the kind of Autodiscover request a step makes.
type Protocol string

const (
	POX  Protocol = "POX"  // POST …/autodiscover.xml, Outlook schema
	SOAP Protocol = "SOAP" // POST …/autodiscover.svc, GetUserSettings
	V2   Protocol = "V2"   // GET …/autodiscover.json/v1.0/<address>?Protocol=EWS
	HTTP Protocol = "HTTP" // unauthenticated GET over http, only for its redirect
)

// Interpret reads one HTTP reply of the given protocol. An HTTP redirect becomes a
// KindRedirectURL answer (the caller resolves a relative Location and validates it);
// a 401/403 is auth-failed; any other status is read for an Autodiscover body first
// (SOAP faults come with 500) and classified by status when there is none.
func Interpret(p Protocol, status int, h http.Header, body []byte) (Answer, error) {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc := h.Get("Location")
		if loc == "" {
			return Answer{}, fmt.Errorf("%w: HTTP %d without Location", ErrNotAutodiscover, status)
		}
		return Answer{Kind: KindRedirectURL, Target: loc, Code: fmt.Sprintf("HTTP %d", status), Class: result.OK}, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return Answer{Kind: KindError, Code: fmt.Sprintf("HTTP %d", status), Class: result.AuthFailed,
			Message: "credentials rejected"}, nil
	}
	if p == HTTP {
		return Answer{}, fmt.Errorf("%w: HTTP %d is not a redirect", ErrNotAutodiscover, status)
	}
	var a Answer
	var err error
	switch p {
	case POX:
		var r *POXResponse
		if r, err = ParsePOX(body); err == nil {
			a = r.Answer()
		}
	case SOAP:
		var r *SOAPResponse
		if r, err = ParseSOAP(body); err == nil {
			a = r.Answer()
		}
	case V2:
		var r *V2Response
		if r, err = ParseV2JSON(body); err == nil {
			a = r.Answer()
		}
	default:
		return Answer{}, fmt.Errorf("unknown protocol %q", p)
	}
	if err == nil {
		return a, nil
	}
	if status != http.StatusOK {
		c := result.Other
		switch {
		case status == http.StatusNotFound:
			c = result.NotEWS
		case status == http.StatusTooManyRequests:
			c = result.Throttled
		case status >= 500:
			c = result.Transient
		}
		return Answer{Kind: KindError, Code: fmt.Sprintf("HTTP %d", status), Class: c,
			Message: http.StatusText(status)}, nil
	}
	return Answer{}, err
}
