package setup

import (
	"fmt"
	"strings"
	"testing"
)

// psScan is a small PowerShell lexer, just enough to tell where a value sits: it returns
// the decoded single-quoted literals and the "code" — everything that is neither inside a
// single-quoted literal nor a comment (double-quoted strings stay in the code: they
// expand $(...) and backticks, so a value there is not inert). It is deliberately
// conservative and fails on constructs the generator must not emit (here-strings).
func psScan(src string) (literals []string, code string, err error) {
	rs := []rune(src)
	var cb strings.Builder
	atTokenStart := func(i int) bool {
		if i == 0 {
			return true
		}
		p := rs[i-1]
		return p == ' ' || p == '\t' || p == '\n' || p == '\r' || p == ';' || p == '(' || p == '{' || p == '|'
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '@' && i+1 < len(rs) && (isSingleQuote(rs[i+1]) || isDoubleQuote(rs[i+1])):
			return nil, "", fmt.Errorf("here-string at rune %d", i)
		case r == '<' && i+1 < len(rs) && rs[i+1] == '#':
			end := strings.Index(string(rs[i:]), "#>")
			if end < 0 {
				return nil, "", fmt.Errorf("unterminated block comment at rune %d", i)
			}
			i += len([]rune(string(rs[i:])[:end])) + 1
			cb.WriteString(" ")
		case r == '#' && atTokenStart(i):
			for i < len(rs) && rs[i] != '\n' && rs[i] != '\r' {
				i++
			}
			cb.WriteString(" ")
			if i < len(rs) {
				cb.WriteRune(rs[i])
			}
		case isSingleQuote(r):
			var lb strings.Builder
			closed := false
			for i++; i < len(rs); i++ {
				if isSingleQuote(rs[i]) {
					if i+1 < len(rs) && isSingleQuote(rs[i+1]) {
						i++
						lb.WriteRune(rs[i])
						continue
					}
					closed = true
					break
				}
				lb.WriteRune(rs[i])
			}
			if !closed {
				return nil, "", fmt.Errorf("unterminated single-quoted literal")
			}
			literals = append(literals, lb.String())
			cb.WriteString(" LIT ")
		case isDoubleQuote(r):
			cb.WriteRune(r)
			closed := false
			for i++; i < len(rs); i++ {
				c := rs[i]
				if c == '`' && i+1 < len(rs) {
					cb.WriteRune(c)
					i++
					cb.WriteRune(rs[i])
					continue
				}
				if isDoubleQuote(c) {
					if i+1 < len(rs) && isDoubleQuote(rs[i+1]) {
						cb.WriteRune(c)
						i++
						cb.WriteRune(rs[i])
						continue
					}
					cb.WriteRune(c)
					closed = true
					break
				}
				cb.WriteRune(c)
			}
			if !closed {
				return nil, "", fmt.Errorf("unterminated double-quoted string")
			}
		case r == '`' && i+1 < len(rs):
			cb.WriteRune(r)
			i++
			cb.WriteRune(rs[i])
		default:
			cb.WriteRune(r)
		}
	}
	return literals, cb.String(), nil
}

func isDoubleQuote(r rune) bool { return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e' }

func TestPSScan(t *testing.T) {
	tests := []struct {
		src      string
		literals []string
		code     string
	}{
		{`Get-Mailbox -Identity 'a''b'`, []string{"a'b"}, `Get-Mailbox -Identity  LIT `},
		{"Get-X 'a’’b‘‘c'", []string{"a’b‘c"}, `Get-X  LIT `},
		{"Get-X ‘x’", []string{"x"}, `Get-X  LIT `},
		{`$dn -replace "'", "''"`, nil, `$dn -replace "'", "''"`},
		{"# it's a comment 'x\nGet-X 'y'", []string{"y"}, " \nGet-X  LIT "},
		{"a#b 'c'", []string{"c"}, "a#b  LIT "},
		{"<# 'q' #>Get-X", nil, " Get-X"},
		{"\"a`\"'b\" 'c'", []string{"c"}, "\"a`\"'b\"  LIT "},
	}
	for _, tt := range tests {
		lits, code, err := psScan(tt.src)
		if err != nil {
			t.Errorf("psScan(%q): %v", tt.src, err)
			continue
		}
		if fmt.Sprint(lits) != fmt.Sprint(tt.literals) || code != tt.code {
			t.Errorf("psScan(%q) = %q, %q; want %q, %q", tt.src, lits, code, tt.literals, tt.code)
		}
	}
	for _, bad := range []string{"'abc", `"abc`, "@'\nx\n'@", "<# x"} {
		if _, _, err := psScan(bad); err == nil {
			t.Errorf("psScan(%q) accepted", bad)
		}
	}
}

// hostile values: each tries to leave a single-quoted literal in a different way. marker
// is the part that must never appear in code.
var hostile = []struct{ value, marker string }{
	{`x'; Remove-Mailbox -Identity * -Confirm:$false #`, "Remove-Mailbox"},
	{`$(Stop-Computer -Force)`, "Stop-Computer"},
	{"a`'; Invoke-Expression evil1 #", "evil1"},
	{"o’Brien’; Invoke-WebRequest evil2 ‘", "evil2"},
	{"‚‛'; Start-Process evil3", "evil3"},
	{"line1\n'; Remove-Item evil4 -Recurse\n#", "evil4"},
	{"x\r\nRemove-Item evil5", "evil5"},
	{"x\u2028Set-Content evil6", "evil6"},
	{`"; Clear-Content evil7; "`, "evil7"},
	{"#> Invoke-Command evil8 <#", "evil8"},
	{"x\x00'; Disable-Mailbox evil9", "evil9"},
}

// assertInert checks that no hostile marker appears in the code of src.
func assertInert(t *testing.T, label, src string) []string {
	t.Helper()
	lits, code, err := psScan(src)
	if err != nil {
		t.Fatalf("%s: does not lex: %v\n%s", label, err, src)
	}
	for _, h := range hostile {
		if strings.Contains(code, h.marker) {
			t.Errorf("%s: %q escaped its literal; code:\n%s", label, h.marker, code)
		}
	}
	return lits
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, h := range hostile {
		q := Quote(h.value)
		lits := assertInert(t, "Quote", "Get-X "+q)
		if len(lits) != 1 {
			t.Fatalf("Quote(%q) = %s: %d literals", h.value, q, len(lits))
		}
		if want := scrub(h.value); lits[0] != want {
			t.Errorf("Quote(%q) decodes to %q, want %q", h.value, lits[0], want)
		}
		if strings.ContainsAny(q, "\r\n\x00\u2028") {
			t.Errorf("Quote(%q) = %q spans lines", h.value, q)
		}
	}
}
