package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

type wantRejection struct {
	line   int
	reason string // substring of Reason
}

func TestParseMailboxListFixtures(t *testing.T) {
	getMailbox := []string{"alice@contoso.com", "Bob.Jones@contoso.com", "room401@contoso.com",
		"DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}@contoso.com", "carol@contoso.com"}
	nordic := []string{"asa.lindqvist@tailspin.se", "bjorn.ek@tailspin.se", "KALLE@tailspin.se"}
	tests := []struct {
		file      string
		addresses []string
		column    string
		delim     rune
		encoding  string
		dups      int
		rejected  []wantRejection
	}{
		{file: "get-mailbox-type.csv", addresses: getMailbox, column: "PrimarySmtpAddress", delim: ',', encoding: "UTF-8", dups: 1,
			rejected: []wantRejection{{9, "missing @"}, {10, "column is empty"}}},
		{file: "get-mailbox-notype.csv", addresses: getMailbox, column: "PrimarySmtpAddress", delim: ',', encoding: "UTF-8", dups: 1,
			rejected: []wantRejection{{8, "missing @"}, {9, "column is empty"}}},
		{file: "excel-utf8-bom-semicolon.csv", addresses: []string{"joerg.mueller@fabrikam.de", "anna.gross@fabrikam.de", "ole@fabrikam.de"},
			column: "EmailAddress", delim: ';', encoding: "UTF-8 with BOM",
			rejected: []wantRejection{{4, "contains a space"}, {5, "column is empty"}}},
		{file: "export-csv-utf16le.csv", addresses: nordic, column: "PrimarySmtpAddress", delim: ',', encoding: "UTF-16LE", dups: 1,
			rejected: []wantRejection{{5, "domain has no dot"}}},
		{file: "export-csv-utf16be.csv", addresses: nordic, column: "PrimarySmtpAddress", delim: ',', encoding: "UTF-16BE", dups: 1,
			rejected: []wantRejection{{5, "domain has no dot"}}},
		{file: "get-aduser-tab.csv", addresses: []string{"dan.park@example.com", "eve.ng@example.com"}, column: "mail", delim: '\t', encoding: "UTF-8",
			rejected: []wantRejection{{4, "column is empty"}}},
		{file: "quoted-multiline.csv", addresses: []string{"frank@northwind.com", "grace@northwind.com", "ivan@northwind.com"},
			column: "WindowsEmailAddress", delim: ',', encoding: "UTF-8",
			rejected: []wantRejection{{7, "domain has no dot"}}},
		{file: "bare-list.txt", addresses: []string{"judy@wingtip.com", "ken@wingtip.com", "laura@wingtip.com", "mallory@wingtip.com", "niaj@wingtip.com"},
			encoding: "UTF-8", dups: 1,
			rejected: []wantRejection{{8, "two dots in a row"}, {9, "nothing after @"}, {10, "contains a space"}}},
		{file: "upn-only.csv", addresses: []string{"rupert@contoso.onmicrosoft.com", "sybil@contoso.com"}, column: "UserPrincipalName", delim: ',', encoding: "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			imp, err := ParseMailboxList(f)
			if err != nil {
				t.Fatalf("ParseMailboxList: %v", err)
			}
			if !reflect.DeepEqual(imp.Addresses, tc.addresses) {
				t.Errorf("addresses\n got %q\nwant %q", imp.Addresses, tc.addresses)
			}
			if imp.Column != tc.column || imp.Delimiter != tc.delim || imp.Encoding != tc.encoding {
				t.Errorf("column/delimiter/encoding = %q/%q/%q, want %q/%q/%q", imp.Column, imp.Delimiter, imp.Encoding, tc.column, tc.delim, tc.encoding)
			}
			if imp.Duplicates != tc.dups {
				t.Errorf("duplicates = %d, want %d", imp.Duplicates, tc.dups)
			}
			if len(imp.Rejected) != len(tc.rejected) {
				t.Fatalf("rejected = %+v, want %d", imp.Rejected, len(tc.rejected))
			}
			for i, w := range tc.rejected {
				got := imp.Rejected[i]
				if got.Line != w.line || !strings.Contains(got.Reason, w.reason) || got.Text == "" {
					t.Errorf("rejection %d = %+v, want line %d reason ~%q", i, got, w.line, w.reason)
				}
			}
		})
	}
}

// The rejected line's text is the line as the admin sees it in an editor, so the
// reported line number must point at it.
func TestParseMailboxListRejectionTextMatchesLine(t *testing.T) {
	for _, name := range []string{"get-mailbox-type.csv", "export-csv-utf16le.csv", "quoted-multiline.csv", "bare-list.txt"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := ParseMailboxList(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		text, _, _ := decodeText(raw)
		lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		for _, r := range imp.Rejected {
			if r.Line < 1 || r.Line > len(lines) || printable(clip(lines[r.Line-1], 120)) != r.Text {
				t.Errorf("%s: rejection %+v does not match line %d of the file", name, r, r.Line)
			}
		}
	}
}

func TestParseMailboxListInline(t *testing.T) {
	utf16le := func(s string) []byte {
		b := []byte{}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	tests := []struct {
		name      string
		in        []byte
		addresses []string
		column    string
		rejected  int
		errHas    string
	}{
		{name: "empty", in: nil},
		{name: "only comments", in: []byte("# nothing\n\n#TYPE x\n")},
		{name: "prefer PrimarySmtpAddress over earlier UPN", in: []byte("UserPrincipalName,PrimarySmtpAddress\nu@corp.local,p@corp.com\n"),
			addresses: []string{"p@corp.com"}, column: "PrimarySmtpAddress"},
		{name: "case-insensitive header", in: []byte("PRIMARYSMTPADDRESS\nA@B.CO\n"), addresses: []string{"A@B.CO"}, column: "PRIMARYSMTPADDRESS"},
		{name: "German Outlook export", in: []byte("Vorname;Nachname;E-Mail-Adresse\nJörg;Müller;joerg@fabrikam.de\n"), addresses: []string{"joerg@fabrikam.de"}, column: "E-Mail-Adresse"},
		{name: "excel sep hint", in: []byte("sep=;\nName;Mail\nx;x@y.com\n"), addresses: []string{"x@y.com"}, column: "Mail"},
		{name: "short row", in: []byte("Name,Mail\nonly-a-name\nz,z@y.com\n"), addresses: []string{"z@y.com"}, column: "Mail", rejected: 1},
		{name: "UTF-16LE without BOM", in: utf16le("a@b.com\r\nc@d.com\r\n"), addresses: []string{"a@b.com", "c@d.com"}},
		{name: "windows-1252 names", in: []byte("Name;Mail\nJ\xf6rg;joerg@x.de\n"), addresses: []string{"joerg@x.de"}, column: "Mail"},
		{name: "mailto and angle", in: []byte("mailto:a@b.com\n\"Ann\" <ann@b.com>\n"), addresses: []string{"a@b.com", "ann@b.com"}},
		{name: "unknown header", in: []byte("Name,Department\nAlice,IT\n"), errHas: "no address column"},
		{name: "xlsx", in: []byte("PK\x03\x04\x14\x00\x06\x00"), errHas: "Excel workbook"},
		{name: "binary", in: []byte("a@b.com\n\x00\x01\x02\x03zz"), errHas: "binary"},
		{name: "unterminated quote", in: []byte("Mail\n\"a@b.com\nc@d.com\n"), rejected: 1, column: "Mail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			imp, err := ParseMailboxList(bytes.NewReader(tc.in))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(imp.Addresses) != len(tc.addresses) || (len(tc.addresses) > 0 && !reflect.DeepEqual(imp.Addresses, tc.addresses)) {
				t.Errorf("addresses = %q, want %q", imp.Addresses, tc.addresses)
			}
			if imp.Column != tc.column {
				t.Errorf("column = %q, want %q", imp.Column, tc.column)
			}
			if len(imp.Rejected) != tc.rejected {
				t.Errorf("rejected = %+v, want %d", imp.Rejected, tc.rejected)
			}
		})
	}
}

func TestParseMailboxListErrorNamesColumns(t *testing.T) {
	f, err := os.Open("testdata/no-address-column.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ParseMailboxList(f)
	if err == nil || !strings.Contains(err.Error(), `"Department"`) || !strings.Contains(err.Error(), "PrimarySmtpAddress") {
		t.Fatalf("err = %v; want it to list the columns found and the ones expected", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseMailboxListReadError(t *testing.T) {
	if _, err := ParseMailboxList(failingReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateAddress(t *testing.T) {
	tests := []struct {
		in, reason string // reason "" = valid
	}{
		{"alice@contoso.com", ""},
		{"first.last+tag@sub.example.co.uk", ""},
		{"o'brien@example.ie", ""},
		{"DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}@contoso.com", ""},
		{"x@xn--bcher-kva.example", ""},
		{"", "empty address"},
		{"alice.contoso.com", "missing @"},
		{"a@b@c.com", "more than one @"},
		{"@contoso.com", "nothing before @"},
		{"alice@", "nothing after @"},
		{"alice@contoso", "domain has no dot"},
		{"alice smith@contoso.com", "contains a space"},
		{"alice@contoso.com\t", "white space"},
		{"alice\x01@contoso.com", "control character"},
		{".alice@contoso.com", "starts or ends with a dot"},
		{"al..ice@contoso.com", "two dots in a row"},
		{"alice@contoso..com", "two dots in a row"},
		{"alice@contoso.com.", "ends with a dot"},
		{"alice@.contoso.com", "starts with a dot"},
		{"alice,bob@contoso.com", "a comma"},
		{"\"alice\"@contoso.com", "a double quote"},
		{"jörg@contoso.com", "non-ASCII"},
		{"alice@bücher.de", "xn-- form"},
		{"alice@-contoso.com", "hyphen"},
		{"alice@con_toso.com", "not allowed in the domain"},
		{"alice@[10.0.0.1]", "IP address literals"},
		{"alice@10.0.0.1", "ends in a number"},
		{strings.Repeat("a", 65) + "@contoso.com", "longer than 64"},
		{"a@" + strings.Repeat("b", 64) + ".com", "longer than 63"},
		{strings.Repeat("a", 60) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 4) + "com", "longer than 254"},
		{"a@b.com\xff", "not valid UTF-8"},
	}
	for _, tc := range tests {
		err := ValidateAddress(tc.in)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("ValidateAddress(%q) = %v, want nil", tc.in, err)
			}
			continue
		}
		var ae *AddressError
		if !errors.As(err, &ae) || !strings.Contains(ae.Reason, tc.reason) {
			t.Errorf("ValidateAddress(%q) = %v, want reason ~%q", tc.in, err, tc.reason)
		}
	}
}

func FuzzParseMailboxList(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\"a@b.com\n\"\"\n,,,;;\t"))
	f.Add([]byte{0xFF, 0xFE, 'a', 0, '@', 0, 'b', 0, '.', 0, 'c', 0, 'o', 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		imp, err := ParseMailboxList(bytes.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range imp.Addresses {
			if err := ValidateAddress(a); err != nil {
				t.Fatalf("imported an invalid address %q: %v", a, err)
			}
			k := strings.ToLower(a)
			if seen[k] {
				t.Fatalf("duplicate %q survived", a)
			}
			seen[k] = true
		}
		lines := bytes.Count(in, []byte("\n")) + 1
		for _, r := range imp.Rejected {
			if r.Line < 1 || r.Line > lines || r.Reason == "" {
				t.Fatalf("bad rejection %+v (input has %d lines)", r, lines)
			}
		}
	})
}

// BenchmarkParseMailboxList reads a 100,000-mailbox Get-Mailbox export in UTF-16LE (what
// Export-Csv -Encoding Unicode writes) and reports rows per second.
func BenchmarkParseMailboxList(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\"Name\",\"Alias\",\"PrimarySmtpAddress\",\"Database\"\r\n")
	const rows = 100_000
	for i := range rows {
		fmt.Fprintf(&sb, "\"User %d\",\"user%d\",\"user%d@contoso.com\",\"DB%02d\"\r\n", i, i, i, i%20)
	}
	u := utf16.Encode([]rune(sb.String()))
	data := []byte{0xFF, 0xFE}
	for _, c := range u {
		data = append(data, byte(c), byte(c>>8))
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		imp, err := ParseMailboxList(bytes.NewReader(data))
		if err != nil || len(imp.Addresses) != rows {
			b.Fatalf("%v, %d addresses", err, len(imp.Addresses))
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
