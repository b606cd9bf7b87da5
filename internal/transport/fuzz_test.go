package transport

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRedact: whatever surrounds a registered secret, the redacted text does not contain
// it (unless the secret is part of the redaction markers themselves).
func FuzzRedact(f *testing.F) {
	f.Add("before ", "Zq7!hunter2", " after")
	f.Add(`{"password":"`, "p@ss:w0rd\"", `"}`)
	f.Add("Authorization: Basic ", "dXNlcjpwYXNz", "\n")
	f.Add("xx", "aaaa", "aaaa")
	f.Fuzz(func(t *testing.T, pre, secret, post string) {
		if len(secret) < minSecret || !utf8.ValidString(secret) {
			return
		}
		for _, m := range []string{"[redacted]", "[redacted-jwt]"} {
			if strings.Contains(m, secret) {
				return
			}
		}
		rec := NewRecorder(1)
		rec.Secret(secret)
		out := rec.Redact(pre + secret + post)
		if strings.Contains(out, secret) {
			t.Fatalf("Redact(%q) = %q still holds %q", pre+secret+post, out, secret)
		}
	})
}

func FuzzParsePin(f *testing.F) {
	f.Add("AB:CD")
	f.Add(strings.Repeat("0f", 32))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePin(s)
		if err == nil && (len(p) != 64 || strings.Trim(p, "0123456789abcdef") != "") {
			t.Fatalf("ParsePin(%q) = %q", s, p)
		}
	})
}
