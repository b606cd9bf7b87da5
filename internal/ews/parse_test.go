package ews

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"deputy/internal/result"
)

func TestClassifyCode(t *testing.T) {
	tests := []struct {
		code string
		want result.Class
	}{
		{"NoError", result.OK},
		{"ErrorImpersonateUserDenied", result.ImpersonationDenied},
		{"ErrorImpersonationDenied", result.NoImpersonationRight},
		{"ErrorNonExistentMailbox", result.MailboxNotFound},
		{"ErrorMailRecipientNotFound", result.MailboxNotFound},
		{"ErrorAccessDenied", result.AccessDenied},
		{"ErrorSendAsDenied", result.AccessDenied},
		{"ErrorMissingEmailAddress", result.NoMailbox},
		{"ErrorMailboxConfiguration", result.NoMailbox},
		{"ErrorServerBusy", result.Throttled},
		{"ErrorExceededConnectionCount", result.Throttled},
		{"ErrorTooManyObjectsOpened", result.Throttled},
		{"ErrorInsufficientResources", result.Throttled},
		{"ErrorMailboxMoveInProgress", result.Transient},
		{"ErrorMailboxStoreUnavailable", result.Transient},
		{"ErrorInternalServerTransientError", result.Transient},
		{"ErrorTimeoutExpired", result.Transient},
		{"ErrorConnectionFailed", result.Transient},
		{"ErrorMailboxLogonFailed", result.Transient},
		{"ErrorImpersonationFailed", result.AuthFailed},
		{"HTTP 401", result.AuthFailed},
		{"HTTP 503", result.Transient},
		{"HTTP 403", result.AccessDenied},
		{"ErrorInvalidServerVersion", result.VersionError},
		{"ErrorIncorrectSchemaVersion", result.VersionError},
		{"ErrorInvalidSchemaVersionForMailboxVersion", result.VersionError},
		{"ErrorSchemaValidation", result.SchemaError},
		{"ErrorSendMeetingInvitationsRequired", result.SchemaError},
		{"ErrorInvalidExchangeImpersonationHeaderData", result.HeaderInvalid},
		{"ErrorInvalidSmtpAddress", result.HeaderInvalid},
		{"ErrorInvalidUserPrincipalName", result.HeaderInvalid},
		{"ErrorInvalidSid", result.HeaderInvalid},
		{" ErrorServerBusy\n", result.Throttled},
		{"ErrorItemNotFound", result.Other},
		{"ErrorInvalidRequest", result.Other},
		{"ErrorInternalServerError", result.Other},
		{"", result.Other},
		{"errorserverbusy", result.Other}, // codes are case-sensitive enumerations
	}
	for _, tt := range tests {
		if got := ClassifyCode(tt.code); got != tt.want {
			t.Errorf("ClassifyCode(%q) = %s, want %s", tt.code, got, tt.want)
		}
	}
	// Every class of the vocabulary that a code can express is reachable.
	reached := map[result.Class]bool{result.NotEWS: true} // not-ews comes from bodies, not codes
	for _, c := range codeClass {
		reached[c] = true
	}
	reached[result.Other] = true
	for _, c := range result.Classes {
		if !reached[c] {
			t.Errorf("class %s is not produced by any code", c)
		}
	}
}

func TestClassifyContext(t *testing.T) {
	tests := []struct {
		code, inner, msg string
		perItem          bool
		want             result.Class
	}{
		{"ErrorInvalidRequest", "", "Exchange Server doesn't support the requested version.", false, result.VersionError},
		{"ErrorInvalidRequest", "", "The apiVersionSupported parameter is invalid. It should be in the form of major version, minor version", true, result.Other},
		{"ErrorInternalServerError", "ErrorServerBusy", "", false, result.Throttled},
		{"ErrorInternalServerError", "ErrorQuotaExceeded", "", true, result.Other},
		{"ErrorInternalServerError", "", "Mailbox 'a1b2' doesn't have a valid license.", true, result.NoMailbox},
		{"ErrorInvalidSmtpAddress", "", "", false, result.HeaderInvalid},
		{"ErrorInvalidSmtpAddress", "", "", true, result.Other},
		{"ErrorInvalidExchangeImpersonationHeaderData", "", "", true, result.HeaderInvalid},
	}
	for _, tt := range tests {
		if got := classify(tt.code, tt.inner, tt.msg, tt.perItem); got != tt.want {
			t.Errorf("classify(%q, %q, %q, %v) = %s, want %s", tt.code, tt.inner, tt.msg, tt.perItem, got, tt.want)
		}
	}
}

func TestAuthSchemes(t *testing.T) {
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{"NTLM", "Negotiate"}, "[NTLM Negotiate]"},
		{[]string{"Negotiate, NTLM"}, "[Negotiate NTLM]"},
		{[]string{`Basic realm="mail.contoso.com"`}, "[Basic]"},
		{[]string{`Basic realm="a, b", NTLM`}, "[Basic NTLM]"},
		{[]string{`Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.windows.net/common/oauth2/authorize", error="invalid_token",Basic Realm="",Negotiate,NTLM`}, "[Bearer Basic Negotiate NTLM]"},
		{[]string{"NTLM TlRMTVNTUAACAAAADAAMADgAAAAFgoECVOk3E0s5q1YAAAAAAAAAAOAA4ABEAAAABgGxHQAAAA9HAFMAUwBMAEEAQgACAAwA="}, "[NTLM]"},
		{[]string{`Digest realm = "x", qop="auth"`}, "[Digest]"},
		{[]string{"ntlm", "NTLM"}, "[ntlm]"},
		{[]string{"", " , ", `"unterminated`}, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(authSchemes(tt.values)); got != tt.want {
			t.Errorf("authSchemes(%q) = %s, want %s", tt.values, got, tt.want)
		}
	}
}

func TestParseEdgeCases(t *testing.T) {
	ok := readSample(t, "getfolder-success-phpews.xml")
	tests := []struct {
		name   string
		status int
		ctype  string
		body   []byte
		class  result.Class // "" = success
	}{
		{"success", 200, "", ok, ""},
		{"success with 500 status is still parsed", 500, "", ok, ""},
		{"ISO-8859-1 declaration", 200, "", []byte(`<?xml version="1.0" encoding="iso-8859-1"?><Envelope><Body/></Envelope>`), result.NotEWS},
		{"no Body", 200, "", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>`), result.NotEWS},
		{"entity bomb refused", 200, "", []byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope><Body>&a;</Body></Envelope>`), result.NotEWS},
		{"binary", 200, "application/octet-stream", []byte{0, 1, 2, 0xff, 0xfe}, result.NotEWS},
		{"JSON", 200, "application/json", []byte(`{"error":"x"}`), result.NotEWS},
		{"envelope with error on 403", 403, "", withCode(t, "ErrorAccessDenied", "Access is denied."), result.AccessDenied},
		{"envelope without error on 403", 403, "", ok, result.AccessDenied},
		{"html content-type wins over XML-looking body", 200, "text/html", ok, result.NotEWS},
		{"deep nesting", 200, "", []byte(`<Envelope><Body>` + strings.Repeat("<a>", 200000)), result.NotEWS},
		{"429", 429, "", nil, result.Throttled},
		{"502", 502, "", nil, result.Transient},
		{"407", 407, "", nil, result.AuthFailed},
		{"418", 418, "", nil, result.Other},
		{"status 0", 0, "", []byte("x"), result.Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ctype != "" {
				h.Set("Content-Type", tt.ctype)
			}
			_, err := Parse(tt.status, h, tt.body)
			var e *Error
			if tt.class == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.As(err, &e) || e.Class != tt.class {
				t.Fatalf("got %v, want class %s", err, tt.class)
			}
		})
	}
}

// TestSnippetSanitised: what a non-XML body contributes to an error is short, one line,
// valid UTF-8.
func TestSnippetSanitised(t *testing.T) {
	body := append([]byte("<html>\r\n<title>Log\x1b[31min</title>\x00"), bytes.Repeat([]byte("é\xff"), 500)...)
	_, err := Parse(200, http.Header{"Content-Type": {"text/html"}}, body)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if len(e.Snippet) > 210 || !utf8.ValidString(e.Snippet) || strings.ContainsAny(e.Snippet, "\r\n\x00\x1b") || e.Snippet == "" {
		t.Errorf("snippet %q", e.Snippet)
	}
	if strings.ContainsAny(err.Error(), "\r\n\x00\x1b") {
		t.Errorf("message %q", err.Error())
	}
}

// FuzzParse: no status/header/body makes Parse panic, and every failure is a classified
// *Error from the vocabulary.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.*"))
	for _, file := range files {
		if strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".md") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(200, "text/xml; charset=utf-8", b)
		f.Add(500, "text/xml", b)
	}
	f.Add(401, "", []byte{})
	f.Add(302, "text/html", []byte("<html>"))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ctype)
		h.Set("WWW-Authenticate", ctype)
		h.Set("Location", ctype)
		h.Set("Retry-After", ctype)
		resp, err := Parse(status, h, body)
		if err == nil {
			if resp == nil {
				t.Fatal("nil response without error")
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not *Error", err)
		}
		valid := false
		for _, c := range result.Classes {
			valid = valid || c == e.Class
		}
		if !valid || e.Class == result.OK || e.Code == "" {
			t.Fatalf("bad classification %+v", e)
		}
		_ = e.Error()
	})
}

// BenchmarkParseGetFolder: the reply Deputy parses once or twice per mailbox.
func BenchmarkParseGetFolder(b *testing.B) {
	body := readSample(b, "getfolder-success-phpews.xml")
	h := http.Header{"Content-Type": {"text/xml; charset=utf-8"}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp, err := Parse(200, h, body)
		if err != nil || len(resp.Messages) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/parse")
}
