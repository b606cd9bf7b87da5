package adsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// client aims every host at the simulator and trusts only its CA.
func client(t *testing.T, s *Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM()) {
		t.Fatal("CA PEM does not parse")
	}
	m := map[string]string{}
	for _, r := range s.Resolve() {
		i := strings.LastIndex(r, ":")
		m[r[:i]] = r[i+1:]
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if ip, ok := m[addr]; ok {
					_, port, _ := net.SplitHostPort(addr)
					addr = net.JoinHostPort(ip, port)
				}
				return d.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func start(t *testing.T, name string) *Server {
	t.Helper()
	c, err := Scenario(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

const poxBody = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`

func post(t *testing.T, c *http.Client, s *Server, url, body string, auth bool) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	if auth {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		scenario, host, path, addr string
		auth                       bool
		status                     int
		contains                   string
	}{
		{"pox", Domain, "/autodiscover/autodiscover.xml", Address, true, 200, "<ASUrl>" + EWSURL + "</ASUrl>"},
		{"pox", Domain, "/autodiscover/autodiscover.xml", Address, false, 401, "Unauthorized"},
		{"pox", Domain, "/autodiscover/autodiscover.xml", "nobody@fabrikam.test", true, 200, "<ErrorCode>500</ErrorCode>"},
		{"pox", Domain, "/autodiscover/autodiscover.svc", Address, true, 404, ""},
		{"redirect-url", Domain, "/autodiscover/autodiscover.xml", Address, true, 200, "<RedirectURL>https://autodiscover.fabrikam.test:"},
		{"redirect-addr", Domain, "/autodiscover/autodiscover.xml", Address, true, 200, "<RedirectAddr>" + RedirectedAddress},
		{"html", Domain, "/autodiscover/autodiscover.xml", Address, true, 200, "<html>"},
		{"soap", "autodiscover." + Domain, "/autodiscover/autodiscover.svc", Address, true, 200, "<Name>ExternalEwsUrl</Name><Value>" + EWSURL},
		{"redirect-url-soap", Domain, "/autodiscover/autodiscover.svc", Address, true, 200, "<ErrorCode>RedirectUrl</ErrorCode>"},
	}
	for _, tc := range tests {
		t.Run(tc.scenario+tc.path+"/"+tc.addr, func(t *testing.T) {
			s := start(t, tc.scenario)
			c := client(t, s)
			body := strings.Replace(poxBody, "%s", tc.addr, 1)
			if strings.HasSuffix(tc.path, ".svc") {
				body = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"><soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users><a:User><a:Mailbox>` +
					tc.addr + `</a:Mailbox></a:User></a:Users><a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting></a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>`
			}
			st, _, got := post(t, c, s, s.URL(tc.host, tc.path), body, tc.auth)
			if st != tc.status || !strings.Contains(got, tc.contains) {
				t.Errorf("status %d body %q; want %d containing %q", st, got, tc.status, tc.contains)
			}
		})
	}
}

func TestRecordsAndPlain(t *testing.T) {
	s := start(t, "http-302")
	c := client(t, s)
	req, _ := http.NewRequest(http.MethodGet, s.PlainURL("autodiscover."+Domain, "/autodiscover/autodiscover.xml"), nil)
	req.SetBasicAuth("x", "y") // a careless client; the record must show it
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "https://mail.fabrikam.test:") {
		t.Fatalf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	recs := s.Records()
	if len(recs) != 1 || recs[0].Scheme != "http" || recs[0].Host != "autodiscover."+Domain || recs[0].Authorization == "" {
		t.Errorf("records %d, first %+v", len(recs), recs[0].Host)
	}
}

func TestStallReleasedOnClose(t *testing.T) {
	s := start(t, "slow")
	c := client(t, s)
	c.Timeout = 10 * time.Second
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL(Domain, "/autodiscover/autodiscover.xml"), strings.NewReader("x"))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("slow host answered")
	default:
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stalled request not released by Close")
	}
}

func TestSRV(t *testing.T) {
	s := start(t, "srv")
	m := new(dns.Msg)
	m.SetQuestion("_autodiscover._tcp."+Domain+".", dns.TypeSRV)
	in, err := dns.Exchange(m, s.DNSAddr)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Answer) != 3 {
		t.Fatalf("answers %v", in.Answer)
	}
	found := false
	for _, rr := range in.Answer {
		srv := rr.(*dns.SRV)
		if srv.Target == "mail."+Domain+"." && int(srv.Port) == s.HTTPSPort {
			found = true
		}
	}
	if !found {
		t.Errorf("no record for mail.%s on port %d: %v", Domain, s.HTTPSPort, in.Answer)
	}
	m.SetQuestion("_autodiscover._tcp.contoso.test.", dns.TypeSRV)
	if in, err = dns.Exchange(m, s.DNSAddr); err != nil || in.Rcode != dns.RcodeNameError {
		t.Errorf("unknown domain: rcode %v err %v", in, err)
	}
}

func TestResolveCoversAbsent(t *testing.T) {
	s := start(t, "pox")
	all := strings.Join(s.Resolve(), " ")
	for _, want := range []string{"fabrikam.test:", "autodiscover.fabrikam.test:", V2Host + ":"} {
		if !strings.Contains(all, want) {
			t.Errorf("Resolve lacks %s: %s", want, all)
		}
	}
	if !strings.Contains(all, "autodiscover.fabrikam.test:") || !strings.Contains(all, ":127.0.0.2") {
		t.Errorf("absent hosts not aimed at 127.0.0.2: %s", all)
	}
	if _, err := Scenario("nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
}
