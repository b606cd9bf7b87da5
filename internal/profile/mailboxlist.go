package profile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// MaxMailboxListSize bounds what ParseMailboxList reads: a 100,000-mailbox
// Get-Mailbox export is ~60 MB in UTF-16, so this is generous but stops a wrong file
// (a disk image, a log) from exhausting memory.
const MaxMailboxListSize = 128 << 20

// Import is the outcome of reading a mailbox list.
type Import struct {
	Addresses  []string    // valid, de-duplicated (case-insensitively), in file order
	Rejected   []Rejection // lines that held no usable address, with why
	Duplicates int         // addresses dropped because an earlier line had them
	Column     string      // header column used, as spelled in the file; "" for a bare list
	Encoding   string      // "UTF-8", "UTF-8 with BOM", "UTF-16LE", "UTF-16BE" or "Windows-1252"
	Delimiter  rune        // CSV delimiter used; 0 for a bare list
}

// Rejection is one line of the input that was not imported.
type Rejection struct {
	Line   int    // 1-based line number in the file (the record's first line)
	Text   string // the line as it appears in the file, shortened
	Reason string
}

// addressColumns are the header names that hold an address, best first (normalised: lower
// case, no spaces, hyphens or underscores). PrimarySmtpAddress is what EWS impersonation
// wants; UPN is last because it often differs from the SMTP address.
var addressColumns = []string{
	"primarysmtpaddress", "windowsemailaddress", "emailaddress", "email", "mail",
	"smtpaddress", "emailadresse", "emailadres", "adressedemessagerie", // Outlook/Excel in de, nl, fr
	"userprincipalname", "upn",
}

// ParseMailboxList reads a list of mailboxes as admins export them: Get-Mailbox |
// Export-Csv (with or without the #TYPE line), Excel CSV (BOM, `;` in many locales),
// PowerShell's UTF-16 `Out-File`, tab-separated, or a bare list one address per line
// (blank lines and # comments ignored). It never fails on a bad line — those are in
// Rejected — only when the input as a whole is unusable.
func ParseMailboxList(r io.Reader) (*Import, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxMailboxListSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading mailbox list: %w", err)
	}
	if len(raw) > MaxMailboxListSize {
		return nil, fmt.Errorf("mailbox list is larger than %d MB; is this the right file?", MaxMailboxListSize>>20)
	}
	if bytes.HasPrefix(raw, []byte("PK\x03\x04")) {
		return nil, errors.New("this is an Excel workbook or other ZIP file, not CSV: in Excel use Save As → \"CSV UTF-8\"")
	}
	text, enc, err := decodeText(raw)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(text, 0) {
		return nil, errors.New("the file contains binary data (NUL bytes), not a text list of mailboxes")
	}
	imp := &Import{Encoding: enc}
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}

	// The first meaningful line decides: a header naming an address column means CSV.
	first := -1
	var forced rune
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if d, ok := sepHint(t); ok && forced == 0 {
			forced = d
			continue
		}
		first = i
		break
	}
	if first < 0 {
		return imp, nil
	}
	delim, col, header := sniffHeader(lines[first], forced)
	if col < 0 {
		if len(header) > 1 && !strings.Contains(lines[first], "@") {
			return nil, fmt.Errorf("line %d looks like a CSV header but has no address column: expected one named PrimarySmtpAddress, EmailAddress, WindowsEmailAddress, Mail or UserPrincipalName; found %s",
				first+1, quoteList(header, 8))
		}
		parseBare(imp, lines)
		imp.finish()
		return imp, nil
	}
	imp.Column = strings.TrimSpace(header[col])
	imp.Delimiter = delim
	parseCSV(imp, lines, first, delim, col)
	imp.finish()
	return imp, nil
}

// decodeText turns the bytes into a string, honouring the BOMs Windows tools write.
func decodeText(raw []byte) (string, string, error) {
	switch {
	case bytes.HasPrefix(raw, []byte{0xEF, 0xBB, 0xBF}):
		return string(raw[3:]), "UTF-8 with BOM", nil
	case bytes.HasPrefix(raw, []byte{0xFF, 0xFE}):
		return decodeUTF16(raw, unicode.LittleEndian, "UTF-16LE")
	case bytes.HasPrefix(raw, []byte{0xFE, 0xFF}):
		return decodeUTF16(raw, unicode.BigEndian, "UTF-16BE")
	}
	// UTF-16 without a BOM: every other byte of ASCII text is NUL.
	if len(raw) >= 4 && raw[0] != 0 && raw[1] == 0 && raw[2] != 0 && raw[3] == 0 {
		return decodeUTF16(raw, unicode.LittleEndian, "UTF-16LE")
	}
	if len(raw) >= 4 && raw[0] == 0 && raw[1] != 0 && raw[2] == 0 && raw[3] != 0 {
		return decodeUTF16(raw, unicode.BigEndian, "UTF-16BE")
	}
	if utf8.Valid(raw) {
		return string(raw), "UTF-8", nil
	}
	// Excel's plain "CSV" on a Western Windows is Windows-1252; addresses are ASCII
	// either way, this keeps the names in rejected lines readable.
	s, err := charmap.Windows1252.NewDecoder().String(string(raw))
	if err != nil {
		return "", "", fmt.Errorf("the file is neither UTF-8, UTF-16 nor Windows-1252 text: %w", err)
	}
	return s, "Windows-1252", nil
}

func decodeUTF16(raw []byte, e unicode.Endianness, name string) (string, string, error) {
	if len(raw)%2 == 1 {
		raw = raw[:len(raw)-1] // a truncated final code unit; the rest is still readable
	}
	s, err := unicode.UTF16(e, unicode.UseBOM).NewDecoder().String(string(raw))
	if err != nil {
		return "", "", fmt.Errorf("decoding %s: %w", name, err)
	}
	return s, name, nil
}

// sepHint recognises Excel's "sep=;" first line.
func sepHint(line string) (rune, bool) {
	if len(line) == 5 && strings.EqualFold(line[:4], "sep=") {
		switch d := rune(line[4]); d {
		case ',', ';', '\t', '|':
			return d, true
		}
	}
	return 0, false
}

// sniffHeader picks the delimiter that splits line into a header with an address column
// (col >= 0), else the delimiter that splits it into the most fields (col = -1).
func sniffHeader(line string, forced rune) (delim rune, col int, header []string) {
	cands := []rune{',', ';', '\t', '|'}
	if forced != 0 {
		cands = []rune{forced}
	}
	col = -1
	best := -1
	for _, d := range cands {
		cr := csv.NewReader(strings.NewReader(line))
		cr.Comma = d
		cr.LazyQuotes = true
		cr.FieldsPerRecord = -1
		fields, err := cr.Read()
		if err != nil || len(fields) == 0 {
			continue
		}
		if c := addressColumn(fields); c >= 0 {
			if col < 0 || len(fields) > len(header) {
				delim, col, header = d, c, fields
			}
			continue
		}
		if col < 0 && len(fields) > best {
			best, delim, header = len(fields), d, fields
		}
	}
	return delim, col, header
}

// addressColumn returns the index of the best address column in a header, or -1.
func addressColumn(fields []string) int {
	best, at := len(addressColumns), -1
	for i, f := range fields {
		n := normaliseHeader(f)
		for rank, want := range addressColumns {
			if n == want && rank < best {
				best, at = rank, i
			}
		}
	}
	return at
}

func normaliseHeader(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch r {
		case ' ', '-', '_', '"', '\'':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func parseCSV(imp *Import, lines []string, header int, delim rune, col int) {
	body := strings.Join(lines[header+1:], "\n")
	cr := csv.NewReader(strings.NewReader(body))
	cr.Comma = delim
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	offset := header + 1 // lines before the first body line
	lastErrLine := -1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			line := offset + 1
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = offset + pe.StartLine
			}
			if line == lastErrLine {
				return // no progress; the rest is unreadable
			}
			lastErrLine = line
			imp.reject(lines, line, "malformed CSV: "+errText(err))
			continue
		}
		line, _ := cr.FieldPos(0)
		line += offset
		if len(rec) <= col {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			imp.reject(lines, line, fmt.Sprintf("has %d field(s); the %s column (field %d) is missing", len(rec), imp.Column, col+1))
			continue
		}
		v := rec[col]
		if strings.ContainsAny(strings.TrimSpace(v), "\r\n") {
			imp.reject(lines, line, "the "+imp.Column+" field runs over several lines; is a closing quote missing?")
			continue
		}
		if strings.TrimSpace(v) == "" {
			imp.reject(lines, line, "the "+imp.Column+" column is empty")
			continue
		}
		imp.add(lines, line, v)
	}
}

func parseBare(imp *Import, lines []string) {
	for i, l := range lines {
		t := strings.TrimSpace(strings.TrimPrefix(l, "\uFEFF"))
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if _, ok := sepHint(t); ok {
			continue
		}
		parts := strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ';' || r == '\t' })
		var vals []string
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" && p != `""` {
				vals = append(vals, p)
			}
		}
		if len(vals) > 1 {
			all := true
			for _, v := range vals {
				all = all && strings.Contains(v, "@")
			}
			if !all {
				imp.reject(lines, i+1, "several fields on one line, but no header row naming the address column")
				continue
			}
		}
		if len(vals) == 0 {
			continue // a line of bare delimiters, e.g. an empty Excel row
		}
		for _, v := range vals {
			imp.add(lines, i+1, v)
		}
	}
}

// add cleans one value, validates it and records it or its rejection.
func (imp *Import) add(lines []string, line int, v string) {
	a := cleanAddress(v)
	if err := ValidateAddress(a); err != nil {
		var ae *AddressError
		reason := err.Error()
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		imp.reject(lines, line, reason)
		return
	}
	imp.Addresses = append(imp.Addresses, a)
}

// cleanAddress strips what exports and mail clients wrap addresses in: quotes, "SMTP:"
// proxy-address prefixes, "Name <addr>" and mailto:.
func cleanAddress(v string) string {
	v = strings.TrimSpace(strings.TrimPrefix(v, "\uFEFF"))
	v = strings.Trim(v, `"'`)
	if i := strings.LastIndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") {
		v = v[i+1 : len(v)-1]
	}
	for _, p := range []string{"smtp:", "mailto:"} {
		if len(v) >= len(p) && strings.EqualFold(v[:len(p)], p) {
			v = v[len(p):]
		}
	}
	return strings.TrimSpace(v)
}

func (imp *Import) reject(lines []string, line int, reason string) {
	text := ""
	if line >= 1 && line <= len(lines) {
		text = lines[line-1]
	}
	imp.Rejected = append(imp.Rejected, Rejection{Line: line, Text: printable(clip(text, 120)), Reason: reason})
}

// finish merges duplicates case-insensitively, keeping the first spelling.
func (imp *Import) finish() {
	seen := make(map[string]bool, len(imp.Addresses))
	out := imp.Addresses[:0]
	for _, a := range imp.Addresses {
		k := strings.ToLower(a)
		if seen[k] {
			imp.Duplicates++
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	imp.Addresses = out
}

// printable replaces control characters so a rejected line cannot garble a terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '�'
		}
		return r
	}, s)
}

func errText(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func quoteList(s []string, max int) string {
	var b strings.Builder
	for i, v := range s {
		if i == max {
			fmt.Fprintf(&b, ", … (%d columns)", len(s))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", clip(strings.TrimSpace(v), 40))
	}
	return b.String()
}
