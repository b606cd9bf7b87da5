package exchangesim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The test client is written here by hand on purpose (plain net/http and literal XML):
// it must not share code with the project's EWS client.

const (
	tNS = "http://schemas.microsoft.com/exchange/services/2006/types"
	mNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
)

func startSim(t testing.TB, sc *Scenario, o Options) *Server {
	t.Helper()
	s, err := Start(sc, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// transport trusts exactly the simulator's certificate (no InsecureSkipVerify) and
// speaks HTTP/1.1 on at most one connection.
func transport(s *Server) *http.Transport {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, ForceAttemptHTTP2: false,
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	if pem := s.CertPEM(); pem != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

func client(s *Server) *http.Client {
	return &http.Client{Transport: transport(s), Timeout: 10 * time.Second}
}

type reply struct {
	Status int
	Header http.Header
	Body   string
}

// code is the first ResponseCode in the reply (fault detail or response message).
func (r reply) code() string {
	m := regexp.MustCompile(`<(?:\w+:)?ResponseCode[^>]*>\s*(\w+)\s*</`).FindStringSubmatch(r.Body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (r reply) codes() []string {
	var out []string
	for _, m := range regexp.MustCompile(`<(?:\w+:)?ResponseCode[^>]*>\s*(\w+)\s*</`).FindAllStringSubmatch(r.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

func (r reply) backoff() string {
	m := regexp.MustCompile(`<t:Value Name="BackOffMilliseconds">(\d+)</t:Value>`).FindStringSubmatch(r.Body)
	if m == nil {
		return ""
	}
	return m[1]
}

func envelopeXML(version, imp, body string) string {
	var h strings.Builder
	if version != "" {
		h.WriteString(`<t:RequestServerVersion Version="` + version + `"/>`)
	}
	if imp != "" {
		h.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>` + imp + `</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	return `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="` + tNS + `" xmlns:m="` + mNS + `">
<soap:Header>` + h.String() + `</soap:Header>
<soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

const getFolderBody = `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="msgfolderroot"/><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>`

func getFolder(imp string) string { return envelopeXML("Exchange2013_SP1", imp, getFolderBody) }

type reqOpt func(*http.Request)

func basic(user, pass string) reqOpt { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func post(t testing.TB, c *http.Client, url string, body []byte, opts ...reqOpt) reply {
	t.Helper()
	rep, err := tryPost(context.Background(), c, url, body, opts...)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	return rep
}

func tryPost(ctx context.Context, c *http.Client, url string, body []byte, opts ...reqOpt) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	for _, o := range opts {
		o(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// wellFormed fails the test when the reply is not well-formed XML.
func wellFormed(t testing.TB, body string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("reply is not well-formed XML: %v\n%s", err, body)
		}
	}
}
