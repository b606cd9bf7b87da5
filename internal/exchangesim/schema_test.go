package exchangesim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var reBody = regexp.MustCompile(`(?s)<s:Body[^>]*>(.*)</s:Body>`)
var reSVI = regexp.MustCompile(`<h:ServerVersionInfo[^>]*/>`)

// TestRepliesValidateAgainstSchema: every kind of non-fault reply the simulator writes
// is valid against Microsoft's messages.xsd / types.xsd (xmllint).
func TestRepliesValidateAgainstSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils); make test installs it")
	}
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	auth := basic(s.User, s.Password)
	gf := func(imp, shape string, ids ...string) []byte {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(`<t:DistinguishedFolderId Id="` + id + `"/>`)
		}
		return []byte(envelopeXML("Exchange2016", imp, `<m:GetFolder><m:FolderShape><t:BaseShape>`+shape+`</t:BaseShape></m:FolderShape><m:FolderIds>`+b.String()+`</m:FolderIds></m:GetFolder>`))
	}
	none := ` SendMeetingInvitations="SendToNone"`
	hard := ` DeleteType="HardDelete" SendMeetingCancellations="SendToNone"`
	created := post(t, c, s.URL, createItem("anna.berg@fabrikam.test", none, calendarItem), auth)
	id := reItemID.FindStringSubmatch(created.Body)[1]
	requests := map[string][]byte{
		"getfolder-idonly":    gf("anna.berg@fabrikam.test", "IdOnly", "msgfolderroot", "calendar", "inbox"),
		"getfolder-default":   gf("", "Default", "msgfolderroot", "root", "calendar", "inbox", "contacts", "tasks", "sentitems"),
		"getfolder-all":       gf("", "AllProperties", "calendar", "inbox"),
		"getfolder-move":      gf("moving.user@fabrikam.test", "IdOnly", "msgfolderroot", "calendar"),
		"getfolder-denied":    gf("audit.archive@fabrikam.test", "IdOnly", "msgfolderroot"),
		"getfolder-nomailbox": gf("contractor.kim@fabrikam.test", "IdOnly", "msgfolderroot"),
		"getfolder-badid":     []byte(envelopeXML("Exchange2016", "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="x"/></m:FolderIds></m:GetFolder>`)),
		"createitem-ok":       createItem("ben.carter@fabrikam.test", none, calendarItem),
		"createitem-noattr":   createItem("ben.carter@fabrikam.test", "", calendarItem),
		"deleteitem-ok":       deleteItem("anna.berg@fabrikam.test", hard, id),
		"deleteitem-notfound": deleteItem("anna.berg@fabrikam.test", hard, id),
		"deleteitem-nocancel": deleteItem("ben.carter@fabrikam.test", ` DeleteType="HardDelete"`, "AAAA"),
		"getroomlists":        []byte(envelopeXML("Exchange2016", "", `<m:GetRoomLists/>`)),
		"getrooms":            []byte(envelopeXML("Exchange2016", "", `<m:GetRooms><m:RoomList><t:EmailAddress>rooms-hq@fabrikam.test</t:EmailAddress></m:RoomList></m:GetRooms>`)),
		"getrooms-unknown":    []byte(envelopeXML("Exchange2016", "", `<m:GetRooms><m:RoomList><t:EmailAddress>x@fabrikam.test</t:EmailAddress></m:RoomList></m:GetRooms>`)),
		"convertid-error":     []byte(envelopeXML("Exchange2016", "", `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="HexEntryId" Id="00" Mailbox="`+s.User+`"/></m:SourceIds></m:ConvertId>`)),
		"convertid-ok":        []byte(envelopeXML("Exchange2016", "", `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="`+folderID(s.User, "inbox")+`" Mailbox="`+s.User+`"/></m:SourceIds></m:ConvertId>`)),
		"resolvenames-one":    []byte(envelopeXML("Exchange2016", "", `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>anna.berg@fabrikam.test</m:UnresolvedEntry></m:ResolveNames>`)),
		"resolvenames-many":   []byte(envelopeXML("Exchange2016", "", `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>room</m:UnresolvedEntry></m:ResolveNames>`)),
		"resolvenames-none":   []byte(envelopeXML("Exchange2016", "", `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>zzz</m:UnresolvedEntry></m:ResolveNames>`)),
	}
	dir := t.TempDir()
	var bodies, headers []string
	for name, req := range requests {
		r := post(t, c, s.URL, req, auth)
		if r.Status != 200 {
			t.Fatalf("%s: status %d %s", name, r.Status, r.code())
		}
		m := reBody.FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("%s: no body", name)
		}
		el := m[1]
		// xsi is declared on s:Body; carry it over to the extracted element.
		if i := strings.IndexAny(el, " />"); i > 0 && !strings.Contains(el[:strings.IndexByte(el, '>')], "xmlns:xsi") {
			el = el[:i] + ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` + el[i:]
		}
		p := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(p, []byte(el), 0o600); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, p)
		if h := reSVI.FindString(r.Body); h != "" && len(headers) == 0 {
			hp := filepath.Join(dir, "serverversioninfo.xml")
			if err := os.WriteFile(hp, []byte(h), 0o600); err != nil {
				t.Fatal(err)
			}
			headers = append(headers, hp)
		}
	}
	if len(headers) == 0 {
		t.Fatal("no ServerVersionInfo header seen")
	}
	for _, run := range []struct {
		schema string
		files  []string
	}{{"messages.xsd", bodies}, {"types.xsd", headers}} {
		args := append([]string{"--noout", "--schema", filepath.Join("testdata", "ews-schema", run.schema)}, run.files...)
		out, err := exec.Command(xmllint, args...).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint against %s: %v\n%s", run.schema, err, out)
		}
		if n := strings.Count(string(out), " validates"); n != len(run.files) {
			t.Errorf("%d of %d files validate against %s", n, len(run.files), run.schema)
		}
	}
	if t.Failed() {
		for _, p := range bodies {
			b, _ := os.ReadFile(p)
			fmt.Printf("%s:\n%s\n", filepath.Base(p), b)
		}
	}
}
