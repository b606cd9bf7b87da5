package exchangesim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces, exactly as Exchange writes them.
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// node is a parsed XML element, names resolved to (namespace, local name).
type node struct {
	Space, Local string
	Attr         []xml.Attr
	Kids         []*node
	Text         string
	Line, Col    int
}

func (n *node) attr(local string) (string, bool) {
	for _, a := range n.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == n.Space) {
			return a.Value, true
		}
	}
	return "", false
}

// child returns the first child element with that local name, whatever its namespace.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Local == local {
			return k
		}
	}
	return nil
}

func (n *node) text() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// schemaError is an ErrorSchemaValidation with the position Exchange reports.
type schemaError struct {
	Line, Col int
	Violation string
}

func (e *schemaError) Error() string {
	return fmt.Sprintf("schema validation: line %d position %d: %s", e.Line, e.Col, e.Violation)
}

const (
	maxDepth    = 64
	maxElements = 100000 // a real EWS request has dozens; bounds memory on hostile input
)

// parseXML parses a whole document into a tree. It accepts a UTF-8 BOM and an XML
// declaration; anything else that is not well-formed XML is a *schemaError.
func parseXML(body []byte) (*node, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var root *node
	var stack []*node
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, col := d.InputPos()
			var se *xml.SyntaxError
			msg := err.Error()
			if errors.As(err, &se) {
				msg = se.Msg
				line = se.Line
			}
			return nil, &schemaError{Line: line, Col: col, Violation: msg}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, col := d.InputPos()
			if count++; count > maxElements {
				return nil, &schemaError{Line: line, Col: col, Violation: "The request has too many elements."}
			}
			n := &node{Space: t.Name.Space, Local: t.Name.Local, Attr: t.Attr, Line: line, Col: col}
			if len(stack) == 0 {
				if root != nil {
					return nil, &schemaError{Line: line, Col: col, Violation: "There are multiple root elements."}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			if len(stack) >= maxDepth {
				return nil, &schemaError{Line: line, Col: col, Violation: "The document is nested too deeply."}
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, &schemaError{Line: 1, Col: 1, Violation: "Root element is missing."}
	}
	return root, nil
}

// request is what the simulator needs from a SOAP request.
type request struct {
	Version    string // RequestServerVersion/@Version, "" when absent
	HasVersion bool
	Imp        *impersonation // nil without ExchangeImpersonation
	Op         *node          // the Body's first element
}

type impersonation struct {
	Kind  string // PrincipalName | SID | PrimarySmtpAddress | SmtpAddress
	Value string
}

// parseEnvelope checks the SOAP 1.1 envelope and extracts the headers Exchange acts on.
func parseEnvelope(root *node) (*request, error) {
	if root.Local != "Envelope" || root.Space != nsSOAP {
		return nil, &schemaError{Line: root.Line, Col: root.Col,
			Violation: fmt.Sprintf("The root element '%s' in namespace '%s' is not a SOAP 1.1 Envelope ('%s').", root.Local, root.Space, nsSOAP)}
	}
	req := &request{}
	var body *node
	for _, k := range root.Kids {
		switch {
		case k.Local == "Header" && k.Space == nsSOAP:
			if err := req.parseHeader(k); err != nil {
				return nil, err
			}
		case k.Local == "Body" && k.Space == nsSOAP:
			body = k
		default:
			return nil, &schemaError{Line: k.Line, Col: k.Col,
				Violation: fmt.Sprintf("The element '%s' in namespace '%s' is not expected in the SOAP Envelope.", k.Local, k.Space)}
		}
	}
	if body == nil {
		return nil, &schemaError{Line: root.Line, Col: root.Col, Violation: "The SOAP Envelope has no Body."}
	}
	if len(body.Kids) > 0 {
		req.Op = body.Kids[0]
	}
	return req, nil
}

func (r *request) parseHeader(h *node) error {
	for _, k := range h.Kids {
		switch k.Local {
		case "RequestServerVersion", "ExchangeImpersonation":
			if k.Space != nsTypes {
				return &schemaError{Line: k.Line, Col: k.Col,
					Violation: fmt.Sprintf("The element '%s' in namespace '%s' is not expected; expected namespace '%s'.", k.Local, k.Space, nsTypes)}
			}
		}
		switch k.Local {
		case "RequestServerVersion":
			v, ok := k.attr("Version")
			if !ok {
				return &schemaError{Line: k.Line, Col: k.Col, Violation: "The required attribute 'Version' is missing."}
			}
			r.Version, r.HasVersion = strings.TrimSpace(v), true
		case "ExchangeImpersonation":
			sid := k.child("ConnectingSID")
			if sid == nil || len(sid.Kids) != 1 {
				return &schemaError{Line: k.Line, Col: k.Col,
					Violation: "The element 'ExchangeImpersonation' must contain exactly one ConnectingSID with one of PrincipalName, SID, PrimarySmtpAddress, SmtpAddress."}
			}
			id := sid.Kids[0]
			switch id.Local {
			case "PrincipalName", "SID", "PrimarySmtpAddress", "SmtpAddress":
			default:
				return &schemaError{Line: id.Line, Col: id.Col,
					Violation: fmt.Sprintf("The element 'ConnectingSID' has invalid child element '%s'.", id.Local)}
			}
			r.Imp = &impersonation{Kind: id.Local, Value: id.text()}
		}
	}
	return nil
}

// validVersion: the ExchangeVersionType enumeration of the Exchange 2019 schema (types.xsd).
func validVersion(v string) bool {
	switch v {
	case "Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
		"Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
		"Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10",
		"V2017_01_07", "V2017_04_14", "V2017_07_11", "V2017_10_09", "V2018_01_08":
		return true
	}
	return false
}

// ---------- replies ----------

const serverVersionHeader = `<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11" xmlns:h="` + nsTypes + `" xmlns="` + nsTypes + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/></s:Header>`

// envelope wraps a body in the reply envelope Exchange 2019 writes.
func envelope(body string) []byte {
	var b strings.Builder
	b.Grow(len(body) + 700)
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="` + nsSOAP + `">`)
	b.WriteString(serverVersionHeader)
	b.WriteString(`<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return []byte(b.String())
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// fault is a SOAP fault (HTTP 500) in the shape of the samples
// (fault-exceededconnectioncount-ewsrs.xml, getroomlists-fault-serverbusy-exchangelib.xml).
type fault struct {
	Code       string
	String     string // faultstring
	Message    string // e:Message ("" = String)
	MessageXML string // inner XML of t:MessageXml (types namespace, prefix t)
}

func (f fault) bytes() []byte {
	msg := f.Message
	if msg == "" {
		msg = f.String
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="` + nsSOAP + `"><s:Body><s:Fault>`)
	b.WriteString(`<faultcode xmlns:a="` + nsTypes + `">a:` + esc(f.Code) + `</faultcode>`)
	b.WriteString(`<faultstring xml:lang="en-US">` + esc(f.String) + `</faultstring><detail>`)
	b.WriteString(`<e:ResponseCode xmlns:e="` + nsErrors + `">` + esc(f.Code) + `</e:ResponseCode>`)
	b.WriteString(`<e:Message xmlns:e="` + nsErrors + `">` + esc(msg) + `</e:Message>`)
	if f.MessageXML != "" {
		b.WriteString(`<t:MessageXml xmlns:t="` + nsTypes + `">` + f.MessageXML + `</t:MessageXml>`)
	}
	b.WriteString(`</detail></s:Fault></s:Body></s:Envelope>`)
	return []byte(b.String())
}

func backOffXML(ms int) string {
	return fmt.Sprintf(`<t:Value Name="BackOffMilliseconds">%d</t:Value>`, ms)
}

func schemaFault(e *schemaError) fault {
	return fault{
		Code:    "ErrorSchemaValidation",
		String:  "The request failed schema validation: " + e.Violation,
		Message: "The request failed schema validation.",
		MessageXML: fmt.Sprintf(`<t:LineNumber>%d</t:LineNumber><t:LinePosition>%d</t:LinePosition><t:Violation>%s</t:Violation>`,
			e.Line, e.Col, esc(e.Violation)),
	}
}

// itemError is a per-item error: ResponseClass="Error" with MessageText, ResponseCode,
// DescriptiveLinkKey and optional MessageXml (messages namespace, prefix m).
type itemError struct {
	Code, Text string
	MessageXML string // inner XML, may use t:
}

func (e itemError) xml(element, trailer string) string {
	var b strings.Builder
	b.WriteString(`<m:` + element + ` ResponseClass="Error"><m:MessageText>` + esc(e.Text) + `</m:MessageText>`)
	b.WriteString(`<m:ResponseCode>` + esc(e.Code) + `</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>`)
	if e.MessageXML != "" {
		b.WriteString(`<m:MessageXml>` + e.MessageXML + `</m:MessageXml>`)
	}
	b.WriteString(trailer)
	b.WriteString(`</m:` + element + `>`)
	return b.String()
}

const respOpen = ` xmlns:m="` + nsMessages + `" xmlns:t="` + nsTypes + `"`

// Canned texts, as Exchange words them.
var (
	errAccessDenied       = itemError{Code: "ErrorAccessDenied", Text: "Access is denied. Check credentials and try again."}
	errMoveInProgress     = itemError{Code: "ErrorMailboxMoveInProgress", Text: "The mailbox is being moved. Please try again later."}
	errStoreUnavailable   = itemError{Code: "ErrorMailboxStoreUnavailable", Text: "The mailbox database is temporarily unavailable."}
	errInternal           = itemError{Code: "ErrorInternalServerError", Text: "An internal server error occurred. The operation failed."}
	errMissingEmail       = itemError{Code: "ErrorMissingEmailAddress", Text: "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids."}
	errItemNotFound       = itemError{Code: "ErrorItemNotFound", Text: "The specified object was not found in the store."}
	errInvalidIDMalformed = itemError{Code: "ErrorInvalidIdMalformed", Text: "Id is malformed."}
	errInvalidSMTPItem    = itemError{Code: "ErrorInvalidSmtpAddress", Text: "The SMTP address format is invalid."}
	errNoResults          = itemError{Code: "ErrorNameResolutionNoResults", Text: "No results were found."}
	errSendInvitations    = itemError{Code: "ErrorSendMeetingInvitationsRequired", Text: "SendMeetingInvitations attribute is required for calendar items."}
	errSendCancellations  = itemError{Code: "ErrorSendMeetingCancellationsRequired", Text: "SendMeetingCancellations attribute is required for calendar items."}
)

var (
	faultImpersonateUserDenied = fault{Code: "ErrorImpersonateUserDenied", String: "The account does not have permission to impersonate the requested user."}
	faultImpersonationDenied   = fault{Code: "ErrorImpersonationDenied", String: "The server to which the application is connected cannot impersonate the requested user due to insufficient permission."}
	faultImpersonationFailed   = fault{Code: "ErrorImpersonationFailed", String: "Impersonation of the requested user failed: the server could not complete the server-to-server authentication."}
	faultNonExistentMailbox    = fault{Code: "ErrorNonExistentMailbox", String: "The SMTP address has no mailbox associated with it."}
	faultInvalidSMTP           = fault{Code: "ErrorInvalidSmtpAddress", String: "The SMTP address format is invalid."}
	faultInvalidUPN            = fault{Code: "ErrorInvalidUserPrincipalName", String: "The user principal name (UPN) value is invalid."}
	faultInvalidSID            = fault{Code: "ErrorInvalidSid", String: "The SID is invalid."}
	faultImpHeaderData         = fault{Code: "ErrorInvalidExchangeImpersonationHeaderData", String: "ExchangeImpersonation SOAP header must contain a user principal name, user security identifier, or primary SMTP address."}
	faultInvalidServerVersion  = fault{Code: "ErrorInvalidServerVersion", String: "The specified server version is invalid."}
	faultSchemaForMailbox      = fault{Code: "ErrorInvalidSchemaVersionForMailboxVersion", String: "The mailbox that was requested doesn't support the specified RequestServerVersion."}
	faultInvalidRequest        = fault{Code: "ErrorInvalidRequest", String: "The request is invalid."}
	faultExceededConnections   = fault{Code: "ErrorExceededConnectionCount",
		String: "You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed."}
)

func serverBusy(ms int) fault {
	return fault{Code: "ErrorServerBusy", String: "The server cannot service this request right now. Try again later.", MessageXML: backOffXML(ms)}
}

func exceededConnections(limit int) fault {
	f := faultExceededConnections
	f.MessageXML = fmt.Sprintf(`<t:Value Name="Policy">MaxConcurrency</t:Value><t:Value Name="MaxConcurrencyLimit">%d</t:Value>`+
		`<t:Value Name="ErrorMessage">This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '%d',  Budget type: 'Ews'.  Suggested backoff time 0 ms.</t:Value>`, limit, limit)
	return f
}
