package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"deputy/internal/result"
	"deputy/internal/setup"
)

var update = flag.Bool("update", false, "rewrite testdata/demo-result.json from the demo result")

var fixedNow = Options{Now: func() time.Time { return time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC) }}

func demoScript(t testing.TB) string {
	s, err := setup.Generate(setup.OnPremScoped, setup.Input{Exchange: "SE", Account: "svc-ews@contoso.com", ScopeGroup: "EWS Targets"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return s.Text
}

// TestDemoFixture keeps testdata/demo-result.json (the file the CLI tests and the
// screenshots use) in step with the model, and renders every format from the file itself.
func TestDemoFixture(t *testing.T) {
	path := filepath.Join("testdata", "demo-result.json")
	if *update {
		var b bytes.Buffer
		if err := JSON(&b, demoResult()); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r result.Result
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("demo-result.json does not match the schema: %v", err)
	}
	if r.Schema != result.Schema || len(r.Mailboxes) != 120 || r.Verdict != result.Fail {
		t.Fatalf("unexpected fixture: schema %q, %d mailboxes, verdict %s", r.Schema, len(r.Mailboxes), r.Verdict)
	}
	var again bytes.Buffer
	if err := JSON(&again, &r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), raw) {
		t.Error("JSON(decode(demo-result.json)) differs from the file: the JSON report is not the schema itself")
	}
	for _, ext := range []string{".html", ".pdf", ".json"} {
		out := filepath.Join(t.TempDir(), "r"+ext)
		if err := Write(out, &r, Options{Script: demoScript(t)}); err != nil {
			t.Errorf("Write %s: %v", ext, err)
		}
	}
}

// wellFormed checks tags balance loosely (no x/net/html here): html/template escapes all
// text, so every '<' in the output starts a tag.
func wellFormed(doc string) error {
	void := map[string]bool{"meta": true, "br": true, "hr": true, "img": true, "input": true, "link": true, "col": true, "wbr": true}
	if i := strings.Index(doc, "<style>"); i >= 0 {
		j := strings.Index(doc, "</style>")
		if j < i {
			return errors.New("unterminated <style>")
		}
		doc = doc[:i] + doc[j+len("</style>"):]
	}
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)[^<>]*>`)
	var stack []string
	for _, m := range tag.FindAllStringSubmatch(doc, -1) {
		name := strings.ToLower(m[2])
		if void[name] {
			continue
		}
		if m[1] == "" {
			stack = append(stack, name)
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1] != name {
			return errors.New("unexpected </" + name + "> (open: " + strings.Join(stack, ">") + ")")
		}
		stack = stack[:len(stack)-1]
	}
	if len(stack) != 0 {
		return errors.New("unclosed: " + strings.Join(stack, ">"))
	}
	if strings.Count(doc, "<") != len(tag.FindAllString(doc, -1))+strings.Count(doc, "<!DOCTYPE") {
		return errors.New("a '<' that starts no tag: unescaped text")
	}
	return nil
}

func TestHTML(t *testing.T) {
	r := demoResult()
	var b bytes.Buffer
	if err := HTML(&b, r, Options{Script: demoScript(t), Now: fixedNow.Now}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if err := wellFormed(doc); err != nil {
		t.Fatalf("HTML is not well formed: %v", err)
	}
	want := []string{
		"<title>EWS impersonation report — Contoso production</title>",
		`class="summary fail"`, ">Failed<", "110 of 120 mailboxes passed · 2 warnings · 8 failed", "5 of 8 checks passed, 1 failed, 1 warning",
		`style="width: 91.67%"`, `style="width: 6.67%"`,
		"Outside the impersonation scope", "— 6 mailboxes", "Mailbox not found",
		"adele.vance@contoso.com", "ErrorImpersonateUserDenied",
		"Get-ManagementRoleAssignment -Role ApplicationImpersonation -WritableRecipient &#39;adele.vance@contoso.com&#39;",
		"Add-DistributionGroupMember -Identity &#39;EWS Targets&#39;",
		"15.2.2562.17 (Exchange Server SE)", "On-premises Exchange", "NTLM", "svc-ews@contoso.com", "2026-11-23 14:02:11 UTC", "42.3 s",
		"3f9a4c1be0d2a7c56e8b9f0a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c",
		"Mailboxes that passed (110)", "room-6@contoso.com",
		"Setup script", "$TargetGroup = &#39;EWS Targets&#39;",
		"Request traces (1)", "Authorization: NTLM [redacted]",
		"generated 2026-11-23 15:00:00 UTC", "@media print",
	}
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("HTML lacks %q", w)
		}
	}
	// Failed groups come before the passed table, the biggest failing group first.
	if i, j, k := strings.Index(doc, "Outside the impersonation scope"), strings.Index(doc, "Mailbox not found"), strings.Index(doc, "Mailboxes that passed"); !(i < j && j < k) {
		t.Errorf("section order wrong: scope %d, not found %d, passed %d", i, j, k)
	}
	if i, j := strings.Index(doc, "Mailbox not found"), strings.Index(doc, "Throttled by the server"); i > j {
		t.Error("fail groups must precede warn groups")
	}
	// Self-contained: no script, no external resource.
	for _, bad := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(doc, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}

func TestHTMLPassVerdictAndEmpty(t *testing.T) {
	r := demoResult()
	r.Mailboxes = r.Mailboxes[:110]
	r.Checks = r.Checks[:5]
	r.Traces = nil
	r.Tally()
	var b bytes.Buffer
	if err := HTML(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, w := range []string{`class="summary pass"`, "All tests pass", "110 of 110 mailboxes passed"} {
		if !strings.Contains(doc, w) {
			t.Errorf("pass report lacks %q", w)
		}
	}
	for _, no := range []string{"Mailboxes that failed", "Setup script", "Request traces"} {
		if strings.Contains(doc, no) {
			t.Errorf("pass report has %q", no)
		}
	}
	empty := &result.Result{Schema: result.Schema, Cancelled: true}
	b.Reset()
	if err := HTML(&b, empty, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(b.String()); err != nil {
		t.Error(err)
	}
	if !strings.Contains(b.String(), "Incomplete (cancelled: partial results)") || !strings.Contains(b.String(), "no mailboxes tested") {
		t.Error("empty cancelled result not explained")
	}
	if err := HTML(&b, nil, Options{}); err == nil {
		t.Error("nil result accepted")
	}
}

// hostileResult puts markup and control characters into every string a server or a user
// could have influenced.
func hostileResult() *result.Result {
	r := demoResult()
	x := `<script>alert(1)</script>"><img src=x onerror=alert(2)>` + "\x00\x1b[31m\u2028"
	r.Profile.Name = x
	r.Profile.EWSURL = "https://x/" + x
	r.Server.Version = x
	r.Checks[1].Summary = x
	r.Checks[1].Evidence = append(r.Checks[1].Evidence, x)
	r.Checks[5].Remediation = x
	r.Mailboxes[110].Address = x
	r.Mailboxes[110].Message = x
	r.Mailboxes[110].Code = x
	r.Mailboxes[110].Remediation = x
	r.Mailboxes[110].Class = result.Class(x)
	r.Traces[0].Response = x
	r.Migration = &result.Migration{Neither: 1, Addresses: []result.MigrationAddress{{Address: x, EWS: result.Class(x), Graph: result.OK, Verdict: x}}}
	return r
}

func TestHTMLEscapesEverything(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, hostileResult(), Options{Script: "</pre><script>alert(3)</script>"}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if err := wellFormed(doc); err != nil {
		t.Fatalf("hostile values broke the HTML: %v", err)
	}
	for _, bad := range []string{"<script", "<img", "onerror=alert(2)>"} {
		if strings.Contains(doc, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(doc, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("hostile text not shown escaped")
	}
}

func TestPDFHostile(t *testing.T) {
	var b bytes.Buffer
	if err := PDF(&b, hostileResult(), Options{Script: "x\x00y\tz"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
}

func pdfText(t *testing.T, pdf []byte, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (poppler-utils)")
	}
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", append(append([]string{"-layout"}, args...), f, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo not installed (poppler-utils)")
	}
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", f).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pdfinfo: no page count in %s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestPDF(t *testing.T) {
	var b bytes.Buffer
	if err := PDF(&b, demoResult(), Options{Script: demoScript(t), Now: fixedNow.Now}); err != nil {
		t.Fatal(err)
	}
	pdf := b.Bytes()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
		t.Fatal("not a complete PDF")
	}
	n := pdfPages(t, pdf)
	if n < 4 {
		t.Errorf("%d pages; want title, checks, mailboxes, script, traces", n)
	}
	text := pdfText(t, pdf)
	for _, w := range []string{"EWS impersonation report", "Contoso production", "Failed", "110 of 120 mailboxes passed", "Checks at a glance", "Why mailboxes failed",
		"Outside the impersonation scope", "adele.vance@contoso.com", "-WritableRecipient 'adele.vance@contoso.com'", "HOW TO FIX",
		"Mailboxes that passed (110)", "Setup script", "$TargetGroup = 'EWS Targets'", "Authorization: NTLM [redacted]", "Page 1 of " + strconv.Itoa(n), "Page " + strconv.Itoa(n) + " of " + strconv.Itoa(n)} {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
	if strings.Contains(text, nbAlias) {
		t.Error("page-count alias left unreplaced")
	}
}

func TestPDF10kPaginates(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-mailbox PDF in -short mode")
	}
	var b bytes.Buffer
	if err := PDF(&b, bigResult(10000), Options{}); err != nil {
		t.Fatal(err)
	}
	n := pdfPages(t, b.Bytes())
	// ~53 rows a page: 9,800 passed rows alone need > 150 pages.
	if n < 150 || n > 400 {
		t.Errorf("%d pages for 10,000 mailboxes", n)
	}
	// Every page of the passed table repeats the column header.
	for _, p := range []int{n / 2, n - 1} {
		text := pdfText(t, b.Bytes(), "-f", strconv.Itoa(p), "-l", strconv.Itoa(p))
		if !regexp.MustCompile(`#\s+Mailbox\s+Kind\s+Status\s+Read\s+Write\s+ms\s+Tries`).MatchString(text) {
			t.Errorf("page %d has no table header:\n%.400s", p, text)
		}
		if !strings.Contains(text, "Page "+strconv.Itoa(p)+" of "+strconv.Itoa(n)) {
			t.Errorf("page %d lacks its page number", p)
		}
	}
}

func TestHTML10k(t *testing.T) {
	var b bytes.Buffer
	r := bigResult(10000)
	if err := HTML(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if err := wellFormed(doc); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(doc, "<tr>"); got != 10000+1+4 { // rows + passed header + 4 group headers
		t.Errorf("%d table rows, want 10005", got)
	}
	if !strings.Contains(doc, "9800 of 10000 mailboxes passed") {
		t.Error("counts missing")
	}
}

func TestHTML10kBoth(t *testing.T) {
	r := bigBothResult(10000)
	if mg := r.Migration; mg.EWSOnly != 200 || mg.Neither != 100 || mg.GraphOnly != 100 || mg.BothReady != 9600 {
		t.Fatalf("fixture: %s", mg.Counts())
	}
	var b bytes.Buffer
	if err := HTML(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	if err := wellFormed(doc); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"10000 addresses, each tested through EWS and Microsoft Graph", r.Migration.Counts(),
		"Blockers: 200 addresses work through EWS today but not through Microsoft Graph", "Other addresses not ready on both (200)"} {
		if !strings.Contains(doc, w) {
			t.Errorf("lacks %q", w)
		}
	}
}

func TestJSON(t *testing.T) {
	r := demoResult()
	r.Traces[0].Request = "GET / HTTP/1.1\nAuthorization: Basic c3ZjOlN1cDNy\n"
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back result.Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != result.Schema || len(back.Mailboxes) != len(r.Mailboxes) || back.Summary != r.Summary {
		t.Error("JSON report does not round-trip")
	}
	if !strings.Contains(b.String(), "\n  \"schema\": \"deputy.diagnostics/v1\"") {
		t.Error("JSON not indented")
	}
	if strings.Contains(b.String(), "c3ZjOlN1cDNy") {
		t.Error("JSON kept a Basic credential")
	}
	if r.Traces[0].Request != "GET / HTTP/1.1\nAuthorization: Basic c3ZjOlN1cDNy\n" {
		t.Error("JSON modified the caller's result")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := demoResult()
	for _, tt := range []struct{ name, magic string }{{"r.html", "<!DOCTYPE html>"}, {"R.HTM", "<!DOCTYPE html>"}, {"r.pdf", "%PDF-"}, {"r.json", "{\n"}} {
		p := filepath.Join(dir, tt.name)
		if err := Write(p, r, Options{}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte(tt.magic)) {
			t.Errorf("%s: starts %q, err %v", tt.name, b[:min(len(b), 20)], err)
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v", tt.name, st.Mode().Perm())
		}
	}
	for _, bad := range []string{"r.docx", "report"} {
		err := Write(filepath.Join(dir, bad), r, Options{})
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), ".html, .pdf or .json") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
	if err := Write(filepath.Join(dir, "missing", "r.html"), r, Options{}); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v; temporary files left behind?", names)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, secret, keep string }{
		{"Authorization: Basic c3ZjOlN1cDNyUzNjcjN0", "c3ZjOlN1cDNyUzNjcjN0", "Authorization: Basic [redacted]"},
		{"authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL291dGxvb2suLm.sig-nature", "eyJ0eXAi", "authorization: Bearer [redacted]"},
		{"WWW-Authenticate: NTLM TlRMTVNTUAACAAAADAAMADgAAAAFgomi", "TlRMTVNTUAACAAAADAAMADgAAAAFgomi", "WWW-Authenticate: NTLM [redacted]"},
		{"Cookie: X-BackEndCookie=S-1-5-21-1234=u56Lnp2ejJqBy8vPz8rIzsvSz87IydLOyQ==", "u56Lnp2ejJqBy8vPz8rIzsvSz87IydLOyQ", "Cookie: [redacted]"},
		{"Set-Cookie: ClientId=ABCDEF0123456789; path=/", "ABCDEF0123456789", "Set-Cookie: [redacted]"},
		{"<t:Password>hunter2-secret</t:Password>", "hunter2-secret", "<t:Password>[redacted]</t:Password>"},
		{"grant_type=client_credentials&client_secret=s3cr3t~value&scope=x", "s3cr3t~value", "client_secret=[redacted]&scope=x"},
		{"token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dGVzdA in text", "eyJhbGciOiJSUzI1NiJ9", "token [redacted] in text"},
		{"<m:ResponseCode>ErrorImpersonateUserDenied</m:ResponseCode>", "", "<m:ResponseCode>ErrorImpersonateUserDenied</m:ResponseCode>"},
		{"Authorization: NTLM [redacted]", "", "Authorization: NTLM [redacted]"},
		{`WWW-Authenticate: Basic realm="mail.contoso.com"`, "", `Basic realm="mail.contoso.com"`},
	}
	for _, tt := range tests {
		got := Redact(tt.in)
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("Redact(%q) = %q: secret kept", tt.in, got)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("Redact(%q) = %q, want it to contain %q", tt.in, got, tt.keep)
		}
	}
}

// TestLeakScan: a report renders only result fields (and the script it is given), and
// strips credentials a careless producer left in traces. The secret sits in the process
// environment (where a password would be), in trace headers and bodies; it must not reach
// any format.
func TestLeakScan(t *testing.T) {
	const secret = "Zq7-LEAK-CANARY-31337"
	t.Setenv("DEPUTY_PASSWORD", secret)
	t.Setenv("DEPUTY_CLIENT_SECRET", secret)
	r := demoResult()
	r.Traces = append(r.Traces, result.Trace{Step: "auth", Method: "POST", URL: "https://login.microsoftonline.com/t/oauth2/v2.0/token?client_secret=" + secret, Status: 200,
		Request:  "POST /t/oauth2/v2.0/token HTTP/1.1\nAuthorization: Basic " + secret + "\nCookie: esctx=" + secret + "\n\nclient_id=x&client_secret=" + secret + "&password=" + secret,
		Response: "HTTP/1.1 200 OK\nSet-Cookie: fpc=" + secret + "\n\n{\"access_token\":\"eyJ0eXAiOiJKV1QifQ.eyJzZWNyZXQiOiJ4In0." + secret + "\"}<t:Password>" + secret + "</t:Password>"})
	dir := t.TempDir()
	for _, ext := range []string{".html", ".json", ".pdf"} {
		p := filepath.Join(dir, "r"+ext)
		if err := Write(p, r, Options{}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		text := string(b)
		if ext == ".pdf" {
			text = pdfText(t, b)
		}
		if strings.Contains(text, secret) {
			i := strings.Index(text, secret)
			t.Errorf("%s leaks the secret: …%s…", ext, text[max(0, i-80):min(len(text), i+30)])
		}
	}
}

func BenchmarkHTML10k(b *testing.B)     { benchHTML(b, bigResult(10000)) }
func BenchmarkHTML10kBoth(b *testing.B) { benchHTML(b, bigBothResult(10000)) }
func BenchmarkPDF10k(b *testing.B)      { benchPDF(b, bigResult(10000)) }
func BenchmarkPDF10kBoth(b *testing.B)  { benchPDF(b, bigBothResult(10000)) }

func benchHTML(b *testing.B, r *result.Result) {
	var buf bytes.Buffer
	start := time.Now()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := HTML(&buf, r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/report")
	b.ReportMetric(float64(buf.Len())/1e6, "MB")
}

func benchPDF(b *testing.B, r *result.Result) {
	var buf bytes.Buffer
	start := time.Now()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := PDF(&buf, r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/report")
	b.ReportMetric(float64(buf.Len())/1e6, "MB")
}

func TestParagraphs(t *testing.T) {
	tests := []struct {
		in   string
		want []para
	}{
		{"", nil},
		{"Why it failed.\n\nNew-X -Name 'a'\n# Verify:\nGet-X", []para{{false, "Why it failed."}, {true, "New-X -Name 'a'\n# Verify:\nGet-X"}}},
		{"[a, b] one.\r\n\r\nGet-A\r\n\r\n$dn = 1\n\n[c, d] two.", []para{{false, "[a, b] one."}, {true, "Get-A\n\n$dn = 1"}, {false, "[c, d] two."}}},
		{"Switch the scheme: Set-WebServicesVirtualDirectory -X $true", []para{{false, "Switch the scheme: Set-WebServicesVirtualDirectory -X $true"}}},
		{"Get-Recipient -Identity 'x'\n    | Format-List", []para{{true, "Get-Recipient -Identity 'x'\n    | Format-List"}}},
		// Commands right under their sentence (no blank line), prose after them.
		{"Out of scope.\nConnect-ExchangeOnline\nNew-X -A 'b'   # once\nWarning: consent overrides scope.", []para{{false, "Out of scope."}, {true, "Connect-ExchangeOnline\nNew-X -A 'b'   # once"}, {false, "Warning: consent overrides scope."}}},
		// An indented line continues prose too when no command precedes it.
		{"Line one\n  continues.", []para{{false, "Line one\n  continues."}}},
	}
	for _, tt := range tests {
		if got := paragraphs(tt.in); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("paragraphs(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestViewSummaryCheckPointsToGroups(t *testing.T) {
	r := demoResult()
	r.Checks[5].Remediation = "[impersonation-denied, ErrorImpersonateUserDenied] fix one\n\nGet-A\n\n[mailbox-not-found, ErrorNonExistentMailbox] fix two"
	v := newView(r, Options{})
	if len(v.Checks[5].Fix) != 1 || !strings.Contains(v.Checks[5].Fix[0].Text, "Mailboxes that failed") {
		t.Errorf("summary check fix = %+v", v.Checks[5].Fix)
	}
	if v.Checks[2].ShowCert != true {
		t.Error("certificate hidden although the evidence does not show it")
	}
	r.Checks[2].Evidence = []string{"SHA-256: " + strings.ToUpper(r.Checks[2].Cert.SHA256)}
	if newView(r, Options{}).Checks[2].ShowCert {
		t.Error("certificate shown twice")
	}
	// Many causes: the summary lists five and counts the rest.
	for i, c := range result.Classes[1:] {
		r.Mailboxes = append(r.Mailboxes, result.Mailbox{Address: fmt.Sprintf("x%d@contoso.com", i), Status: result.Fail, Class: c})
	}
	v = newView(r, Options{})
	if len(v.Attention) != 5 || v.MoreCauses != len(v.Groups)-5 {
		t.Errorf("attention %d, more %d, groups %d", len(v.Attention), v.MoreCauses, len(v.Groups))
	}
}
