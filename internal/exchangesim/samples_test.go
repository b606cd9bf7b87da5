package exchangesim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const samplesDir = "testdata/ews-samples"

type sampleEntry struct {
	File, Kind, Operation string
	Variants              []string
}

func loadManifest(t *testing.T) []sampleEntry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Samples []sampleEntry }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Samples
}

// sampleBody returns the XML document of a sample (for .http files: what follows the
// headers; two captures lack the blank line, so cut at the first '<').
func sampleBody(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".http") {
		if i := bytes.IndexByte(b, '<'); i >= 0 {
			return b[i:]
		}
		return nil
	}
	return b
}

// TestSampleRequests sends the real requests of the corpus to the simulator.
func TestSampleRequests(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	n := 0
	for _, e := range loadManifest(t) {
		if e.Kind != "request" && !(e.Kind == "http" && strings.Contains(e.File, "-request-")) {
			continue
		}
		n++
		t.Run(e.File, func(t *testing.T) {
			quirk := slices.ContainsFunc(e.Variants, func(v string) bool { return strings.Contains(v, "https") })
			before := s.Counters().ByOperation[e.Operation]
			r := post(t, c, s.URL, sampleBody(t, e.File), basic(s.User, s.Password))
			wellFormed(t, r.Body)
			if quirk {
				if r.code() != "ErrorSchemaValidation" {
					t.Fatalf("https-namespace request accepted: %d %s", r.Status, r.code())
				}
				return
			}
			if r.code() == "ErrorSchemaValidation" || r.code() == "" {
				t.Fatalf("valid request refused: %d %s\n%s", r.Status, r.code(), r.Body)
			}
			if s.Counters().ByOperation[e.Operation] != before+1 {
				t.Errorf("not dispatched as %s", e.Operation)
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d request samples", n)
	}
}

// shape is the set of element paths ({namespace}local, plus ResponseClass) of a document's
// SOAP Body, or of its Header.
func shape(t *testing.T, doc []byte, part string) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))))
	var stack []string
	set := map[string]bool{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("shape: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := "{" + el.Name.Space + "}" + el.Name.Local
			for _, a := range el.Attr {
				if a.Name.Local == "ResponseClass" {
					name += "[" + a.Value + "]"
				}
			}
			stack = append(stack, name)
			if len(stack) > 2 && stack[1] == "{"+nsSOAP+"}"+part {
				set[strings.Join(stack[2:], "/")] = true
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReplyShapes compares the simulator's replies with real ones, element for element.
// Errors and faults must match exactly; successes must contain everything the sample has.
func TestReplyShapes(t *testing.T) {
	sc := Demo(0)
	s := startSim(t, sc, Options{})
	c := client(s)
	auth := basic(s.User, s.Password)
	created := post(t, c, s.URL, createItem("anna.berg@fabrikam.test", ` SendMeetingInvitations="SendToNone"`, calendarItem), auth)
	id := reItemID.FindStringSubmatch(created.Body)[1]
	hard := ` DeleteType="HardDelete" SendMeetingCancellations="SendToNone"`
	tests := []struct {
		sample string
		body   []byte
		exact  bool
	}{
		{"getroomlists-fault-serverbusy-exchangelib.xml", []byte(getFolder("newsletter@fabrikam.test")), true},
		{"fault-exceededconnectioncount-ewsrs.xml", nil, true}, // filled below
		{"fault-schemavalidation-pyexchange.xml", []byte("<bad"), true},
		{"getimitemlist-fault-incorrectschemaversion-msdocs.xml", []byte(envelopeXML("Exchange2007_SP1", "", `<m:GetRoomLists/>`)), true},
		{"getroomlists-success-exchangelib.xml", []byte(envelopeXML("Exchange2016", "", `<m:GetRoomLists/>`)), true},
		{"getrooms-success-msdocs.xml", []byte(envelopeXML("Exchange2016", "", `<m:GetRooms><m:RoomList><t:EmailAddress>rooms-hq@fabrikam.test</t:EmailAddress></m:RoomList></m:GetRooms>`)), true},
		{"getfolder-error-invalididmalformed-msdocs.xml", []byte(envelopeXML("Exchange2016", "", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="x"/></m:FolderIds></m:GetFolder>`)), true},
		{"getfolder-success-exchangelib.xml", []byte(envelopeXML("Exchange2016", "", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`)), false},
		{"createitem-calendaritem-success-msdocs.xml", createItem("ben.carter@fabrikam.test", ` SendMeetingInvitations="SendToNone"`, calendarItem), true},
		{"deleteitem-error-itemnotfound-msdocs.xml", deleteItem("anna.berg@fabrikam.test", hard, base64.StdEncoding.EncodeToString([]byte("AAMkITEM|anna.berg@fabrikam.test|00"))), true},
		{"deleteitem-success-msdocs.xml", deleteItem("anna.berg@fabrikam.test", hard, id), true},
		{"convertid-error-invalidsmtpaddress-exchangelib.xml", []byte(envelopeXML("Exchange2016", "", `<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="HexEntryId" Id="00" Mailbox="nope"/></m:SourceIds></m:ConvertId>`)), true},
		{"resolvenames-error-nameresolutionnoresults-msdocs.xml", []byte(envelopeXML("Exchange2016", "", `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>zzz</m:UnresolvedEntry></m:ResolveNames>`)), true},
	}
	for _, tc := range tests {
		t.Run(tc.sample, func(t *testing.T) {
			var r reply
			if tc.body == nil {
				r = overBudget(t, s)
			} else {
				r = post(t, c, s.URL, tc.body, auth)
			}
			want, got := shape(t, sampleBody(t, tc.sample), "Body"), shape(t, []byte(r.Body), "Body")
			if len(want) < 3 {
				t.Fatalf("sample shape too small to compare: %v", want)
			}
			for _, p := range want {
				if !slices.Contains(got, p) {
					t.Errorf("reply lacks %s", p)
				}
			}
			if tc.exact {
				for _, p := range got {
					if !slices.Contains(want, p) {
						t.Errorf("reply has %s, the sample does not", p)
					}
				}
			}
			if t.Failed() {
				t.Logf("reply:\n%s", r.Body)
			}
		})
	}
	// Header: ServerVersionInfo as Exchange 2016/2019 write it (h: prefix, types namespace).
	r := post(t, c, s.URL, []byte(getFolder("")), auth)
	if got, want := shape(t, []byte(r.Body), "Header"), shape(t, sampleBody(t, "exportitems-error-nonexistentmailbox-ewsjava.xml"), "Header"); !slices.Equal(got, want) {
		t.Errorf("header %v, sample %v", got, want)
	}
}

// overBudget provokes ErrorExceededConnectionCount: a one-request budget held by a
// request to a stalled mailbox.
func overBudget(t *testing.T, _ *Server) reply {
	sc := Demo(0)
	sc.MaxConcurrency = 1
	sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: "stalled@fabrikam.test", Department: "Sales", State: StateStall})
	s := startSim(t, sc, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = tryPost(ctx, client(s), s.URL, []byte(getFolder("stalled@fabrikam.test")), basic(s.User, s.Password))
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); s.Counters().PeakConcurrency < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("stalled request did not arrive")
		}
	}
	r := post(t, client(s), s.URL, []byte(getFolder("")), basic(s.User, s.Password))
	if r.code() != "ErrorExceededConnectionCount" || r.Status != 500 {
		t.Fatalf("got %d %s", r.Status, r.code())
	}
	return r
}

// TestNTLMChallengeLikeIIS compares our type 2 with the one IIS 7.5 sent (sample).
func TestNTLMChallengeLikeIIS(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir, "ews-401-ntlm-challenge-evolution.http"))
	if err != nil {
		t.Fatal(err)
	}
	var iis []byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if tok, ok := strings.CutPrefix(sc.Text(), "WWW-Authenticate: NTLM "); ok {
			iis, _ = base64.StdEncoding.DecodeString(tok)
		}
	}
	ours, _, err := buildChallenge("FABRIKAM", "fabrikam.test")
	if err != nil {
		t.Fatal(err)
	}
	avIDs := func(m []byte) []uint16 {
		l, off := binary.LittleEndian.Uint16(m[40:]), binary.LittleEndian.Uint32(m[44:])
		ti := m[off : off+uint32(l)]
		var ids []uint16
		for len(ti) >= 4 {
			id, n := binary.LittleEndian.Uint16(ti), binary.LittleEndian.Uint16(ti[2:])
			ids = append(ids, id)
			ti = ti[4+n:]
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		return ids
	}
	if ntlmType(iis) != 2 || ntlmType(ours) != 2 {
		t.Fatal("not type 2 messages")
	}
	if a, b := avIDs(iis), avIDs(ours); !slices.Equal(a, b) {
		t.Errorf("AV pairs: IIS %v, ours %v", a, b)
	}
	iisFlags, ourFlags := binary.LittleEndian.Uint32(iis[20:]), binary.LittleEndian.Uint32(ours[20:])
	if iisFlags&^ourFlags != 0 {
		t.Errorf("IIS sets flags %#x that we do not", iisFlags&^ourFlags)
	}
	if ourFlags&(1<<30) != 0 {
		t.Error("KEY_EXCH offered")
	}
}
