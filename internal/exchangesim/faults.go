package exchangesim

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
)

const defaultHugeBytes = 50 << 20

// inject answers r with a fault instead of EWS: a broken front end, proxy or backend.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, kind string) {
	switch kind {
	case StateReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler) // closes the connection abruptly
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		raw := conn
		if tc, ok := conn.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
		if tcp, ok := raw.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // RST instead of FIN
		}
		_ = raw.Close()
	case StateStall:
		// Say nothing until the client gives up or the server closes.
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		abort()
	case StateUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(orDefault(s.sc.RetryAfterSeconds, 2)))
		w.Header().Set("Content-Type", "text/html; charset=us-ascii")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">` + "\r\n" +
			`<HTML><HEAD><TITLE>Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>`))
	case StateHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(loginPage))
	case StateMalformed:
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		b := string(envelope(`<m:GetFolderResponse` + respOpen + `><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="AAMk`))
		_, _ = w.Write([]byte(b[:strings.Index(b, "</s:Body>")])) // cut mid-element
	case StateHuge:
		s.huge(w, r)
	}
}

// abort ends the handler and drops the connection without a response (net/http
// would otherwise complete an unanswered request with an empty 200).
func abort() { panic(http.ErrAbortHandler) }

// huge streams a well-formed GetFolder reply of about HugeBytes without holding it.
func (s *Server) huge(w http.ResponseWriter, r *http.Request) {
	total := s.sc.HugeBytes
	if total <= 0 {
		total = defaultHugeBytes
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	env := string(envelope(`<m:GetFolderResponse` + respOpen + `><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>@</m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>`))
	head, tail, _ := strings.Cut(env, "@")
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	var chunk []byte
	for len(chunk) < 32<<10 {
		chunk = append(chunk, `<t:Folder><t:FolderId Id="AAMkAGI2TG93AAA=" ChangeKey="AQAAABYAAAA="/><t:DisplayName>Folder</t:DisplayName><t:TotalCount>0</t:TotalCount></t:Folder>`...)
	}
	for sent := int64(len(head) + len(tail)); sent < total; sent += int64(len(chunk)) {
		select {
		case <-r.Context().Done():
			abort()
		case <-s.done:
			abort()
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			abort()
		}
	}
	_, _ = w.Write([]byte(tail))
}

const loginPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in - Fabrikam Secure Gateway</title></head>
<body><form method="post" action="/my.policy"><h1>Fabrikam Secure Gateway</h1>
<p>Please sign in to continue.</p>
<label>Username <input name="username"></label><label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button></form></body></html>
`

// serveWSDL serves a short Services.wsdl behind authentication, as Exchange does.
func (s *Server) serveWSDL(w http.ResponseWriter, r *http.Request) {
	if s.authenticate(w, r) == nil {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	loc := s.URL
	writeXML(w, http.StatusOK, []byte(`<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="`+nsMessages+`" targetNamespace="`+nsMessages+`">
  <wsdl:types><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="`+nsMessages+`" schemaLocation="messages.xsd"/></xs:schema></wsdl:types>
  <wsdl:portType name="ExchangeServicePortType"/>
  <wsdl:binding name="ExchangeServiceBinding" type="tns:ExchangeServicePortType"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/></wsdl:binding>
  <wsdl:service name="ExchangeServices"><wsdl:port name="ExchangeServicePort" binding="tns:ExchangeServiceBinding"><soap:address location="`+esc(loc)+`"/></wsdl:port></wsdl:service>
</wsdl:definitions>
`))
}
