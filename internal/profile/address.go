package profile

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddressError says why a string is not a usable SMTP address. Reason reads as a sentence
// fragment the window and CLI show after the address ("missing @", "domain has no dot").
type AddressError struct {
	Address string
	Reason  string
}

func (e *AddressError) Error() string {
	if e.Address == "" {
		return e.Reason
	}
	return fmt.Sprintf("%q is not an SMTP address: %s", clip(e.Address, 80), e.Reason)
}

// ValidateAddress checks that s is a practical SMTP address: a dot-atom local part
// (no quoted local parts, which Exchange does not hand out), an ASCII domain of at least
// two labels (IDN domains must be given in their xn-- form). It returns an *AddressError.
func ValidateAddress(s string) error {
	bad := func(reason string, args ...any) error {
		return &AddressError{Address: s, Reason: fmt.Sprintf(reason, args...)}
	}
	switch {
	case s == "":
		return &AddressError{Reason: "empty address"}
	case !utf8.ValidString(s):
		return bad("contains bytes that are not valid UTF-8")
	case len(s) > 254:
		return bad("longer than 254 characters")
	}
	for _, r := range s {
		switch {
		case r == ' ' || r == '\u00a0':
			return bad("contains a space")
		case unicode.IsSpace(r):
			return bad("contains white space")
		case unicode.IsControl(r):
			return bad("contains a control character")
		}
	}
	at := strings.LastIndexByte(s, '@')
	switch {
	case at < 0:
		return bad("missing @")
	case strings.Count(s, "@") > 1:
		return bad("more than one @")
	case at == 0:
		return bad("nothing before @")
	case at == len(s)-1:
		return bad("nothing after @")
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return bad("part before @ is longer than 64 characters")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return bad("part before @ starts or ends with a dot")
	}
	if strings.Contains(local, "..") {
		return bad("part before @ has two dots in a row")
	}
	for _, r := range local {
		if !isAtext(r) && r != '.' {
			return bad("%s is not allowed before @", describeRune(r))
		}
	}
	if strings.HasPrefix(domain, "[") {
		return bad("IP address literals are not supported; use the mail domain")
	}
	if strings.HasSuffix(domain, ".") {
		return bad("domain ends with a dot")
	}
	if strings.HasPrefix(domain, ".") {
		return bad("domain starts with a dot")
	}
	if !strings.Contains(domain, ".") {
		return bad("domain has no dot")
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return bad("domain has two dots in a row")
		case len(l) > 63:
			return bad("domain label %q is longer than 63 characters", clip(l, 20))
		case l[0] == '-' || l[len(l)-1] == '-':
			return bad("domain label %q starts or ends with a hyphen", l)
		}
		for _, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			case r > unicode.MaxASCII:
				return bad("domain contains %s; give an international domain in its xn-- form", describeRune(r))
			default:
				return bad("%s is not allowed in the domain", describeRune(r))
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return bad("domain ends in a number; IP addresses are not mail domains")
	}
	return nil
}

// isAtext reports RFC 5322 atext, minus non-ASCII (Exchange accepts only ASCII in
// PrimarySmtpAddress unless SMTPUTF8 is configured, which EWS impersonation rejects).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

func describeRune(r rune) string {
	switch r {
	case ',':
		return "a comma"
	case ';':
		return "a semicolon"
	case '"':
		return "a double quote"
	case '<', '>':
		return fmt.Sprintf("%q (angle brackets)", r)
	case '(', ')':
		return fmt.Sprintf("%q (parentheses)", r)
	case ':':
		return "a colon"
	case '\\':
		return "a backslash"
	}
	if r > unicode.MaxASCII {
		return fmt.Sprintf("the non-ASCII character %q", r)
	}
	return fmt.Sprintf("%q", r)
}

// clip shortens s to at most n runes for messages, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
