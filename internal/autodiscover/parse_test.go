package autodiscover

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"deputy/internal/result"
)

const samplesDir = "testdata/ews-samples"

type sample struct {
	File, Kind, Operation, Expected string
	ResponseCode                    *string
	HTTPStatus                      *int
	Fragment                        bool
}

func loadSamples(t testing.TB) []sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Samples []sample }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Samples
}

// readHTTPSample splits a recorded HTTP message; recorded framing headers may not match
// the decoded body, so they are dropped before http.ReadResponse.
func readHTTPSample(t *testing.T, raw []byte) (int, http.Header, []byte) {
	t.Helper()
	re := regexp.MustCompile(`(?mi)^(Content-Length|Transfer-Encoding):.*\r?\n`)
	raw = re.ReplaceAll(raw, nil)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("read HTTP sample: %v", err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, body.Bytes()
}

// TestSamples: every real Autodiscover reply parses and is classified as the manifest says.
// The docs' https:// namespace rewrite is accepted on purpose (elements match by local name).
func TestSamples(t *testing.T) {
	n := 0
	for _, s := range loadSamples(t) {
		if s.Kind == "request" || s.Fragment {
			continue
		}
		n++
		t.Run(s.File, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samplesDir, s.File))
			if err != nil {
				t.Fatal(err)
			}
			proto := POX
			if s.Operation == "GetUserSettings" {
				proto = SOAP
			}
			status, h, body := http.StatusOK, http.Header{}, raw
			if s.Kind == "http" {
				status, h, body = readHTTPSample(t, raw)
			}
			a, err := Interpret(proto, status, h, body)
			if err != nil {
				t.Fatalf("Interpret: %v", err)
			}
			got := string(a.Class)
			if a.Redirect() {
				got = "redirect"
			}
			if got != s.Expected {
				t.Errorf("class %q (kind %s, code %q), want %q", got, a.Kind, a.Code, s.Expected)
			}
			if s.ResponseCode != nil {
				want := *s.ResponseCode
				if want == "NoError" {
					want = ""
				}
				if a.Code != want {
					t.Errorf("code %q, want %q", a.Code, want)
				}
			}
			if a.Redirect() && a.Target == "" {
				t.Error("redirect without target")
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d samples tested", n)
	}
}

func TestSampleDetails(t *testing.T) {
	tests := []struct {
		file   string
		proto  Protocol
		kind   Kind
		ews    string
		target string
		name   string
	}{
		{"autodiscover-pox-settings-msdocs.xml", POX, KindSettings, "https://mail.contoso.com/EWS/Exchange.asmx", "", "Mara Whitley"},
		{"autodiscover-pox-settings-phpews.xml", POX, KindSettings, "https://outlook.office365.com/EWS/Exchange.asmx", "", "Gareth Parker"},
		{"autodiscover-pox-redirectaddr-msdocs.xml", POX, KindRedirectAddr, "", "elvin@mail.contoso.com", ""},
		{"autodiscover-pox-redirecturl-exchangelib.xml", POX, KindRedirectURL, "", "https://example.com/foo.asmx", ""},
		{"getusersettings-redirectaddress-msdocs.xml", SOAP, KindRedirectAddr, "", "elvin@mail.contoso.com", ""},
		{"getusersettings-success-ewsjs.xml", SOAP, KindSettings, "https://outlook.office365.com/EWS/Exchange.asmx", "", "test user"},
		{"getusersettings-success-msdocs.xml", SOAP, KindSettings, "", "", "UserDisplayName"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samplesDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Interpret(tc.proto, 200, nil, raw)
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind != tc.kind || a.EWSURL != tc.ews || a.Target != tc.target || a.DisplayName != tc.name {
				t.Errorf("got %+v", a)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name  string
		proto Protocol
		body  string
		want  string
	}{
		{"html", POX, "<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"},
		{"html-soap", SOAP, "  <html><head></head></html>", "HTML"},
		{"empty", POX, "", "empty"},
		{"truncated", POX, `<Autodiscover xmlns="x"><Response>`, "malformed"},
		{"wrong-root", POX, `<Envelope/>`, "root"},
		{"soap-wrong-root", SOAP, `<Autodiscover/>`, "root"},
		{"pox-no-action", POX, `<Autodiscover><Response><Account/></Response></Autodiscover>`, "neither"},
		{"soap-empty-body", SOAP, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`, "without"},
		{"v2-garbage", V2, `{"Protocol":`, "v2 JSON"},
		{"v2-empty-object", V2, `{}`, "neither"},
		{"http-200", HTTP, ``, "not a redirect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Interpret(tc.proto, 200, http.Header{}, []byte(tc.body))
			if !errors.Is(err, ErrNotAutodiscover) {
				t.Fatalf("err = %v, want ErrNotAutodiscover", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestInterpretStatus(t *testing.T) {
	tests := []struct {
		status int
		loc    string
		body   string
		kind   Kind
		class  result.Class
	}{
		{302, "https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml", "", KindRedirectURL, result.OK},
		{301, "/elsewhere.xml", "", KindRedirectURL, result.OK},
		{401, "", "", KindError, result.AuthFailed},
		{403, "", "<html/>", KindError, result.AuthFailed},
		{404, "", "<html>not here</html>", KindError, result.NotEWS},
		{503, "", "busy", KindError, result.Transient},
		{429, "", "", KindError, result.Throttled},
		{500, "", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>a:ActionNotSupported</faultcode><faultstring>nope</faultstring></s:Fault></s:Body></s:Envelope>`, KindError, result.Other},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.loc != "" {
			h.Set("Location", tc.loc)
		}
		a, err := Interpret(SOAP, tc.status, h, []byte(tc.body))
		if err != nil {
			t.Errorf("%d: %v", tc.status, err)
			continue
		}
		if a.Kind != tc.kind || a.Class != tc.class || (tc.loc != "" && a.Target != tc.loc) {
			t.Errorf("%d: got %+v", tc.status, a)
		}
	}
	if _, err := Interpret(POX, 302, http.Header{}, nil); err == nil {
		t.Error("302 without Location accepted")
	}
}

func TestParseV2(t *testing.T) {
	r, err := ParseV2JSON([]byte("\xef\xbb\xbf{\"Protocol\":\"EWS\",\"Url\":\"https://outlook.office365.com/EWS/Exchange.asmx\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Answer(); a.Kind != KindSettings || a.EWSURL != "https://outlook.office365.com/EWS/Exchange.asmx" {
		t.Errorf("got %+v", a)
	}
	r, err = ParseV2JSON([]byte(`{"ErrorCode":"MailboxNotFound","ErrorMessage":"no such mailbox"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Answer(); a.Kind != KindError || a.Class != result.MailboxNotFound {
		t.Errorf("got %+v", a)
	}
}

// FuzzParse: no input panics any parser, and whatever parses yields a usable answer.
func FuzzParse(f *testing.F) {
	for _, s := range loadSamples(f) {
		if raw, err := os.ReadFile(filepath.Join(samplesDir, s.File)); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"Protocol":"EWS","Url":"https://x/EWS/Exchange.asmx"}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := ParsePOX(body); err == nil {
			checkAnswer(t, r.Answer())
		} else if !errors.Is(err, ErrNotAutodiscover) {
			t.Fatalf("POX error not classified: %v", err)
		}
		if r, err := ParseSOAP(body); err == nil {
			checkAnswer(t, r.Answer())
		} else if !errors.Is(err, ErrNotAutodiscover) {
			t.Fatalf("SOAP error not classified: %v", err)
		}
		if r, err := ParseV2JSON(body); err == nil {
			checkAnswer(t, r.Answer())
		} else if !errors.Is(err, ErrNotAutodiscover) {
			t.Fatalf("v2 error not classified: %v", err)
		}
	})
}

func checkAnswer(t *testing.T, a Answer) {
	switch a.Kind {
	case KindSettings, KindRedirectAddr, KindRedirectURL, KindError:
	default:
		t.Fatalf("answer without kind: %+v", a)
	}
	if a.Class == "" {
		t.Fatalf("answer without class: %+v", a)
	}
}
