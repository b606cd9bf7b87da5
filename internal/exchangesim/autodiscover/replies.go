package adsim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const maxRequest = 64 << 10

// poxRequest is the Outlook-schema request; elements are matched by local name.
type poxRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

type soapRequest struct {
	XMLName xml.Name `xml:"Envelope"`
	Body    struct {
		Msg struct {
			Request struct {
				Users struct {
					User []struct {
						Mailbox string `xml:"Mailbox"`
					} `xml:"User"`
				} `xml:"Users"`
				Settings []string `xml:"RequestedSettings>Setting"`
			} `xml:"Request"`
		} `xml:"GetUserSettingsRequestMessage"`
	} `xml:"Body"`
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, maxRequest))
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const (
	poxOuter = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
`
	poxInner = `  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
`
)

func (s *Server) servePOX(w http.ResponseWriter, r *http.Request, e Endpoint) {
	raw, err := readBody(r)
	var req poxRequest
	if err == nil {
		err = xml.Unmarshal(raw, &req)
	}
	addr := strings.TrimSpace(req.Request.EMailAddress)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(poxOuter)
	switch {
	case err != nil || addr == "":
		b.WriteString(`  <Response><Error Time="00:00:00" Id="1"><ErrorCode>600</ErrorCode><Message>Invalid Request</Message><DebugData /></Error></Response>` + "\n")
	case e.Mode == RedirectURL:
		el := "RedirectUrl"
		if e.UpperURL {
			el = "RedirectURL"
		}
		b.WriteString(poxInner)
		fmt.Fprintf(&b, "    <Account><Action>redirectUrl</Action><%s>%s</%s></Account>\n  </Response>\n", el, esc(e.Target), el)
	default:
		m, ok := s.mailbox(addr)
		switch {
		case !ok:
			b.WriteString(`  <Response><Error Time="00:00:00" Id="2"><ErrorCode>500</ErrorCode><Message>The email address can't be found.</Message><DebugData /></Error></Response>` + "\n")
		case m.RedirectAddr != "":
			b.WriteString(poxInner)
			fmt.Fprintf(&b, "    <Account><Action>redirectAddr</Action><RedirectAddr>%s</RedirectAddr></Account>\n  </Response>\n", esc(m.RedirectAddr))
		default:
			b.WriteString(poxInner)
			fmt.Fprintf(&b, `    <User><DisplayName>%s</DisplayName><AutoDiscoverSMTPAddress>%s</AutoDiscoverSMTPAddress></User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <MicrosoftOnline>False</MicrosoftOnline>
      <Protocol><Type>EXCH</Type><ServerVersion>73C08204</ServerVersion><ASUrl>%s</ASUrl><EwsUrl>%s</EwsUrl></Protocol>
      <Protocol><Type>EXPR</Type><SSL>On</SSL><AuthPackage>Basic</AuthPackage><ASUrl>%s</ASUrl><EwsUrl>%s</EwsUrl></Protocol>
    </Account>
  </Response>
`, esc(m.DisplayName), esc(addr), esc(m.EWSURL), esc(m.EWSURL), esc(m.EWSURL), esc(m.EWSURL))
		}
	}
	b.WriteString("</Autodiscover>\n")
	io.WriteString(w, b.String())
}

const soapHead = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>
    <h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1544</h:MajorBuildNumber><h:MinorBuildNumber>4</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo>
  </s:Header>
  <s:Body>
    <GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">
      <Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
`
const soapTail = `      </Response>
    </GetUserSettingsResponseMessage>
  </s:Body>
</s:Envelope>
`

func (s *Server) serveSOAP(w http.ResponseWriter, r *http.Request, e Endpoint) {
	raw, err := readBody(r)
	var req soapRequest
	if err == nil {
		err = xml.Unmarshal(raw, &req)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(soapHead)
	users := req.Body.Msg.Request.Users.User
	if err != nil || len(users) == 0 || strings.TrimSpace(users[0].Mailbox) == "" {
		b.WriteString("        <ErrorCode>InvalidRequest</ErrorCode><ErrorMessage>Invalid request.</ErrorMessage>\n")
		b.WriteString(soapTail)
		io.WriteString(w, b.String())
		return
	}
	addr := strings.TrimSpace(users[0].Mailbox)
	user := func(code, msg, target, settings string) {
		t := `<RedirectTarget i:nil="true" />`
		if target != "" {
			t = "<RedirectTarget>" + esc(target) + "</RedirectTarget>"
		}
		fmt.Fprintf(&b, "        <ErrorCode>NoError</ErrorCode><ErrorMessage />\n        <UserResponses><UserResponse><ErrorCode>%s</ErrorCode><ErrorMessage>%s</ErrorMessage>%s<UserSettingErrors />%s</UserResponse></UserResponses>\n",
			code, esc(msg), t, settings)
	}
	m, ok := s.mailbox(addr)
	switch {
	case e.Mode == RedirectURL:
		user("RedirectUrl", "Redirection URL.", e.Target, "<UserSettings />")
	case !ok:
		user("InvalidUser", "Invalid user: '"+addr+"'", "", "<UserSettings />")
	case m.RedirectAddr != "":
		user("RedirectAddress", "Redirection address.", m.RedirectAddr, "<UserSettings />")
	default:
		setting := func(n, v string) string {
			return `<UserSetting i:type="StringSetting"><Name>` + n + `</Name><Value>` + esc(v) + `</Value></UserSetting>`
		}
		user("NoError", "No error.", "", "<UserSettings>"+setting("UserDisplayName", m.DisplayName)+
			setting("CasVersion", "15.02.1544.004")+setting("ExternalEwsUrl", m.EWSURL)+
			setting("InternalEwsUrl", m.EWSURL)+"</UserSettings>")
	}
	b.WriteString(soapTail)
	io.WriteString(w, b.String())
}

func (s *Server) serveV2(w http.ResponseWriter, r *http.Request, e Endpoint) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	rest := r.URL.EscapedPath()[len("/autodiscover/autodiscover.json/v1.0/"):]
	addr, err := url.PathUnescape(rest)
	if err != nil || !strings.EqualFold(r.URL.Query().Get("Protocol"), "EWS") {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"ErrorCode": "InvalidProtocol", "ErrorMessage": "The given protocol value is invalid."})
		return
	}
	m, ok := s.mailbox(addr)
	for i := 0; ok && m.RedirectAddr != "" && i < 5; i++ {
		m, ok = s.mailbox(m.RedirectAddr)
	}
	if !ok || m.EWSURL == "" {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"ErrorCode": "MailboxNotFound", "ErrorMessage": "The mailbox was not found."})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"Protocol": "EWS", "Url": m.EWSURL})
}
