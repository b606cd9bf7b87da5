package ews

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"deputy/internal/result"
)

const samplesDir = "testdata/ews-samples"

type sample struct {
	File         string
	Kind         string
	Operation    string
	ResponseCode *string
	HTTPStatus   *int
	Expected     string
	DetailClass  *string
	BackoffMs    *int64
	Fragment     bool
	Variants     []string
}

func loadManifest(t testing.TB) []sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, "manifest.json"))
	if err != nil {
		t.Fatalf("sample corpus missing (it is part of this package's testdata): %v", err)
	}
	var m struct {
		Count   int
		Samples []sample
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Samples) != m.Count {
		t.Fatalf("manifest lists %d samples, says %d", len(m.Samples), m.Count)
	}
	return m.Samples
}

// coarse maps the manifest's coarse `expected` onto the deputy.diagnostics/v1 vocabulary.
// Every coarse class an EWS reply can carry is a class of the vocabulary; "redirect" only
// occurs for Autodiscover, which is not this package's business.
func coarse(t *testing.T, s string) result.Class {
	for _, c := range result.Classes {
		if string(c) == s {
			return c
		}
	}
	t.Fatalf("manifest class %q has no mapping onto the vocabulary", s)
	return ""
}

// isAutodiscover: Autodiscover documents belong to the autodiscover package.
func (s sample) isAutodiscover() bool {
	return s.Kind == "autodiscover" || s.Operation == "Autodiscover" || s.Operation == "GetUserSettings"
}

// loadReply returns status, headers and body of a sample as a client would receive them.
func loadReply(t testing.TB, s sample) (status int, h http.Header, body []byte, isRequest bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, s.File))
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{}
	if !strings.HasSuffix(s.File, ".http") {
		status = http.StatusOK
		if s.Kind == "fault" {
			status = http.StatusInternalServerError // how Exchange sends faults
		}
		if s.HTTPStatus != nil {
			status = *s.HTTPStatus
		}
		return status, h, raw, s.Kind == "request"
	}
	// Split headers and body ourselves: the recorded Content-Length/Transfer-Encoding do
	// not describe the (decoded) body.
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		head, body, _ = bytes.Cut(raw, []byte("\n\n"))
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(head, "\r\n\r\n"...))))
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/") {
		return 0, nil, nil, true // a recorded request
	}
	f := strings.Fields(line)
	status, err = strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("status line %q: %v", line, err)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header(mh)
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	return status, h, body, false
}

func classOf(err error) (result.Class, *Error) {
	if err == nil {
		return result.OK, nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class, e
	}
	return "", nil
}

// TestSamples parses every EWS reply of the reference corpus and checks its class, code
// and back-off against the manifest.
func TestSamples(t *testing.T) {
	var tested, requests, autodiscover int
	for _, s := range loadManifest(t) {
		if s.isAutodiscover() {
			autodiscover++
			continue
		}
		status, h, body, isReq := loadReply(t, s)
		if s.Kind == "request" || isReq {
			requests++
			continue
		}
		tested++
		t.Run(s.File, func(t *testing.T) {
			want := coarse(t, s.Expected)
			if s.DetailClass != nil {
				want = coarse(t, *s.DetailClass)
			}
			resp, err := Parse(status, h, body)
			got, e := classOf(err)
			if got == "" {
				t.Fatalf("Parse returned %T %v, want nil or *Error", err, err)
			}
			if got != want {
				t.Fatalf("class %q, want %q (err: %v)", got, want, err)
			}
			if s.ResponseCode != nil {
				switch {
				case e != nil && e.Code != *s.ResponseCode:
					t.Errorf("code %q, want %q", e.Code, *s.ResponseCode)
				case e == nil && (resp == nil || len(resp.Messages) == 0 || resp.Messages[0].Code != *s.ResponseCode):
					t.Errorf("first message code differs from %q: %+v", *s.ResponseCode, resp)
				}
			}
			if s.BackoffMs != nil {
				if e == nil || e.BackOff != time.Duration(*s.BackoffMs)*time.Millisecond {
					t.Errorf("backoff %v, want %d ms", err, *s.BackoffMs)
				}
			}
			if err == nil {
				if resp == nil || len(resp.Messages) == 0 {
					t.Fatalf("success without messages: %+v", resp)
				}
				if s.Operation != "" && resp.Operation != s.Operation {
					t.Errorf("operation %q, want %q", resp.Operation, s.Operation)
				}
			}
			if e != nil && e.Message == "" {
				t.Errorf("error without message: %+v", e)
			}
		})
	}
	t.Logf("replies classified: %d; requests skipped: %d; autodiscover documents skipped (autodiscover package): %d",
		tested, requests, autodiscover)
	if tested < 30 || autodiscover == 0 {
		t.Fatalf("only %d replies tested, %d autodiscover skipped: corpus incomplete?", tested, autodiscover)
	}
}

// TestSamplesPayload checks what the success samples carry, not just their class.
func TestSamplesPayload(t *testing.T) {
	tests := []struct {
		file    string
		folders []Folder
		items   []ItemID
		addrs   []Address
		server  string
	}{
		{file: "getfolder-success-msdocs.xml", folders: []Folder{{ID: "AQApA=", ChangeKey: "AQAAAB", DisplayName: "Inbox"}}, server: "8.0.628.0"},
		{file: "getfolder-success-phpews.xml", folders: []Folder{{ID: "AQMkADllMTlhYmUxLTg5MTctNDI4ZS1iNDdlLTM2NTk2Y2E5ODA0MwAuAAAD1ufEotoeQ0eOxEbIe+pv2QEAt9LrVfUJtU6eouetx7gQygAAAgENAAAA",
			ChangeKey: "AgAAABYAAAC30utV9Qm1Tp6i563HuBDKAAER7Am7", DisplayName: "Calendar"}}, server: "15.20.3370.16 (V2018_01_08)"},
		{file: "createitem-calendaritem-success-msdocs.xml", items: []ItemID{{ID: "AAAlAFV", ChangeKey: "DwAAABYA"}}, server: "8.0.685.8"},
		{file: "getroomlists-success-exchangelib.xml", addrs: []Address{{"Roomlist", "roomlist1@example.com"}, {"Roomlist", "roomlist2@example.com"}}},
		{file: "getroomlists-success-msdocs.xml", addrs: []Address{{"Room List", "RoomList@contoso.com"}}, server: "14.1.164.0 (Exchange2010_SP1)"},
		{file: "getrooms-success-msdocs.xml", addrs: []Address{{"Room01", "Room01@contoso.com"}, {"Room02", "Room02@contoso.com"}}, server: "14.1.164.0 (Exchange2010_SP1)"},
		{file: "getservertimezones-success-soapprefix-exchangelib.xml", server: "14.2.390.3 (Exchange2010_SP2)"},
		{file: "convertid-error-invalidsmtpaddress-exchangelib.xml", server: "15.1.2345.6789 (V2017_07_11)"},
		{file: "getappmanifests-error-invalidrequest-msdocs.xml", server: "15.0.918.7 (V2_10)"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(samplesDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := Parse(200, nil, body)
			if resp == nil {
				t.Fatal("no response")
			}
			var folders []Folder
			var items []ItemID
			var addrs []Address
			for _, m := range resp.Messages {
				folders = append(folders, m.Folders...)
				items = append(items, m.Items...)
				addrs = append(addrs, m.Addresses...)
			}
			if !equal(folders, tt.folders) || !equal(items, tt.items) || !equal(addrs, tt.addrs) {
				t.Errorf("got folders %+v items %+v addrs %+v", folders, items, addrs)
			}
			if got := resp.Server.String(); got != tt.server {
				t.Errorf("server version %q, want %q", got, tt.server)
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSamplesVariants: the decisions about encodings of the same reply. Every EWS reply
// of the corpus must classify identically when (a) gzip-compressed, (b) rewritten with
// the https:// namespaces Microsoft's docs print (decision: accepted — the parser
// matches local names; the namespace URI carries no information for classification),
// (c) given a BOM, (d) stripped of its XML declaration.
func TestSamplesVariants(t *testing.T) {
	variants := []struct {
		name string
		f    func([]byte) []byte
	}{
		{"gzip", func(b []byte) []byte {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(b)
			w.Close()
			return z.Bytes()
		}},
		{"https-namespaces", func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`"http://schemas.`), []byte(`"https://schemas.`))
		}},
		{"bom", func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }},
		{"no-declaration", func(b []byte) []byte {
			if i := bytes.Index(b, []byte("?>")); bytes.HasPrefix(bytes.TrimSpace(b), []byte("<?xml")) && i > 0 {
				return b[i+2:]
			}
			return b
		}},
	}
	n := 0
	for _, s := range loadManifest(t) {
		if s.isAutodiscover() || s.Kind == "request" || !strings.HasSuffix(s.File, ".xml") {
			continue
		}
		status, h, body, _ := loadReply(t, s)
		_, baseErr := Parse(status, h, body)
		want, _ := classOf(baseErr)
		for _, v := range variants {
			n++
			t.Run(s.File+"/"+v.name, func(t *testing.T) {
				_, err := Parse(status, h, v.f(body))
				if got, _ := classOf(err); got != want {
					t.Errorf("class %q, want %q as for the original (err %v)", got, want, err)
				}
				if be, ok := baseErr.(*Error); ok {
					if e, ok := err.(*Error); !ok || e.Code != be.Code || e.BackOff != be.BackOff {
						t.Errorf("got %v, want code %s backoff %s", err, be.Code, be.BackOff)
					}
				}
			})
		}
	}
	if n < 100 {
		t.Fatalf("only %d variant cases", n)
	}
}
