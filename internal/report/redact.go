package report

import (
	"regexp"
	"strings"
)

// Secrets a trace must never carry. The transport's recorder already redacts; this second
// pass guards reports made from results written by other (older, foreign, hand-edited) tools.
var (
	// Header lines whose whole value is a credential or session.
	secretHeader = regexp.MustCompile(`(?im)^(\s*(?:authorization|proxy-authorization|cookie|set-cookie|x-backendcookie|x-ms-client-secret)\s*:\s*)(.+)$`)
	// Auth schemes with a blob after them, wherever they appear (WWW-Authenticate challenges
	// carry NTLM type-2 messages).
	schemeBlob = regexp.MustCompile(`(?i)\b(Basic|Bearer|NTLM|Negotiate)\s+([A-Za-z0-9+/=._~-]{12,})`)
	// JSON Web Tokens anywhere.
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*`)
	// Password-ish XML elements and form/query fields.
	xmlSecret  = regexp.MustCompile(`(?is)(<([\w:]*(?:password|secret|token))[^>]*>)(.*?)(</[\w:]*(?:password|secret|token)>)`)
	formSecret = regexp.MustCompile(`(?i)\b((?:password|passwd|pwd|client_secret|access_token|refresh_token|id_token|assertion|client_assertion|code)=)([^&\s"'<]+)`)
)

const redacted = "[redacted]"

// Redact removes credentials from a trace text: Authorization and cookie headers, auth
// blobs (Basic, Bearer, NTLM, Negotiate), JWTs, password/secret/token elements and form
// fields. It keeps everything else, so the trace still explains the failure.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = secretHeader.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretHeader.FindStringSubmatch(m)
		val := strings.TrimSpace(sub[2])
		if val == redacted {
			return m
		}
		// Keep the scheme name: "Authorization: NTLM [redacted]" still tells which was used.
		if i := strings.IndexByte(val, ' '); i > 0 && i < 20 && !strings.Contains(val[:i], "=") {
			return sub[1] + val[:i] + " " + redacted
		}
		return sub[1] + redacted
	})
	s = schemeBlob.ReplaceAllString(s, "$1 "+redacted)
	s = jwt.ReplaceAllString(s, redacted)
	s = xmlSecret.ReplaceAllString(s, "${1}"+redacted+"${4}")
	s = formSecret.ReplaceAllString(s, "${1}"+redacted)
	return s
}
