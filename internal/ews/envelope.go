package ews

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Namespaces exactly as Exchange expects them. Microsoft's docs print some of them as
// https://…; that is a link-rewriter artefact, servers reject it.
const (
	NSSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// Requests are built by string concatenation with xml.EscapeText rather than
// encoding/xml.Marshal: Marshal cannot emit fixed prefixes (soap:/t:/m:) and repeats
// xmlns on every element, which makes requests hard to compare with Microsoft's samples.

const envelopeOpen = `<?xml version="1.0" encoding="utf-8"?>` +
	`<soap:Envelope xmlns:soap="` + NSSoap + `" xmlns:t="` + NSTypes + `" xmlns:m="` + NSMessages + `">`

// envelope writes a whole request: header (version, optional impersonation) and body.
func envelope(version, as string, body func(b *bytes.Buffer)) []byte {
	var b bytes.Buffer
	b.Grow(1024)
	b.WriteString(envelopeOpen)
	b.WriteString(`<soap:Header><t:RequestServerVersion Version="`)
	esc(&b, version)
	b.WriteString(`"/>`)
	if as != "" {
		b.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>`)
		esc(&b, as)
		b.WriteString(`</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	b.WriteString(`</soap:Header><soap:Body>`)
	body(&b)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// esc writes s escaped for element text and attribute values (it escapes quotes too).
func esc(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

// ErrInput marks a request Deputy refused to send because an argument is unusable.
var ErrInput = errors.New("ews: invalid input")

// checkText rejects strings XML 1.0 cannot carry (xml.EscapeText would silently turn them
// into U+FFFD and the server would look for a different mailbox).
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInput, what)
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return fmt.Errorf("%w: %s contains the control character %U, which XML cannot carry", ErrInput, what, r)
		}
	}
	return nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// checkMailbox validates an address used in the impersonation header and X-AnchorMailbox:
// no control characters or spaces at all (an HTTP header cannot carry CR/LF), not empty.
func checkMailbox(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: %s is empty", ErrInput, what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInput, what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || !isXMLChar(r) {
			return fmt.Errorf("%w: %s %q contains the character %U (spaces and control characters are not allowed)", ErrInput, what, s, r)
		}
	}
	return nil
}

// distinguished is DistinguishedFolderIdNameType of types.xsd.
var distinguished = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`calendar contacts deleteditems drafts inbox journal notes outbox
		sentitems tasks msgfolderroot publicfoldersroot root junkemail searchfolders voicemail
		recoverableitemsroot recoverableitemsdeletions recoverableitemsversions recoverableitemspurges
		recoverableitemsdiscoveryholds archiveroot archivemsgfolderroot archivedeleteditems archiveinbox
		archiverecoverableitemsroot archiverecoverableitemsdeletions archiverecoverableitemsversions
		archiverecoverableitemspurges archiverecoverableitemsdiscoveryholds syncissues conflicts
		localfailures serverfailures recipientcache quickcontacts conversationhistory adminauditlogs
		todosearch mycontacts directory imcontactlist peopleconnect favorites mecontact personmetadata
		teamspaceactivity teamspacemessaging teamspaceworkitems scheduled orionnotes tagitems
		alltaggeditems allcategorizeditems externalcontacts teamchat teamchathistory yammerdata
		yammerroot yammerinbound yammeroutbound yammerfeeds kaizaladata messageingestion onedriveroot
		onedriverecylebin onedrivesystem onedrivevolume important starred archive`) {
		distinguished[n] = true
	}
}

func getFolderBody(ids []string) func(*bytes.Buffer) {
	return func(b *bytes.Buffer) {
		// IdOnly plus DisplayName: enough to prove access, no mailbox content.
		b.WriteString(`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>` +
			`<t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties>` +
			`</m:FolderShape><m:FolderIds>`)
		for _, id := range ids {
			b.WriteString(`<t:DistinguishedFolderId Id="`)
			esc(b, id)
			b.WriteString(`"/>`)
		}
		b.WriteString(`</m:FolderIds></m:GetFolder>`)
	}
}

// ewsTime is xs:dateTime in UTC; EWS treats the Z suffix as absolute, so no
// TimeZoneContext is needed.
func ewsTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") }

func createCalendarItemBody(it CalendarItem) func(*bytes.Buffer) {
	return func(b *bytes.Buffer) {
		// Element order is the schema's: ItemType (Subject, Sensitivity, Body, …,
		// ReminderIsSet) then CalendarItemType (Start, End, …, LegacyFreeBusyStatus).
		// Private + Free + no reminder: the probe is invisible to delegates and does not
		// block the calendar during the moment it exists.
		b.WriteString(`<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>` +
			`<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`)
		esc(b, it.Subject)
		b.WriteString(`</t:Subject><t:Sensitivity>Private</t:Sensitivity><t:Body BodyType="Text">`)
		esc(b, it.Body)
		b.WriteString(`</t:Body><t:ReminderIsSet>false</t:ReminderIsSet><t:Start>`)
		b.WriteString(ewsTime(it.Start))
		b.WriteString(`</t:Start><t:End>`)
		b.WriteString(ewsTime(it.End))
		b.WriteString(`</t:End><t:LegacyFreeBusyStatus>Free</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`)
	}
}

func deleteItemBody(id ItemID) func(*bytes.Buffer) {
	return func(b *bytes.Buffer) {
		b.WriteString(`<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="`)
		esc(b, id.ID)
		b.WriteString(`"`)
		if id.ChangeKey != "" {
			b.WriteString(` ChangeKey="`)
			esc(b, id.ChangeKey)
			b.WriteString(`"`)
		}
		b.WriteString(`/></m:ItemIds></m:DeleteItem>`)
	}
}

func getRoomListsBody(b *bytes.Buffer) { b.WriteString(`<m:GetRoomLists/>`) }

func getRoomsBody(list string) func(*bytes.Buffer) {
	return func(b *bytes.Buffer) {
		b.WriteString(`<m:GetRooms><m:RoomList><t:EmailAddress>`)
		esc(b, list)
		b.WriteString(`</t:EmailAddress></m:RoomList></m:GetRooms>`)
	}
}

func convertIDBody(mailbox string) func(*bytes.Buffer) {
	return func(b *bytes.Buffer) {
		// Id "00" is deliberately not a real entry id: a server that authenticated us
		// answers HTTP 200 with a per-item conversion error.
		b.WriteString(`<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds>` +
			`<t:AlternateId Format="HexEntryId" Id="00" Mailbox="`)
		esc(b, mailbox)
		b.WriteString(`"/></m:SourceIds></m:ConvertId>`)
	}
}
