package exchangesim

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestDemoScenario(t *testing.T) {
	sc := Demo(0)
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	targets := sc.Targets()
	if len(targets) < 35 || len(targets) > 45 {
		t.Errorf("demo has %d targets, want about 40", len(targets))
	}
	classes := map[string]int{}
	throttleOnce := 0
	for _, a := range targets {
		classes[sc.ExpectClass(a)]++
		if sc.State(a) == StateThrottleOnce {
			throttleOnce++
			if sc.Expect(a) != "NoError" {
				t.Errorf("throttle-once mailbox %s expects %s, want NoError", a, sc.Expect(a))
			}
		}
	}
	for _, c := range []string{"ok", "impersonation-denied", "no-impersonation-right", "mailbox-not-found",
		"access-denied", "no-mailbox", "throttled", "transient", "auth-failed", "version-error", "schema-error",
		"header-invalid", "not-ews", "other"} {
		if classes[c] == 0 {
			t.Errorf("demo covers no %q mailbox", c)
		}
	}
	if classes["ok"] <= len(targets)/2 {
		t.Errorf("only %d of %d demo mailboxes are ok; most should be", classes["ok"], len(targets))
	}
	if throttleOnce != 1 {
		t.Errorf("%d throttle-once mailboxes, want exactly 1", throttleOnce)
	}
	if len(sc.RoomLists) != 3 {
		t.Errorf("%d room lists, want 3", len(sc.RoomLists))
	}
	outOfScopeRoom := false
	for _, r := range sc.Rooms() {
		if sc.Expect(r) == "ErrorImpersonateUserDenied" {
			outOfScopeRoom = true
		}
	}
	if !outOfScopeRoom {
		t.Error("no room is out of the impersonation scope")
	}
}

func TestDemoN(t *testing.T) {
	for _, tc := range []struct {
		n       int
		percent float64
		once    int
	}{{100, 0, 0}, {100, 1, 1}, {1000, 1, 10}, {250, 10, 25}} {
		sc := Demo(tc.n)
		sc.ThrottleOncePercent = tc.percent
		ts := sc.Targets()
		if len(ts) != tc.n {
			t.Fatalf("Demo(%d): %d targets", tc.n, len(ts))
		}
		once := 0
		for _, a := range ts {
			if sc.Expect(a) != "NoError" {
				t.Errorf("Demo(%d): %s expects %s", tc.n, a, sc.Expect(a))
			}
			if sc.State(a) == StateThrottleOnce {
				once++
			}
		}
		if once != tc.once {
			t.Errorf("Demo(%d) at %v%%: %d throttle-once, want %d", tc.n, tc.percent, once, tc.once)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || !strings.HasSuffix(s.URL, "/EWS/Exchange.asmx") {
		t.Fatalf("URL %q", s.URL)
	}
	if len(s.SHA256) != 64 || strings.ToLower(s.SHA256) != s.SHA256 {
		t.Fatalf("SHA256 %q is not lower-case hex", s.SHA256)
	}
	c := client(s)
	tests := []struct {
		name      string
		opts      []reqOpt
		status    int
		authFails int64
	}{
		{"no credentials", nil, 401, 0},
		{"upn", []reqOpt{basic(s.User, s.Password)}, 200, 0},
		{"domain backslash sam", []reqOpt{basic(s.Domain+`\svc-deputy`, s.Password)}, 200, 0},
		{"wrong password", []reqOpt{basic(s.User, s.Password+"x")}, 401, 1},
		{"unknown user", []reqOpt{basic("nobody@"+DemoDomain, s.Password)}, 401, 1},
		{"wrong domain", []reqOpt{basic(`CONTOSO\svc-deputy`, s.Password)}, 401, 1},
		{"bearer not offered", []reqOpt{header("Authorization", "Bearer abc")}, 401, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Counters().AuthFailures
			r := post(t, c, s.URL, []byte(getFolder("")), tc.opts...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if got := s.Counters().AuthFailures - before; got != tc.authFails {
				t.Errorf("AuthFailures +%d, want +%d", got, tc.authFails)
			}
			if r.Status == 401 {
				got := r.Header.Values("WWW-Authenticate")
				want := []string{"NTLM", "Negotiate", `Basic realm="mail.fabrikam.test"`}
				if !slices.Equal(got, want) {
					t.Errorf("WWW-Authenticate %q, want %q", got, want)
				}
				return
			}
			if r.code() != "NoError" || len(r.codes()) != 2 {
				t.Errorf("codes %v, want NoError for both folders", r.codes())
			}
			if !strings.Contains(r.Body, `MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11"`) {
				t.Error("ServerVersionInfo missing")
			}
			wellFormed(t, r.Body)
		})
	}
}

func TestAuthSchemesConfigurable(t *testing.T) {
	sc := Demo(0)
	sc.AuthSchemes = []string{"Basic"}
	s := startSim(t, sc, Options{PlainHTTP: true})
	if !strings.HasPrefix(s.URL, "http://") || s.CertPEM() != nil || s.SHA256 != "" {
		t.Fatalf("plain HTTP server: URL %q, cert %v", s.URL, s.CertPEM() != nil)
	}
	r := post(t, client(s), s.URL, []byte(getFolder("")))
	if got := r.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{`Basic realm="mail.fabrikam.test"`}) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	// NTLM is not offered, so an NTLM token is refused.
	r = post(t, client(s), s.URL, []byte(getFolder("")), header("Authorization", "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="))
	if r.Status != 401 || strings.Contains(strings.Join(r.Header.Values("WWW-Authenticate"), ","), "NTLM ") {
		t.Errorf("NTLM not offered but got status %d challenge %q", r.Status, r.Header.Values("WWW-Authenticate"))
	}
}

// TestMailboxStates impersonates every demo mailbox. The expectations are written out
// here by hand (not taken from Expect) so that the test can disagree with the code.
func TestMailboxStates(t *testing.T) {
	sc := Demo(0)
	s := startSim(t, sc, Options{})
	c := client(s)
	want := map[string]struct {
		status int
		code   string
	}{
		"ceo@fabrikam.test":              {500, "ErrorImpersonateUserDenied"},
		"branch.manager@fabrikam.test":   {500, "ErrorImpersonationDenied"},
		"jon.smiht@fabrikam.test":        {500, "ErrorNonExistentMailbox"},
		"audit.archive@fabrikam.test":    {200, "ErrorAccessDenied"},
		"contractor.kim@fabrikam.test":   {200, "ErrorMissingEmailAddress"},
		"newsletter@fabrikam.test":       {500, "ErrorServerBusy"},
		"moving.user@fabrikam.test":      {200, "ErrorMailboxMoveInProgress"},
		"db3.user@fabrikam.test":         {200, "ErrorMailboxStoreUnavailable"},
		"forest.partner@fabrikam.test":   {500, "ErrorImpersonationFailed"},
		"legacy.2010@fabrikam.test":      {500, "ErrorInvalidSchemaVersionForMailboxVersion"},
		"schema.victim@fabrikam.test":    {500, "ErrorSchemaValidation"},
		"proxy.address@fabrikam.test":    {500, "ErrorInvalidSmtpAddress"},
		"kiosk.web@fabrikam.test":        {200, ""},
		"broken.store@fabrikam.test":     {200, "ErrorInternalServerError"},
		"anna.berg@fabrikam.test":        {200, "NoError"},
		"room.boardroom@fabrikam.test":   {500, "ErrorImpersonateUserDenied"},
		"room.oslo@fabrikam.test":        {200, "NoError"},
		"not.in.directory@fabrikam.test": {500, "ErrorNonExistentMailbox"},
	}
	all := append(sc.Targets(), sc.Rooms()...)
	all = append(all, "not.in.directory@fabrikam.test")
	for _, addr := range all {
		t.Run(addr, func(t *testing.T) {
			r := post(t, c, s.URL, []byte(getFolder(addr)), basic(s.User, s.Password), header("X-AnchorMailbox", addr))
			if sc.State(addr) == StateThrottleOnce {
				if r.Status != 500 || r.code() != "ErrorServerBusy" || r.backoff() != "1500" {
					t.Fatalf("first request: %d %s backoff %q, want 500 ErrorServerBusy 1500", r.Status, r.code(), r.backoff())
				}
				r = post(t, c, s.URL, []byte(getFolder(addr)), basic(s.User, s.Password))
			}
			if w, ok := want[addr]; ok {
				if r.Status != w.status || r.code() != w.code {
					t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.code(), w.status, w.code, r.Body)
				}
			}
			if r.code() != sc.Expect(addr) {
				t.Errorf("reply %q disagrees with Expect %q", r.code(), sc.Expect(addr))
			}
			switch {
			case sc.State(addr) == StateHTML:
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("html mailbox: Content-Type %q", ct)
				}
			case r.Status == 500:
				wellFormed(t, r.Body)
				for _, part := range []string{`<s:Fault>`, `<faultcode xmlns:a="` + tNS + `">a:` + r.code() + `</faultcode>`,
					`<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`, `<faultstring xml:lang="en-US">`} {
					if !strings.Contains(r.Body, part) {
						t.Errorf("fault lacks %s:\n%s", part, r.Body)
					}
				}
			case r.code() != "NoError":
				wellFormed(t, r.Body)
				if !strings.Contains(r.Body, `ResponseClass="Error"`) || !strings.Contains(r.Body, `<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>`) ||
					!strings.Contains(r.Body, `<m:MessageText>`) {
					t.Errorf("per-item error lacks its parts:\n%s", r.Body)
				}
			}
		})
	}
	c2 := s.Counters()
	if c2.ByOperation["GetFolder"] < int64(len(all)) {
		t.Errorf("ByOperation[GetFolder] = %d, want >= %d", c2.ByOperation["GetFolder"], len(all))
	}
	// Every request above carried X-AnchorMailbox except the throttle-once retry.
	if c2.AnchorMismatches != 1 {
		t.Errorf("AnchorMismatches %d, want 1", c2.AnchorMismatches)
	}
}

func TestMessageTexts(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	tests := []struct {
		name, user, imp, text string
	}{
		{"out of scope", s.User, "cfo@fabrikam.test", "The account does not have permission to impersonate the requested user."},
		{"missing", s.User, "former.employee@fabrikam.test", "The SMTP address has no mailbox associated with it."},
		{"service account without mailbox", "svc-nomailbox@fabrikam.test", "",
			"When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids."},
		{"no right at all", "svc-noright@fabrikam.test", "anna.berg@fabrikam.test", "cannot impersonate the requested user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, c, s.URL, []byte(getFolder(tc.imp)), basic(tc.user, DemoPassword))
			if !strings.Contains(r.Body, tc.text) {
				t.Errorf("reply lacks %q:\n%s", tc.text, r.Body)
			}
		})
	}
	// The account without a mailbox can still impersonate (its right is "all").
	r := post(t, c, s.URL, []byte(getFolder("ceo@fabrikam.test")), basic("svc-nomailbox@fabrikam.test", DemoPassword))
	if r.code() != "NoError" {
		t.Errorf("svc-nomailbox impersonating ceo: %s", r.code())
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestRequestVariants: the parser accepts what real clients send and refuses what
// Exchange refuses.
func TestRequestVariants(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	ok := "anna.berg@fabrikam.test"
	sidOf := func(addr string) string {
		sc := s.Scenario()
		for i, m := range sc.Mailboxes {
			if m.Address == addr {
				return sid(i)
			}
		}
		return ""
	}
	withID := func(kind, v string) string {
		return strings.Replace(getFolder(ok), `<t:SmtpAddress>`+ok+`</t:SmtpAddress>`, `<t:`+kind+`>`+v+`</t:`+kind+`>`, 1)
	}
	tests := []struct {
		name   string
		body   []byte
		opts   []reqOpt
		status int
		code   string
	}{
		{"SmtpAddress", []byte(getFolder(ok)), nil, 200, "NoError"},
		{"PrimarySmtpAddress", []byte(withID("PrimarySmtpAddress", ok)), nil, 200, "NoError"},
		{"PrincipalName", []byte(withID("PrincipalName", ok)), nil, 200, "NoError"},
		{"SID", []byte(withID("SID", sidOf(ok))), nil, 200, "NoError"},
		{"SID of an executive", []byte(withID("SID", sidOf("ceo@fabrikam.test"))), nil, 500, "ErrorImpersonateUserDenied"},
		{"bad SID", []byte(withID("SID", "nonsense")), nil, 500, "ErrorInvalidSid"},
		{"bad UPN", []byte(withID("PrincipalName", "anna")), nil, 500, "ErrorInvalidUserPrincipalName"},
		{"empty identifier", []byte(withID("SmtpAddress", "")), nil, 500, "ErrorInvalidExchangeImpersonationHeaderData"},
		{"invalid SMTP syntax", []byte(withID("SmtpAddress", "anna berg@@fabrikam")), nil, 500, "ErrorInvalidSmtpAddress"},
		{"upper-case address", []byte(getFolder(strings.ToUpper(ok))), nil, 200, "NoError"},
		{"gzip body", gz([]byte(getFolder(ok))), []reqOpt{header("Content-Encoding", "gzip")}, 200, "NoError"},
		{"BOM", append([]byte("\xef\xbb\xbf"), getFolder(ok)...), nil, 200, "NoError"},
		{"no XML declaration", []byte(strings.TrimPrefix(getFolder(ok), `<?xml version="1.0" encoding="utf-8"?>`)), nil, 200, "NoError"},
		{"SOAPAction", []byte(getFolder(ok)), []reqOpt{header("SOAPAction", `"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder"`)}, 200, "NoError"},
		{"default namespace and other prefixes", []byte(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header><RequestServerVersion xmlns="` + tNS + `" Version="Exchange2016"/><ExchangeImpersonation xmlns="` + tNS + `"><ConnectingSID><PrimarySmtpAddress>` + ok + `</PrimarySmtpAddress></ConnectingSID></ExchangeImpersonation></SOAP-ENV:Header><SOAP-ENV:Body><GetFolder xmlns="` + mNS + `" xmlns:types="` + tNS + `"><FolderShape><types:BaseShape>Default</types:BaseShape></FolderShape><FolderIds><types:DistinguishedFolderId Id="inbox"/></FolderIds></GetFolder></SOAP-ENV:Body></SOAP-ENV:Envelope>`), nil, 200, "NoError"},
		{"no RequestServerVersion", []byte(envelopeXML("", ok, getFolderBody)), nil, 200, "NoError"},
		{"V2017_07_11", []byte(envelopeXML("V2017_07_11", ok, getFolderBody)), nil, 200, "NoError"},
		{"invalid version", []byte(envelopeXML("Exchange2099", ok, getFolderBody)), nil, 500, "ErrorInvalidServerVersion"},
		{"legacy mailbox, modern version", []byte(envelopeXML("Exchange2013_SP1", "legacy.2010@fabrikam.test", getFolderBody)), nil, 500, "ErrorInvalidSchemaVersionForMailboxVersion"},
		{"legacy mailbox, Exchange2007_SP1", []byte(envelopeXML("Exchange2007_SP1", "legacy.2010@fabrikam.test", getFolderBody)), nil, 200, "NoError"},
		{"https SOAP namespace (docs quirk)", []byte(strings.Replace(getFolder(ok), "http://schemas.xmlsoap.org", "https://schemas.xmlsoap.org", 1)), nil, 500, "ErrorSchemaValidation"},
		{"https types namespace (docs quirk)", []byte(strings.ReplaceAll(getFolder(ok), tNS, strings.Replace(tNS, "http:", "https:", 1))), nil, 500, "ErrorSchemaValidation"},
		{"malformed XML", []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetFolder>`), nil, 500, "ErrorSchemaValidation"},
		{"not XML", []byte("hello"), nil, 500, "ErrorSchemaValidation"},
		{"empty body element", []byte(envelopeXML("Exchange2013_SP1", "", "")), nil, 500, "ErrorInvalidRequest"},
		{"unknown operation", []byte(envelopeXML("Exchange2013_SP1", "", `<m:FindItem Traversal="Shallow"/>`)), nil, 500, "ErrorInvalidRequest"},
		{"bad distinguished id", []byte(envelopeXML("Exchange2013_SP1", ok, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="invalidparentid"/></m:FolderIds></m:GetFolder>`)), nil, 500, "ErrorSchemaValidation"},
		{"missing FolderShape", []byte(envelopeXML("Exchange2013_SP1", ok, `<m:GetFolder><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`)), nil, 500, "ErrorSchemaValidation"},
		{"delegate to other mailbox", []byte(envelopeXML("Exchange2013_SP1", "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>anna.berg@fabrikam.test</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>`)), nil, 200, "ErrorAccessDenied"},
		{"malformed folder id", []byte(envelopeXML("Exchange2013_SP1", ok, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="!!"/></m:FolderIds></m:GetFolder>`)), nil, 200, "ErrorInvalidIdMalformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]reqOpt{basic(s.User, s.Password)}, tc.opts...)
			r := post(t, c, s.URL, tc.body, opts...)
			if r.Status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.code(), tc.status, tc.code, r.Body)
			}
			wellFormed(t, r.Body)
			if tc.code == "ErrorSchemaValidation" && !strings.Contains(r.Body, "<t:LineNumber>") {
				t.Errorf("schema fault without position:\n%s", r.Body)
			}
		})
	}
}

func TestWSDL(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	wsdl := strings.Replace(s.URL, "Exchange.asmx", "Services.wsdl", 1)
	for _, tc := range []struct {
		name   string
		auth   bool
		status int
	}{{"anonymous", false, 401}, {"basic", true, 200}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, wsdl, nil)
			if tc.auth {
				req.SetBasicAuth(s.User, s.Password)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func TestExpectAs(t *testing.T) {
	sc := Demo(0)
	s := startSim(t, sc, Options{})
	c := client(s)
	tests := []struct {
		account, address, code, class string
	}{
		{DemoUser, "", "NoError", "ok"},
		{"svc-nomailbox@fabrikam.test", "", "ErrorMissingEmailAddress", "no-mailbox"},
		{"FABRIKAM\\svc-nomailbox", "ceo@fabrikam.test", "NoError", "ok"},
		{"svc-noright@fabrikam.test", "", "NoError", "ok"},
		{"svc-noright@fabrikam.test", "anna.berg@fabrikam.test", "ErrorImpersonationDenied", "no-impersonation-right"},
		{DemoUser, "ceo@fabrikam.test", "ErrorImpersonateUserDenied", "impersonation-denied"},
		{"svc-nomailbox@fabrikam.test", "jon.smiht@fabrikam.test", "ErrorNonExistentMailbox", "mailbox-not-found"},
		{"nobody@fabrikam.test", "anna.berg@fabrikam.test", "", "auth-failed"},
	}
	for _, tc := range tests {
		t.Run(tc.account+"/"+tc.address, func(t *testing.T) {
			code, class := sc.ExpectAs(tc.account, tc.address)
			if code != tc.code || class != tc.class {
				t.Fatalf("ExpectAs = %s %s, want %s %s", code, class, tc.code, tc.class)
			}
			r := post(t, c, s.URL, []byte(getFolder(tc.address)), basic(tc.account, DemoPassword))
			if tc.class == "auth-failed" {
				if r.Status != 401 {
					t.Errorf("status %d, want 401", r.Status)
				}
				return
			}
			if r.code() != tc.code {
				t.Errorf("server answers %s, ExpectAs says %s", r.code(), tc.code)
			}
		})
	}
}
