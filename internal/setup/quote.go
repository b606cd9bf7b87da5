// Package setup writes the PowerShell an Exchange admin runs to give a service account (or
// an Entra app) impersonation rights, and the remediation text for every failure class.
// Both come from here so the fix a report prints and the script the Setup tab saves can
// never disagree. Every user-supplied value enters PowerShell as a single-quoted literal.
package setup

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// isSingleQuote reports the characters PowerShell's tokenizer treats as a single quote:
// the ASCII apostrophe and the typographic ones (U+2018..U+201B). Word and Outlook turn
// apostrophes into these, and an unescaped one would end the literal early.
func isSingleQuote(r rune) bool {
	switch r {
	case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
		return true
	}
	return false
}

// Quote returns s as a PowerShell single-quoted string literal: every single-quote
// character (ASCII or typographic) is doubled, which is the only escape such a literal
// knows; `$`, backticks and double quotes are inert inside it. Control characters and line
// separators are replaced by U+FFFD so a literal never spans lines. Invalid UTF-8 is
// replaced the same way.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range scrub(s) {
		if isSingleQuote(r) {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// scrub replaces invalid UTF-8, control characters and line separators with U+FFFD: the
// result is always one line of printable text.
func scrub(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' || r == '\ufeff'
}

// InputError says which input was rejected and why; the CLI and the window show it as is.
type InputError struct {
	Field  string // e.g. "account", "app ID"
	Value  string // the offending value, control characters made visible
	Reason string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

func inputErr(field, value, reason string) error {
	if len(value) > 120 {
		value = value[:120] + "…"
	}
	return &InputError{Field: field, Value: value, Reason: reason}
}

// checkText rejects what no Exchange identity contains and what would make a script
// unreadable: empty values, control characters, line breaks, overlong values.
func checkText(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return inputErr(field, "", "is empty")
	}
	if !utf8.ValidString(s) {
		return inputErr(field, s, "is not valid UTF-8")
	}
	for _, r := range s {
		if isControl(r) {
			return inputErr(field, s, "contains a control character or line break")
		}
	}
	if s != strings.TrimSpace(s) {
		return inputErr(field, s, "has leading or trailing spaces")
	}
	if utf8.RuneCountInString(s) > max {
		return inputErr(field, s, fmt.Sprintf("is longer than %d characters", max))
	}
	return nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidateGUID accepts an Entra application (client) ID or object ID: 8-4-4-4-12 hex.
func ValidateGUID(field, s string) error {
	if err := checkText(field, s, 64); err != nil {
		return err
	}
	if !guidRE.MatchString(s) {
		return inputErr(field, s, "is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
	}
	return nil
}

// ValidateAddress accepts an SMTP address (local@domain, no display name).
func ValidateAddress(field, s string) error {
	if err := checkText(field, s, 320); err != nil {
		return err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return inputErr(field, s, "is not an e-mail address (expected name@domain)")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return inputErr(field, s, "is not an e-mail address (expected name@domain)")
	}
	return nil
}

// ValidateAccount accepts a service account as a UPN (svc@contoso.com), DOMAIN\user, or a
// plain alias / sAMAccountName.
func ValidateAccount(field, s string) error {
	if err := checkText(field, s, 256); err != nil {
		return err
	}
	if strings.Contains(s, "@") {
		return ValidateAddress(field, s)
	}
	name := s
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		dom := s[:i]
		name = s[i+1:]
		if dom == "" || strings.ContainsAny(dom, `\/:*?"<>| `) {
			return inputErr(field, s, `has an invalid domain part (expected DOMAIN\user)`)
		}
	}
	if name == "" || strings.ContainsAny(name, `\/[]:;|=,+*?<>"`) {
		return inputErr(field, s, `is not a user name (expected user@domain, DOMAIN\user or an alias)`)
	}
	return nil
}

// ValidateName accepts a group, scope or role-group name or a distinguished name: any
// printable text up to 256 characters. Quoting, not validation, keeps it inert.
func ValidateName(field, s string) error {
	return checkText(field, s, 256)
}

// ValidateFilter accepts an OPATH recipient filter such as "Department -eq 'Sales'". It is
// the admin's own expression: it must be one line and its quotes must balance, which
// catches the usual copy-paste damage.
func ValidateFilter(field, s string) error {
	if err := checkText(field, s, 2048); err != nil {
		return err
	}
	n := 0
	for _, r := range s {
		if isSingleQuote(r) {
			n++
		}
	}
	if n%2 != 0 {
		return inputErr(field, s, "has unbalanced single quotes")
	}
	if strings.Count(s, `"`)%2 != 0 {
		return inputErr(field, s, "has unbalanced double quotes")
	}
	if !strings.Contains(s, "-") {
		return inputErr(field, s, "is not an OPATH filter (expected e.g. Department -eq 'Sales')")
	}
	return nil
}

// safeName turns a value into something usable inside an object name (role assignment,
// scope, throttling policy): letters, digits, '.', '-', '_' only, at most 40 characters.
func safeName(s string) string {
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_') {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "svc"
	}
	return b.String()
}
