package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/setup"
)

var t0 = time.Date(2026, 11, 23, 14, 2, 11, 0, time.UTC)

// demoResult is a realistic on-premises diagnosis: every check, mailboxes in every class,
// remediation from the real generator, a certificate and traces.
func demoResult() *result.Result {
	sit := setup.Situation{Environment: result.OnPrem, Exchange: "SE", Account: "svc-ews@contoso.com", ScopeGroup: "EWS Targets"}
	rem := func(c result.Class, code, mbx string) string {
		s := sit
		s.Mailbox = mbx
		return setup.Remediation(c, code, s)
	}
	r := &result.Result{
		Schema: result.Schema,
		Tool:   result.Tool{Name: "Deputy", Version: "1.0.0"},
		Profile: result.Profile{Name: "Contoso production", Environment: result.OnPrem, EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx",
			Auth: "ntlm", ServiceAccount: "svc-ews@contoso.com"},
		StartedAt:  t0,
		FinishedAt: t0.Add(42*time.Second + 300*time.Millisecond),
		Server:     result.Server{Version: "15.2.2562.17 (Exchange Server SE)", RequestServerVersion: "Exchange2016"},
	}
	r.Checks = []result.Check{
		{ID: result.CheckAutodiscover, Title: "Autodiscover", Status: result.Skip, Summary: "Skipped: the EWS URL was given."},
		{ID: result.CheckEndpoint, Title: "EWS endpoint", Status: result.Pass, Summary: "https://mail.contoso.com/EWS/Exchange.asmx answers as EWS.", DurationMs: 84,
			Evidence: []string{"HTTP 401 with WWW-Authenticate: Negotiate, NTLM", "X-FEServer: EX01"}},
		{ID: result.CheckTLS, Title: "TLS certificate", Status: result.Pass, Summary: "Valid certificate for mail.contoso.com, chain verified.", DurationMs: 31,
			Cert: &result.CertInfo{Subject: "CN=mail.contoso.com", Issuer: "CN=Contoso Issuing CA 01, DC=contoso, DC=com", NotBefore: t0.AddDate(0, -6, 0), NotAfter: t0.AddDate(1, 0, 0),
				SHA256: "3f9a4c1be0d2a7c56e8b9f0a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c", DNSNames: []string{"mail.contoso.com", "autodiscover.contoso.com"}, Trusted: true}},
		{ID: result.CheckAuth, Title: "Service account sign-in", Status: result.Pass, Summary: "svc-ews@contoso.com signed in with NTLM.", DurationMs: 120},
		{ID: result.CheckServiceMailbox, Title: "Service account mailbox", Status: result.Pass, Summary: "svc-ews@contoso.com has a mailbox (Inbox reachable).", DurationMs: 65},
		{ID: result.CheckImpersonation, Title: "Impersonation", Status: result.Fail, Summary: "112 of 120 mailboxes can be impersonated; 6 are outside the scope, 2 do not exist.",
			Class: result.ImpersonationDenied, Code: "ErrorImpersonateUserDenied", Remediation: rem(result.ImpersonationDenied, "ErrorImpersonateUserDenied", "")},
		{ID: result.CheckWrite, Title: "Write test (create and delete an appointment)", Status: result.Warn, Summary: "Passed for 111 mailboxes; one mailbox was being moved.",
			Class: result.Transient, Code: "ErrorMailboxMoveInProgress", Remediation: rem(result.Transient, "ErrorMailboxMoveInProgress", "move.me@contoso.com")},
		{ID: result.CheckRooms, Title: "Rooms", Status: result.Pass, Summary: "2 room lists, 6 rooms; all 6 can be impersonated."},
	}
	add := func(addr, kind string, st result.Status, c result.Class, code, msg string, rd, wr result.Status, lat int64, tries int) {
		m := result.Mailbox{Address: addr, Kind: kind, Protocol: result.EWS, Status: st, Class: c, Code: code, Message: msg, Read: rd, Write: wr, LatencyMs: lat, Attempts: tries}
		if st != result.Pass {
			m.Remediation = rem(c, code, addr)
		}
		r.Mailboxes = append(r.Mailboxes, m)
	}
	for i := 0; i < 104; i++ {
		add(fmt.Sprintf("user%03d@contoso.com", i), result.KindUser, result.Pass, result.OK, "", "", result.Pass, result.Pass, 40+int64(i%37)*3, 1)
	}
	for i := 0; i < 6; i++ {
		add(fmt.Sprintf("room-%d@contoso.com", i+1), result.KindRoom, result.Pass, result.OK, "", "", result.Pass, result.Pass, 55, 1)
	}
	for _, a := range []string{"adele.vance@contoso.com", "alex.wilber@contoso.com", "diego.siciliani@contoso.com", "grady.archie@contoso.com", "henrietta.mueller@contoso.com", "isaiah.langer@contoso.com"} {
		add(a, result.KindUser, result.Fail, result.ImpersonationDenied, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", result.Fail, result.Skip, 38, 1)
	}
	add("old.employee@contoso.com", result.KindUser, result.Fail, result.MailboxNotFound, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.", result.Fail, result.Skip, 29, 1)
	add("cloud.user@contoso.com", result.KindUser, result.Fail, result.MailboxNotFound, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.", result.Fail, result.Skip, 31, 1)
	add("move.me@contoso.com", result.KindUser, result.Warn, result.Transient, "ErrorMailboxMoveInProgress", "Mailbox move in progress. Try again later.", result.Pass, result.Warn, 3120, 4)
	add("busy@contoso.com", result.KindUser, result.Warn, result.Throttled, "ErrorServerBusy", "The server cannot service this request right now. Try again later. (BackOffMilliseconds 297749)", result.Warn, result.Skip, 120, 4)
	r.Summary.Requests = 361
	r.Traces = []result.Trace{{
		Step: "impersonation", Mailbox: "adele.vance@contoso.com", Method: "POST", URL: "https://mail.contoso.com/EWS/Exchange.asmx", Status: 500, DurationMs: 38,
		Request:  "POST /EWS/Exchange.asmx HTTP/1.1\nHost: mail.contoso.com\nAuthorization: NTLM [redacted]\nContent-Type: text/xml; charset=utf-8\nX-AnchorMailbox: adele.vance@contoso.com\n\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><soap:Header><t:RequestServerVersion Version=\"Exchange2016\"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>adele.vance@contoso.com</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body>…</soap:Body></soap:Envelope>",
		Response: "HTTP/1.1 500 Internal Server Error\nContent-Type: text/xml; charset=utf-8\nX-FEServer: EX01\n\n<s:Fault><faultcode>a:ErrorImpersonateUserDenied</faultcode><faultstring>The account does not have permission to impersonate the requested user.</faultstring></s:Fault>",
	}}
	r.Tally()
	return r
}

// bigResult has n mailboxes: mostly passing, a realistic tail of failures.
func bigResult(n int) *result.Result {
	r := demoResult()
	r.Mailboxes = r.Mailboxes[:0]
	classes := []result.Class{result.ImpersonationDenied, result.MailboxNotFound, result.NoMailbox, result.Throttled}
	for i := 0; i < n; i++ {
		m := result.Mailbox{Address: fmt.Sprintf("user%05d@contoso.com", i), Kind: result.KindUser, Protocol: result.EWS, Status: result.Pass, Class: result.OK,
			Read: result.Pass, Write: result.Pass, LatencyMs: int64(30 + i%90), Attempts: 1}
		if i%50 == 7 {
			c := classes[(i/50)%len(classes)]
			m.Status, m.Class, m.Code, m.Read, m.Write = result.Fail, c, "ErrorImpersonateUserDenied", result.Fail, result.Skip
			m.Message = "The account does not have permission to impersonate the requested user."
			m.Remediation = setup.Remediation(c, m.Code, setup.Situation{Environment: result.OnPrem, Account: "svc-ews@contoso.com", Mailbox: m.Address})
		}
		r.Mailboxes = append(r.Mailboxes, m)
	}
	r.Tally()
	return r
}

// bigBothResult is bigResult(n) run with both protocols: each address also through Graph,
// where 2 % fail (outside the app's scope): 200 blockers in 10,000, and half of the
// addresses EWS fails are Graph's failures too, so every verdict but untested occurs.
func bigBothResult(n int) *result.Result {
	r := bigResult(n)
	r.Profile.Environment, r.Profile.Protocol = result.EXO, impersonation.ProtocolBoth
	for _, m := range r.Mailboxes[:n] {
		g := result.Mailbox{Address: m.Address, Kind: m.Kind, Protocol: result.Graph, Status: result.Pass, Class: result.OK,
			Read: result.Pass, Write: result.Pass, LatencyMs: 3, Attempts: 1}
		if i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(m.Address, "user"), "@contoso.com")); i%50 == 9 || i%100 == 7 {
			g.Status, g.Class, g.Code, g.Read, g.Write = result.Fail, result.ImpersonationDenied, "ErrorAccessDenied", result.Fail, result.Skip
			g.Message = "Access is denied. Check credentials and try again."
			g.Remediation = "The app reaches mailboxes through RBAC for Applications, and " + m.Address + " is outside its management scope.\n" +
				"Add-DistributionGroupMember -Identity '<scope group>' -Member '" + m.Address + "'"
		}
		r.Mailboxes = append(r.Mailboxes, g)
	}
	r.Migration = impersonation.Migrate(r.Mailboxes)
	r.Tally()
	return r
}
