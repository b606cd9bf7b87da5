package exchangesim

import (
	"regexp"
	"strings"
	"testing"
)

const calendarItem = `<m:Items><t:CalendarItem><t:Subject>Deputy probe (safe to delete)</t:Subject><t:Body BodyType="Text">probe</t:Body><t:ReminderIsSet>false</t:ReminderIsSet><t:Start>2026-11-20T03:00:00Z</t:Start><t:End>2026-11-20T03:15:00Z</t:End><t:LegacyFreeBusyStatus>Free</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items>`

func createItem(imp, attrs, items string) []byte {
	return []byte(envelopeXML("Exchange2013_SP1", imp, `<m:CreateItem`+attrs+`><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId>`+items+`</m:CreateItem>`))
}

func deleteItem(imp, attrs, id string) []byte {
	return []byte(envelopeXML("Exchange2013_SP1", imp, `<m:DeleteItem`+attrs+`><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`))
}

var reItemID = regexp.MustCompile(`<t:ItemId Id="([^"]+)" ChangeKey="([^"]+)"/>`)

func TestCreateDelete(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	auth := basic(s.User, s.Password)
	mbx := "anna.berg@fabrikam.test"
	const none = ` SendMeetingInvitations="SendToNone"`
	const hard = ` DeleteType="HardDelete" SendMeetingCancellations="SendToNone"`

	r := post(t, c, s.URL, createItem(mbx, none, calendarItem), auth)
	m := reItemID.FindStringSubmatch(r.Body)
	if r.Status != 200 || r.code() != "NoError" || m == nil {
		t.Fatalf("CreateItem: %d %s\n%s", r.Status, r.code(), r.Body)
	}
	id := m[1]
	if s.Items(mbx) != 1 || s.LeftItems() != 1 {
		t.Fatalf("after create: Items %d LeftItems %d", s.Items(mbx), s.LeftItems())
	}
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"create without SendMeetingInvitations", createItem(mbx, "", calendarItem), 200, "ErrorSendMeetingInvitationsRequired"},
		{"create with bad SendMeetingInvitations", createItem(mbx, ` SendMeetingInvitations="Never"`, calendarItem), 500, "ErrorSchemaValidation"},
		{"create with elements out of order", createItem(mbx, none, strings.Replace(calendarItem, `<t:Subject>Deputy probe (safe to delete)</t:Subject><t:Body BodyType="Text">probe</t:Body>`, `<t:Body BodyType="Text">probe</t:Body><t:Subject>x</t:Subject>`, 1)), 500, "ErrorSchemaValidation"},
		{"create in out-of-scope mailbox", createItem("ceo@fabrikam.test", none, calendarItem), 500, "ErrorImpersonateUserDenied"},
		{"create in a mailbox being moved", createItem("moving.user@fabrikam.test", none, calendarItem), 200, "ErrorMailboxMoveInProgress"},
		{"create as account without mailbox", nil, 200, "ErrorMissingEmailAddress"},
		{"delete without SendMeetingCancellations", deleteItem(mbx, ` DeleteType="HardDelete"`, id), 200, "ErrorSendMeetingCancellationsRequired"},
		{"delete without DeleteType", deleteItem(mbx, ` SendMeetingCancellations="SendToNone"`, id), 500, "ErrorSchemaValidation"},
		{"delete from another mailbox", deleteItem("ben.carter@fabrikam.test", hard, id), 200, "ErrorItemNotFound"},
		{"delete a malformed id", deleteItem(mbx, hard, "%%%"), 200, "ErrorInvalidIdMalformed"},
		{"delete", deleteItem(mbx, hard, id), 200, "NoError"},
		{"delete again", deleteItem(mbx, hard, id), 200, "ErrorItemNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []reqOpt{auth}
			if tc.body == nil {
				tc.body = createItem("", none, calendarItem)
				opts = []reqOpt{basic("svc-nomailbox@fabrikam.test", DemoPassword)}
			}
			r := post(t, c, s.URL, tc.body, opts...)
			if r.Status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s\n%s", r.Status, r.code(), tc.status, tc.code, r.Body)
			}
			wellFormed(t, r.Body)
		})
	}
	if n := s.LeftItems(); n != 0 {
		t.Errorf("%d items left behind", n)
	}
	if got := s.Counters().ByOperation; got["CreateItem"] != 7 || got["DeleteItem"] != 6 {
		t.Errorf("ByOperation %v", got)
	}
}

func TestRooms(t *testing.T) {
	sc := Demo(0)
	sc.Mailboxes[len(sc.Mailboxes)-1].Hidden = true // room.exec-huddle: hidden from the GAL
	s := startSim(t, sc, Options{})
	c := client(s)
	auth := basic(s.User, s.Password)

	r := post(t, c, s.URL, []byte(envelopeXML("Exchange2010_SP1", "", `<m:GetRoomLists/>`)), auth)
	if r.Status != 200 || r.code() != "NoError" || strings.Contains(r.Body, "ResponseMessages") {
		t.Fatalf("GetRoomLists: %d %s\n%s", r.Status, r.code(), r.Body)
	}
	if !strings.Contains(r.Body, `<m:GetRoomListsResponse ResponseClass="Success"`) {
		t.Errorf("GetRoomListsResponse not in the sample's shape:\n%s", r.Body)
	}
	lists := regexp.MustCompile(`<t:EmailAddress>([^<]+)</t:EmailAddress>`).FindAllStringSubmatch(r.Body, -1)
	if len(lists) != 3 {
		t.Fatalf("%d room lists, want 3", len(lists))
	}
	for _, tc := range []struct {
		list    string
		version string
		status  int
		code    string
		rooms   int
	}{
		{"rooms-hq@fabrikam.test", "Exchange2013_SP1", 200, "NoError", 3},
		{"ROOMS-B2@fabrikam.test", "Exchange2016", 200, "NoError", 2},
		{"rooms-exec@fabrikam.test", "Exchange2013_SP1", 200, "NoError", 1},
		{"nosuchlist@fabrikam.test", "Exchange2013_SP1", 200, "ErrorNameResolutionNoResults", 0},
		{"rooms-hq@fabrikam.test", "Exchange2007_SP1", 500, "ErrorIncorrectSchemaVersion", 0},
	} {
		t.Run(tc.list+"/"+tc.version, func(t *testing.T) {
			r := post(t, c, s.URL, []byte(envelopeXML(tc.version, "", `<m:GetRooms><m:RoomList><t:EmailAddress>`+tc.list+`</t:EmailAddress></m:RoomList></m:GetRooms>`)), auth)
			if r.Status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s\n%s", r.Status, r.code(), tc.status, tc.code, r.Body)
			}
			if n := strings.Count(r.Body, "<t:Room>"); n != tc.rooms {
				t.Errorf("%d rooms, want %d", n, tc.rooms)
			}
			wellFormed(t, r.Body)
		})
	}
}

func TestConvertIdAndResolveNames(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	c := client(s)
	auth := basic(s.User, s.Password)
	conv := func(mbx, id, format string) []byte {
		return []byte(envelopeXML("Exchange2013_SP1", "", `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="`+format+`" Id="`+id+`" Mailbox="`+mbx+`"/></m:SourceIds></m:ConvertId>`))
	}
	resolve := func(q string) []byte {
		return []byte(envelopeXML("Exchange2013_SP1", "", `<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>`+q+`</m:UnresolvedEntry></m:ResolveNames>`))
	}
	for _, tc := range []struct {
		name string
		body []byte
		code string
		n    int // resolutions
	}{
		{"probe id", conv(s.User, "00", "HexEntryId"), "ErrorInvalidIdMalformed", 0},
		{"bad mailbox", conv("not an address", "00", "HexEntryId"), "ErrorInvalidSmtpAddress", 0},
		{"unknown mailbox", conv("ghost@fabrikam.test", "00", "HexEntryId"), "ErrorNonExistentMailbox", 0},
		{"folder id", conv("anna.berg@fabrikam.test", folderID("anna.berg@fabrikam.test", "inbox"), "EwsId"), "NoError", 0},
		{"resolve exact", resolve("anna.berg@fabrikam.test"), "NoError", 1},
		{"resolve prefix", resolve("room."), "ErrorNameResolutionMultipleResults", 7},
		{"resolve none", resolve("zzz"), "ErrorNameResolutionNoResults", 0},
		{"resolve a missing mailbox", resolve("jon.smiht@fabrikam.test"), "ErrorNameResolutionNoResults", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, c, s.URL, tc.body, auth)
			if r.Status != 200 || r.code() != tc.code {
				t.Fatalf("got %d %s, want 200 %s\n%s", r.Status, r.code(), tc.code, r.Body)
			}
			if n := strings.Count(r.Body, "<t:Resolution>"); n != tc.n {
				t.Errorf("%d resolutions, want %d", n, tc.n)
			}
			wellFormed(t, r.Body)
		})
	}
}
