package autodiscover

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"deputy/internal/result"
)

// ErrNotAutodiscover marks a body that is not an Autodiscover answer at all (an HTML
// login page, a proxy's error page, empty or truncated XML).
var ErrNotAutodiscover = errors.New("not an Autodiscover answer")

// Kind says what an Autodiscover answer asks the client to do next.
type Kind string

const (
	KindSettings     Kind = "settings"      // the answer carries settings (maybe an EWS URL)
	KindRedirectAddr Kind = "redirect-addr" // start over with another address
	KindRedirectURL  Kind = "redirect-url"  // resend to another URL
	KindError        Kind = "error"         // the server answered with an error code
)

// Answer is the protocol-neutral reading of a POX, SOAP or v2 JSON reply.
type Answer struct {
	Kind        Kind
	EWSURL      string // external URL preferred, internal otherwise
	Target      string // new address (KindRedirectAddr) or URL (KindRedirectURL)
	DisplayName string
	CasVersion  string
	Code        string // the server's error code, "" when none
	Message     string
	Class       result.Class // ok for settings and redirects; the failure class for errors
}

// Redirect reports whether the answer points somewhere else.
func (a Answer) Redirect() bool { return a.Kind == KindRedirectAddr || a.Kind == KindRedirectURL }

// POXResponse is a POX (Outlook schema) Autodiscover reply. Elements are matched by
// local name, so the docs' https:// namespace rewrite and missing namespaces parse too.
type POXResponse struct {
	Action          string // settings | redirectAddr | redirectUrl
	RedirectAddr    string
	RedirectURL     string // from RedirectUrl or RedirectURL
	DisplayName     string
	SMTPAddress     string // AutoDiscoverSMTPAddress
	MicrosoftOnline bool
	ExternalEWSURL  string // Protocol EXPR: ASUrl, else EwsUrl
	InternalEWSURL  string // Protocol EXCH: ASUrl, else EwsUrl
	ServerVersion   string // EXCH ServerVersion (hex)
	ErrorCode       string
	ErrorMessage    string
}

type poxDoc struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	Response struct {
		User struct {
			DisplayName             string `xml:"DisplayName"`
			AutoDiscoverSMTPAddress string `xml:"AutoDiscoverSMTPAddress"`
		} `xml:"User"`
		Account struct {
			Action          string     `xml:"Action"`
			RedirectAddr    string     `xml:"RedirectAddr"`
			RedirectUrl     string     `xml:"RedirectUrl"`
			RedirectURL     string     `xml:"RedirectURL"`
			MicrosoftOnline string     `xml:"MicrosoftOnline"`
			Protocol        []poxProto `xml:"Protocol"`
		} `xml:"Account"`
		Error *poxError `xml:"Error"`
	} `xml:"Response"`
	// Some servers put Error directly under Autodiscover.
	Error *poxError `xml:"Error"`
}

type poxError struct {
	ErrorCode string `xml:"ErrorCode"`
	Message   string `xml:"Message"`
}

type poxProto struct {
	Type          string `xml:"Type"`
	ASUrl         string `xml:"ASUrl"`
	EwsUrl        string `xml:"EwsUrl"`
	ServerVersion string `xml:"ServerVersion"`
}

// ParsePOX reads a POX Autodiscover reply.
func ParsePOX(body []byte) (*POXResponse, error) {
	var d poxDoc
	if err := decodeXML(body, &d); err != nil {
		return nil, err
	}
	acc := d.Response.Account
	r := &POXResponse{
		Action:          strings.TrimSpace(acc.Action),
		RedirectAddr:    strings.TrimSpace(acc.RedirectAddr),
		RedirectURL:     strings.TrimSpace(firstNonEmpty(acc.RedirectUrl, acc.RedirectURL)),
		DisplayName:     strings.TrimSpace(d.Response.User.DisplayName),
		SMTPAddress:     strings.TrimSpace(d.Response.User.AutoDiscoverSMTPAddress),
		MicrosoftOnline: strings.EqualFold(strings.TrimSpace(acc.MicrosoftOnline), "true"),
	}
	for _, p := range acc.Protocol {
		u := strings.TrimSpace(firstNonEmpty(p.ASUrl, p.EwsUrl))
		switch strings.ToUpper(strings.TrimSpace(p.Type)) {
		case "EXPR":
			if r.ExternalEWSURL == "" {
				r.ExternalEWSURL = u
			}
		case "EXCH":
			if r.InternalEWSURL == "" {
				r.InternalEWSURL = u
			}
			if r.ServerVersion == "" {
				r.ServerVersion = strings.TrimSpace(p.ServerVersion)
			}
		}
	}
	e := d.Response.Error
	if e == nil {
		e = d.Error
	}
	if e != nil {
		r.ErrorCode = strings.TrimSpace(e.ErrorCode)
		r.ErrorMessage = strings.TrimSpace(e.Message)
	}
	if r.Action == "" && r.ErrorCode == "" {
		return nil, fmt.Errorf("%w: POX reply has neither Account/Action nor Error", ErrNotAutodiscover)
	}
	return r, nil
}

// Answer interprets the reply.
func (r *POXResponse) Answer() Answer {
	a := Answer{DisplayName: r.DisplayName, Code: r.ErrorCode, Message: r.ErrorMessage, Class: result.OK}
	switch {
	case r.ErrorCode != "":
		a.Kind = KindError
		a.Class = poxErrorClass(r.ErrorCode)
	case strings.EqualFold(r.Action, "redirectAddr"):
		a.Kind, a.Target = KindRedirectAddr, r.RedirectAddr
	case strings.EqualFold(r.Action, "redirectUrl"):
		a.Kind, a.Target = KindRedirectURL, r.RedirectURL
	case strings.EqualFold(r.Action, "settings"):
		a.Kind = KindSettings
		a.EWSURL = firstNonEmpty(r.ExternalEWSURL, r.InternalEWSURL)
	default:
		a.Kind, a.Class = KindError, result.Other
		a.Message = fmt.Sprintf("unknown POX Action %q", r.Action)
	}
	return a
}

// poxErrorClass maps the POX numeric codes ([ADERR]): 500 is "the e-mail address can't be
// found", 600 an invalid request, 601 a schema the server cannot provide, 603 a server error.
func poxErrorClass(code string) result.Class {
	switch code {
	case "500":
		return result.MailboxNotFound
	case "603":
		return result.Transient
	}
	return result.Other
}

// SOAPResponse is a GetUserSettings reply (Exchange 2010+ / Exchange Online).
type SOAPResponse struct {
	ErrorCode, ErrorMessage         string // whole request
	UserErrorCode, UserErrorMessage string // first user
	RedirectTarget                  string
	Settings                        map[string]string
	ServerVersion                   string // ServerVersionInfo/Version
	FaultCode, FaultString          string
}

type soapDoc struct {
	XMLName xml.Name `xml:"Envelope"`
	Header  struct {
		ServerVersionInfo struct {
			Version string `xml:"Version"`
		} `xml:"ServerVersionInfo"`
	} `xml:"Header"`
	Body struct {
		Msg *struct {
			Response struct {
				ErrorCode     string `xml:"ErrorCode"`
				ErrorMessage  string `xml:"ErrorMessage"`
				UserResponses struct {
					UserResponse []struct {
						ErrorCode      string `xml:"ErrorCode"`
						ErrorMessage   string `xml:"ErrorMessage"`
						RedirectTarget string `xml:"RedirectTarget"`
						UserSettings   struct {
							UserSetting []struct {
								Name  string `xml:"Name"`
								Value string `xml:"Value"`
							} `xml:"UserSetting"`
						} `xml:"UserSettings"`
					} `xml:"UserResponse"`
				} `xml:"UserResponses"`
			} `xml:"Response"`
		} `xml:"GetUserSettingsResponseMessage"`
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

// ParseSOAP reads a SOAP GetUserSettings reply (or a SOAP fault).
func ParseSOAP(body []byte) (*SOAPResponse, error) {
	var d soapDoc
	if err := decodeXML(body, &d); err != nil {
		return nil, err
	}
	r := &SOAPResponse{ServerVersion: strings.TrimSpace(d.Header.ServerVersionInfo.Version)}
	switch {
	case d.Body.Fault != nil:
		r.FaultCode = strings.TrimSpace(d.Body.Fault.Code)
		r.FaultString = strings.TrimSpace(d.Body.Fault.String)
	case d.Body.Msg != nil:
		resp := d.Body.Msg.Response
		r.ErrorCode = strings.TrimSpace(resp.ErrorCode)
		r.ErrorMessage = strings.TrimSpace(resp.ErrorMessage)
		if us := resp.UserResponses.UserResponse; len(us) > 0 {
			u := us[0]
			r.UserErrorCode = strings.TrimSpace(u.ErrorCode)
			r.UserErrorMessage = strings.TrimSpace(u.ErrorMessage)
			r.RedirectTarget = strings.TrimSpace(u.RedirectTarget)
			for _, s := range u.UserSettings.UserSetting {
				if r.Settings == nil {
					r.Settings = map[string]string{}
				}
				r.Settings[strings.TrimSpace(s.Name)] = strings.TrimSpace(s.Value)
			}
		}
	default:
		return nil, fmt.Errorf("%w: SOAP envelope without GetUserSettingsResponseMessage or Fault", ErrNotAutodiscover)
	}
	return r, nil
}

// Answer interprets the reply: a request-level error wins over the per-user one.
func (r *SOAPResponse) Answer() Answer {
	a := Answer{Class: result.OK}
	if r.FaultCode != "" || r.FaultString != "" {
		a.Kind, a.Code, a.Message, a.Class = KindError, r.FaultCode, r.FaultString, result.Other
		return a
	}
	code, msg := r.ErrorCode, r.ErrorMessage
	if code == "" || code == "NoError" {
		code, msg = r.UserErrorCode, r.UserErrorMessage
	}
	a.Message = msg
	switch {
	case code == "" || code == "NoError":
		a.Kind = KindSettings
		a.Code = ""
		a.EWSURL = firstNonEmpty(r.Settings["ExternalEwsUrl"], r.Settings["InternalEwsUrl"])
		a.DisplayName = r.Settings["UserDisplayName"]
		a.CasVersion = r.Settings["CasVersion"]
		return a
	case strings.EqualFold(code, "RedirectAddress"):
		a.Kind, a.Target = KindRedirectAddr, r.RedirectTarget
	case strings.EqualFold(code, "RedirectUrl"):
		a.Kind, a.Target = KindRedirectURL, r.RedirectTarget
	default:
		a.Kind, a.Class = KindError, soapErrorClass(code)
	}
	a.Code = code
	return a
}

// soapErrorClass maps GetUserSettings ErrorCode values ([ADERR]).
func soapErrorClass(code string) result.Class {
	switch code {
	case "InvalidUser":
		return result.MailboxNotFound
	case "ServerBusy", "InternalServerError":
		return result.Transient
	}
	return result.Other
}

// V2Response is the Autodiscover v2 JSON reply: {"Protocol":"EWS","Url":"…"} on success,
// {"ErrorCode":"…","ErrorMessage":"…"} on failure.
type V2Response struct {
	Protocol     string `json:"Protocol"`
	URL          string `json:"Url"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// ParseV2JSON reads an Autodiscover v2 JSON reply.
func ParseV2JSON(body []byte) (*V2Response, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var r V2Response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: v2 JSON: %v", ErrNotAutodiscover, err)
	}
	if r.URL == "" && r.ErrorCode == "" {
		return nil, fmt.Errorf("%w: v2 JSON has neither Url nor ErrorCode", ErrNotAutodiscover)
	}
	return &r, nil
}

// Answer interprets the reply.
func (r *V2Response) Answer() Answer {
	if r.ErrorCode != "" {
		c := result.Other
		if strings.Contains(strings.ToLower(r.ErrorCode), "notfound") {
			c = result.MailboxNotFound
		}
		return Answer{Kind: KindError, Code: r.ErrorCode, Message: r.ErrorMessage, Class: c}
	}
	return Answer{Kind: KindSettings, EWSURL: strings.TrimSpace(r.URL), Class: result.OK}
}

// decodeXML decodes one document, refusing HTML and anything that is not XML with a
// specific message. encoding/xml matches untagged namespaces by local name.
func decodeXML(body []byte, v any) error {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return fmt.Errorf("%w: empty body", ErrNotAutodiscover)
	}
	low := bytes.ToLower(trimmed[:min(len(trimmed), 64)])
	if bytes.HasPrefix(low, []byte("<!doctype html")) || bytes.HasPrefix(low, []byte("<html")) {
		return fmt.Errorf("%w: an HTML page", ErrNotAutodiscover)
	}
	dec := xml.NewDecoder(bytes.NewReader(trimmed))
	// Servers declare utf-8 or us-ascii; anything else is read as-is rather than refused.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	if err := dec.Decode(v); err != nil {
		var ue xml.UnmarshalError
		if errors.As(err, &ue) || strings.Contains(err.Error(), "expected element type") {
			return fmt.Errorf("%w: unexpected root element (%v)", ErrNotAutodiscover, err)
		}
		return fmt.Errorf("%w: malformed XML: %v", ErrNotAutodiscover, err)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
