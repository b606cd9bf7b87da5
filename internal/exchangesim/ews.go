package exchangesim

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const maxRequestBody = 8 << 20

// call is one authenticated EWS request being served.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	acct *Account
	req  *request
	// target mailbox: the impersonated one, or the caller's own; nil = no mailbox.
	mbx   *Mailbox
	state string
}

func (s *Server) serveEWS(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && s.sc.Fault != "" {
		if n := s.posts.Add(1); s.sc.FaultEvery <= 1 || n%int64(s.sc.FaultEvery) == 0 {
			s.inject(w, r, s.sc.Fault)
			return
		}
	}
	acct := s.authenticate(w, r)
	if acct == nil {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Method not allowed: EWS takes SOAP requests by POST.", http.StatusMethodNotAllowed)
		return
	}

	// Concurrency: global peak, and the per-principal EWSMaxConcurrency budget.
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	key := strings.ToLower(acct.User)
	s.mu.Lock()
	s.perAccount[key]++
	over := s.perAccount[key] > s.sc.maxConcurrency()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.perAccount[key]--
		s.mu.Unlock()
	}()
	if over {
		writeFault(w, exceededConnections(s.sc.maxConcurrency()))
		return
	}
	if !s.wait(r.Context(), s.opts.Latency) {
		abort()
	}

	body, status, msg := readBody(r)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	root, err := parseXML(body)
	var req *request
	if err == nil {
		req, err = parseEnvelope(root)
	}
	if err != nil {
		se := &schemaError{Line: 1, Col: 1, Violation: err.Error()}
		errors.As(err, &se)
		writeFault(w, schemaFault(se))
		return
	}
	if req.HasVersion && !validVersion(req.Version) {
		writeFault(w, faultInvalidServerVersion)
		return
	}
	if req.Op == nil {
		writeFault(w, faultInvalidRequest)
		return
	}
	if req.Op.Space != nsMessages {
		writeFault(w, schemaFault(&schemaError{Line: req.Op.Line, Col: req.Op.Col,
			Violation: fmt.Sprintf("Could not find schema information for the element '%s:%s'.", req.Op.Space, req.Op.Local)}))
		return
	}
	s.countOp(req.Op.Local)
	c := &call{s: s, w: w, r: r, acct: acct, req: req}
	if !c.resolveTarget() {
		return
	}
	switch req.Op.Local {
	case "GetFolder":
		c.getFolder()
	case "CreateItem":
		c.createItem()
	case "DeleteItem":
		c.deleteItem()
	case "GetRoomLists":
		c.getRoomLists()
	case "GetRooms":
		c.getRooms()
	case "ConvertId":
		c.convertID()
	case "ResolveNames":
		c.resolveNames()
	default:
		f := faultInvalidRequest
		f.String = "The request is invalid: the operation '" + req.Op.Local + "' is not available on this server."
		writeFault(w, f)
	}
}

func (s *Server) countOp(op string) {
	s.mu.Lock()
	if _, ok := s.byOp[op]; ok || len(s.byOp) < 64 {
		s.byOp[op]++
	} else {
		s.byOp["(other)"]++
	}
	s.mu.Unlock()
}

// readBody reads the request (gzip if so declared), bounded.
func readBody(r *http.Request) ([]byte, int, string) {
	var rd io.Reader = r.Body
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		gz, err := gzip.NewReader(io.LimitReader(r.Body, maxRequestBody))
		if err != nil {
			return nil, http.StatusBadRequest, "Bad Request: the body is not valid gzip."
		}
		defer gz.Close()
		rd = gz
	}
	b, err := io.ReadAll(io.LimitReader(rd, maxRequestBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, "Bad Request: the body could not be read."
	}
	if len(b) > maxRequestBody {
		return nil, http.StatusRequestEntityTooLarge, "Request Entity Too Large"
	}
	return b, 0, ""
}

func writeXML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Cache-Control", "private")
	h.Set("X-FEServer", "EXCH01")
	h.Set("X-BEServer", "EXCH01")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeFault(w http.ResponseWriter, f fault) {
	writeXML(w, http.StatusInternalServerError, f.bytes())
}

func (c *call) reply(body string) { writeXML(c.w, http.StatusOK, envelope(body)) }

func validSMTP(a string) bool {
	local, dom, ok := strings.Cut(a, "@")
	return ok && local != "" && dom != "" && !strings.ContainsAny(a, " \t<>()[],;:\"\\") &&
		!strings.Contains(dom, "@") && strings.Contains(dom, ".") && !strings.HasPrefix(dom, ".") && !strings.HasSuffix(dom, ".")
}

// sid is the (stable, fictitious) security identifier of mailbox i.
func sid(i int) string { return fmt.Sprintf("S-1-5-21-3623811015-3361044348-30300820-%d", 1100+i) }

// resolveTarget applies the ExchangeImpersonation header the way Exchange does
// (identity, right, scope, mailbox) and per-mailbox throttling/faults. It writes the
// reply itself and returns false when the request ends here.
func (c *call) resolveTarget() bool {
	s, sc := c.s, c.s.sc
	imp := c.req.Imp
	if imp == nil {
		if c.acct.Mailbox {
			if m, st, ok := sc.lookup(c.acct.User); ok {
				c.mbx, c.state = m, st
			} else {
				c.mbx, c.state = &Mailbox{Address: c.acct.User}, StateOK
			}
		}
		return true
	}
	if a := strings.TrimSpace(c.r.Header.Get("X-AnchorMailbox")); !strings.EqualFold(a, imp.Value) {
		s.anchorMiss.Add(1)
	}
	if imp.Value == "" {
		writeFault(c.w, faultImpHeaderData)
		return false
	}
	if c.acct.Impersonation.Mode != ModeAll && c.acct.Impersonation.Mode != ModeScope {
		writeFault(c.w, faultImpersonationDenied)
		return false
	}
	var (
		m  *Mailbox
		st string
		ok bool
	)
	switch imp.Kind {
	case "SID":
		if !strings.HasPrefix(strings.ToUpper(imp.Value), "S-1-") {
			writeFault(c.w, faultInvalidSID)
			return false
		}
		sc.prepare()
		for i := range sc.Mailboxes {
			if strings.EqualFold(sid(i), imp.Value) {
				m, st, ok = &sc.Mailboxes[i], sc.state[i], true
				break
			}
		}
	case "PrincipalName":
		if !strings.Contains(imp.Value, "@") {
			writeFault(c.w, faultInvalidUPN)
			return false
		}
		m, st, ok = sc.lookup(imp.Value)
	default:
		if !validSMTP(imp.Value) {
			writeFault(c.w, faultInvalidSMTP)
			return false
		}
		m, st, ok = sc.lookup(imp.Value)
	}
	switch {
	case !ok || st == StateMissing:
		writeFault(c.w, faultNonExistentMailbox)
		return false
	case st == StateInvalidSMTP:
		writeFault(c.w, faultInvalidSMTP)
		return false
	case st == StateCASDenied:
		writeFault(c.w, faultImpersonationDenied)
		return false
	case !c.acct.inScope(m):
		writeFault(c.w, faultImpersonateUserDenied)
		return false
	case st == StateImpersonationFailed:
		writeFault(c.w, faultImpersonationFailed)
		return false
	case st == StateLegacyVersion && c.req.HasVersion && c.req.Version != "Exchange2007_SP1" && c.req.Version != "Exchange2007":
		writeFault(c.w, faultSchemaForMailbox)
		return false
	case st == StateSchema:
		writeFault(c.w, schemaFault(&schemaError{Line: c.req.Op.Line, Col: c.req.Op.Col,
			Violation: "The element '" + c.req.Op.Local + "' in namespace '" + nsMessages + "' has invalid child element for the mailbox's schema version."}))
		return false
	case st == StateThrottleOnce:
		key := strings.ToLower(m.Address)
		s.mu.Lock()
		first := !s.throttled[key]
		s.throttled[key] = true
		s.mu.Unlock()
		if first {
			writeFault(c.w, serverBusy(orDefault(sc.ThrottleOnceBackOffMs, 1500)))
			return false
		}
	case st == StateThrottleHard:
		writeFault(c.w, serverBusy(orDefault(sc.ThrottleHardBackOffMs, 300000)))
		return false
	case slices.Contains(validFaults[1:], st):
		s.inject(c.w, c.r, st)
		return false
	}
	c.mbx, c.state = m, st
	return true
}

// mailboxError is the per-item error a mailbox in this state produces, nil if none.
func (c *call) mailboxError() *itemError {
	if c.mbx == nil {
		e := errMissingEmail
		return &e
	}
	var e itemError
	switch c.state {
	case StateNoMailbox:
		e = errMissingEmail
	case StateMoveInProgress:
		e = errMoveInProgress
	case StateStoreUnavailable:
		e = errStoreUnavailable
	case StateAccessDenied:
		e = errAccessDenied
	case StateInternal:
		e = errInternal
	default:
		return nil
	}
	return &e
}

// ---------- GetFolder ----------

var distinguished = []string{"calendar", "contacts", "deleteditems", "drafts", "inbox", "journal", "notes", "outbox",
	"sentitems", "tasks", "msgfolderroot", "publicfoldersroot", "root", "junkemail", "searchfolders", "voicemail",
	"recoverableitemsroot", "recoverableitemsdeletions", "recoverableitemsversions", "recoverableitemspurges",
	"recoverableitemsdiscoveryholds", "archiveroot", "archivemsgfolderroot", "archivedeleteditems", "archiveinbox",
	"archiverecoverableitemsroot", "archiverecoverableitemsdeletions", "archiverecoverableitemsversions",
	"archiverecoverableitemspurges", "archiverecoverableitemsdiscoveryholds", "syncissues", "conflicts",
	"localfailures", "serverfailures", "recipientcache", "quickcontacts", "conversationhistory", "adminauditlogs",
	"todosearch", "mycontacts", "directory", "imcontactlist", "peopleconnect", "favorites", "mecontact",
	"personmetadata", "teamspaceactivity", "teamspacemessaging", "teamspaceworkitems", "scheduled", "orionnotes",
	"tagitems", "alltaggeditems", "allcategorizeditems", "externalcontacts", "teamchat", "teamchathistory",
	"yammerdata", "yammerroot", "yammerinbound", "yammeroutbound", "yammerfeeds", "kaizaladata", "messageingestion",
	"onedriveroot", "onedriverecylebin", "onedrivesystem", "onedrivevolume", "important", "starred", "archive"}

var folderNames = map[string]string{"calendar": "Calendar", "contacts": "Contacts", "deleteditems": "Deleted Items",
	"drafts": "Drafts", "inbox": "Inbox", "journal": "Journal", "notes": "Notes", "outbox": "Outbox",
	"sentitems": "Sent Items", "tasks": "Tasks", "msgfolderroot": "Top of Information Store", "root": "",
	"junkemail": "Junk Email"}

func folderID(mailbox, folder string) string {
	return base64.StdEncoding.EncodeToString([]byte("AAMkSIM|" + strings.ToLower(mailbox) + "|" + folder))
}

func parseSimID(id, kind string) (mailbox, rest string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return "", "", false
	}
	p := strings.SplitN(string(raw), "|", 3)
	if len(p) != 3 || p[0] != kind {
		return "", "", false
	}
	return p[1], p[2], true
}

func schemaAt(n *node, violation string) fault {
	return schemaFault(&schemaError{Line: n.Line, Col: n.Col, Violation: violation})
}

func (c *call) getFolder() {
	op := c.req.Op
	shape, ids := op.child("FolderShape"), op.child("FolderIds")
	if shape == nil || ids == nil || len(ids.Kids) == 0 {
		writeFault(c.w, schemaAt(op, "The element 'GetFolder' in namespace '"+nsMessages+"' has incomplete content. List of possible elements expected: 'FolderShape, FolderIds'."))
		return
	}
	base := shape.child("BaseShape").text()
	if base != "IdOnly" && base != "Default" && base != "AllProperties" {
		writeFault(c.w, schemaAt(shape, "The 'BaseShape' element is invalid - The value '"+base+"' is invalid according to its datatype '"+nsTypes+":DefaultShapeNamesType' - The Enumeration constraint failed."))
		return
	}
	type want struct {
		name     string // distinguished name, or "" for a FolderId
		id       string
		delegate string // <Mailbox><EmailAddress>
	}
	var wants []want
	for _, k := range ids.Kids {
		switch k.Local {
		case "DistinguishedFolderId":
			name, _ := k.attr("Id")
			if !slices.Contains(distinguished, name) {
				writeFault(c.w, schemaAt(k, "The 'Id' attribute is invalid - The value '"+name+"' is invalid according to its datatype '"+nsTypes+":DistinguishedFolderIdNameType' - The Enumeration constraint failed."))
				return
			}
			wants = append(wants, want{name: name, delegate: k.child("Mailbox").child("EmailAddress").text()})
		case "FolderId":
			id, _ := k.attr("Id")
			wants = append(wants, want{id: id})
		default:
			writeFault(c.w, schemaAt(k, "The element 'FolderIds' in namespace '"+nsMessages+"' has invalid child element '"+k.Local+"'."))
			return
		}
	}
	var b strings.Builder
	b.WriteString(`<m:GetFolderResponse` + respOpen + `><m:ResponseMessages>`)
	const el, trailer = "GetFolderResponseMessage", "<m:Folders/>"
	for _, wnt := range wants {
		mbx, name := c.mbx, wnt.name
		if wnt.delegate != "" && (mbx == nil || !strings.EqualFold(wnt.delegate, mbx.Address)) {
			// Delegate access to another mailbox: no Full Access is modelled.
			if _, st, ok := c.s.sc.lookup(wnt.delegate); !ok || st == StateMissing {
				b.WriteString(itemError{Code: "ErrorNonExistentMailbox", Text: "The SMTP address has no mailbox associated with it."}.xml(el, trailer))
			} else {
				b.WriteString(errAccessDenied.xml(el, trailer))
			}
			continue
		}
		if e := c.mailboxError(); e != nil {
			b.WriteString(e.xml(el, trailer))
			continue
		}
		if wnt.id != "" {
			owner, folder, ok := parseSimID(wnt.id, "AAMkSIM")
			switch {
			case !ok:
				b.WriteString(errInvalidIDMalformed.xml(el, trailer))
				continue
			case !strings.EqualFold(owner, mbx.Address):
				b.WriteString(errAccessDenied.xml(el, trailer))
				continue
			}
			name = folder
		}
		b.WriteString(`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>`)
		b.WriteString(c.folderXML(mbx.Address, name, base))
		b.WriteString(`</m:Folders></m:GetFolderResponseMessage>`)
	}
	b.WriteString(`</m:ResponseMessages></m:GetFolderResponse>`)
	c.reply(b.String())
}

func (c *call) folderXML(mailbox, name, shape string) string {
	el, class := "Folder", "IPF.Note"
	switch name {
	case "calendar":
		el, class = "CalendarFolder", "IPF.Appointment"
	case "contacts":
		el, class = "ContactsFolder", "IPF.Contact"
	case "tasks":
		el, class = "TasksFolder", "IPF.Task"
	}
	var b strings.Builder
	b.WriteString(`<t:` + el + `><t:FolderId Id="` + folderID(mailbox, name) + `" ChangeKey="AQAAABYAAAAXSTRLGzwMTavB/Dd1mG14AAAAAAAH"/>`)
	if shape != "IdOnly" {
		disp, ok := folderNames[name]
		if !ok {
			disp = name
		}
		count := 0
		if name == "calendar" {
			c.s.mu.Lock()
			count = len(c.s.items[strings.ToLower(mailbox)])
			c.s.mu.Unlock()
		}
		if name != "root" && name != "msgfolderroot" {
			b.WriteString(`<t:FolderClass>` + class + `</t:FolderClass>`)
		}
		b.WriteString(`<t:DisplayName>` + esc(disp) + `</t:DisplayName>`)
		fmt.Fprintf(&b, `<t:TotalCount>%d</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount>`, count)
		if el == "Folder" {
			b.WriteString(`<t:UnreadCount>0</t:UnreadCount>`)
		}
	}
	b.WriteString(`</t:` + el + `>`)
	return b.String()
}

// ---------- CreateItem / DeleteItem ----------

var sendInvitations = []string{"SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy"}

// calendarItemOrder is the schema sequence of CalendarItemType (ItemType, then its
// extension), from types.xsd; elements out of this order fail schema validation.
var calendarItemOrder = []string{"MimeContent", "ItemId", "ParentFolderId", "ItemClass", "Subject", "Sensitivity", "Body",
	"Attachments", "DateTimeReceived", "Size", "Categories", "Importance", "InReplyTo", "IsSubmitted", "IsDraft",
	"IsFromMe", "IsResend", "IsUnmodified", "InternetMessageHeaders", "DateTimeSent", "DateTimeCreated",
	"ResponseObjects", "ReminderDueBy", "ReminderIsSet", "ReminderNextTime", "ReminderMinutesBeforeStart",
	"DisplayCc", "DisplayTo", "DisplayBcc", "HasAttachments", "ExtendedProperty", "Culture", "EffectiveRights",
	"LastModifiedName", "LastModifiedTime", "IsAssociated", "WebClientReadFormQueryString",
	"WebClientEditFormQueryString", "ConversationId", "UniqueBody", "Flag", "StoreEntryId", "InstanceKey",
	"NormalizedBody", "EntityExtractionResult", "PolicyTag", "ArchiveTag", "RetentionDate", "Preview",
	"RightsManagementLicenseData", "PredictedActionReasons", "IsClutter", "BlockStatus", "HasBlockedImages",
	"TextBody", "IconIndex", "SearchKey", "SortKey", "Hashtags", "Mentions", "MentionedMe", "MentionsPreview",
	"MentionsEx", "AppliedHashtags", "AppliedHashtagsPreview", "Likes", "LikesPreview",
	"PendingSocialActivityTagIds", "AtAllMention", "CanDelete", "InferenceClassification",
	"UID", "RecurrenceId", "DateTimeStamp", "Start", "End", "OriginalStart", "IsAllDayEvent", "LegacyFreeBusyStatus",
	"Location", "When", "IsMeeting", "IsCancelled", "IsRecurring", "MeetingRequestWasSent", "IsResponseRequested",
	"CalendarItemType", "MyResponseType", "Organizer", "RequiredAttendees", "OptionalAttendees", "Resources",
	"InboxReminders", "ConflictingMeetingCount", "AdjacentMeetingCount", "ConflictingMeetings", "AdjacentMeetings",
	"Duration", "TimeZone", "AppointmentReplyTime", "AppointmentSequenceNumber", "AppointmentState", "Recurrence",
	"FirstOccurrence", "LastOccurrence", "ModifiedOccurrences", "DeletedOccurrences", "MeetingTimeZone",
	"StartTimeZone", "EndTimeZone", "ConferenceType", "AllowNewTimeProposal", "IsOnlineMeeting",
	"MeetingWorkspaceUrl", "NetShowUrl", "EnhancedLocation", "StartWallClock", "EndWallClock", "StartTimeZoneId",
	"EndTimeZoneId", "IntendedFreeBusyStatus", "JoinOnlineMeetingUrl", "OnlineMeetingSettings", "IsOrganizer",
	"CalendarActivityData", "DoNotForwardMeeting"}

func checkCalendarItem(it *node) *fault {
	last := -1
	for _, k := range it.Kids {
		i := slices.Index(calendarItemOrder, k.Local)
		if i < 0 || k.Space != nsTypes || i < last || (i == last && k.Local != "ExtendedProperty") {
			f := schemaAt(k, "The element 'CalendarItem' in namespace '"+nsTypes+"' has invalid child element '"+k.Local+"' in namespace '"+k.Space+"'.")
			return &f
		}
		last = i
	}
	return nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *call) createItem() {
	op := c.req.Op
	items := op.child("Items")
	if items == nil {
		writeFault(c.w, schemaAt(op, "The element 'CreateItem' in namespace '"+nsMessages+"' has incomplete content. List of possible elements expected: 'Items'."))
		return
	}
	inv, hasInv := op.attr("SendMeetingInvitations")
	if hasInv && !slices.Contains(sendInvitations, inv) {
		writeFault(c.w, schemaAt(op, "The 'SendMeetingInvitations' attribute is invalid - The value '"+inv+"' is invalid according to its datatype '"+nsTypes+":CalendarItemCreateOrDeleteOperationType' - The Enumeration constraint failed."))
		return
	}
	if sf := op.child("SavedItemFolderId"); sf != nil {
		if d := sf.child("DistinguishedFolderId"); d != nil {
			if id, _ := d.attr("Id"); !slices.Contains(distinguished, id) {
				writeFault(c.w, schemaAt(d, "The 'Id' attribute is invalid - The value '"+id+"' is invalid according to its datatype '"+nsTypes+":DistinguishedFolderIdNameType' - The Enumeration constraint failed."))
				return
			}
		}
	}
	for _, it := range items.Kids {
		if it.Local == "CalendarItem" {
			if f := checkCalendarItem(it); f != nil {
				writeFault(c.w, *f)
				return
			}
		}
	}
	var b strings.Builder
	b.WriteString(`<m:CreateItemResponse` + respOpen + `><m:ResponseMessages>`)
	const el, trailer = "CreateItemResponseMessage", "<m:Items/>"
	for _, it := range items.Kids {
		if it.Local != "CalendarItem" {
			b.WriteString(itemError{Code: "ErrorInvalidRequest", Text: "The request is invalid: this server accepts only calendar items."}.xml(el, trailer))
			continue
		}
		if !hasInv {
			b.WriteString(errSendInvitations.xml(el, trailer))
			continue
		}
		if e := c.mailboxError(); e != nil {
			b.WriteString(e.xml(el, trailer))
			continue
		}
		key := strings.ToLower(c.mbx.Address)
		itm := &item{
			ID:        base64.StdEncoding.EncodeToString([]byte("AAMkITEM|" + key + "|" + randomID(12))),
			ChangeKey: "DwAAABYAAAA" + randomID(8),
			Subject:   it.child("Subject").text(),
		}
		c.s.mu.Lock()
		c.s.items[key] = append(c.s.items[key], itm)
		c.s.mu.Unlock()
		b.WriteString(`<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem>`)
		b.WriteString(`<t:ItemId Id="` + itm.ID + `" ChangeKey="` + itm.ChangeKey + `"/></t:CalendarItem></m:Items></m:CreateItemResponseMessage>`)
	}
	b.WriteString(`</m:ResponseMessages></m:CreateItemResponse>`)
	c.reply(b.String())
}

func (c *call) deleteItem() {
	op := c.req.Op
	dt, ok := op.attr("DeleteType")
	if !ok || (dt != "HardDelete" && dt != "SoftDelete" && dt != "MoveToDeletedItems") {
		writeFault(c.w, schemaAt(op, "The 'DeleteType' attribute is missing or invalid; expected HardDelete, SoftDelete or MoveToDeletedItems."))
		return
	}
	cancel, hasCancel := op.attr("SendMeetingCancellations")
	if hasCancel && !slices.Contains(sendInvitations, cancel) {
		writeFault(c.w, schemaAt(op, "The 'SendMeetingCancellations' attribute is invalid - The value '"+cancel+"' is invalid according to its datatype '"+nsTypes+":CalendarItemCreateOrDeleteOperationType' - The Enumeration constraint failed."))
		return
	}
	ids := op.child("ItemIds")
	if ids == nil || len(ids.Kids) == 0 {
		writeFault(c.w, schemaAt(op, "The element 'DeleteItem' in namespace '"+nsMessages+"' has incomplete content. List of possible elements expected: 'ItemIds'."))
		return
	}
	var b strings.Builder
	b.WriteString(`<m:DeleteItemResponse` + respOpen + `><m:ResponseMessages>`)
	const el = "DeleteItemResponseMessage"
	for _, k := range ids.Kids {
		if e := c.mailboxError(); e != nil {
			b.WriteString(e.xml(el, ""))
			continue
		}
		id, _ := k.attr("Id")
		owner, _, ok := parseSimID(id, "AAMkITEM")
		if k.Local != "ItemId" || !ok {
			b.WriteString(errInvalidIDMalformed.xml(el, ""))
			continue
		}
		key := strings.ToLower(c.mbx.Address)
		if owner != key {
			b.WriteString(errItemNotFound.xml(el, ""))
			continue
		}
		c.s.mu.Lock()
		list := c.s.items[key]
		i := slices.IndexFunc(list, func(x *item) bool { return x.ID == id })
		switch {
		case i < 0:
			c.s.mu.Unlock()
			b.WriteString(errItemNotFound.xml(el, ""))
			continue
		case !hasCancel:
			c.s.mu.Unlock()
			b.WriteString(errSendCancellations.xml(el, ""))
			continue
		}
		c.s.items[key] = slices.Delete(list, i, i+1)
		if len(c.s.items[key]) == 0 {
			delete(c.s.items, key)
		}
		c.s.mu.Unlock()
		b.WriteString(`<m:DeleteItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:DeleteItemResponseMessage>`)
	}
	b.WriteString(`</m:ResponseMessages></m:DeleteItemResponse>`)
	c.reply(b.String())
}

// ---------- rooms, ConvertId, ResolveNames ----------

// needs2010 answers ErrorIncorrectSchemaVersion for operations introduced in Exchange 2010.
func (c *call) needs2010() bool {
	v := c.req.Version
	if !c.req.HasVersion || v == "Exchange2007" || v == "Exchange2007_SP1" {
		writeFault(c.w, fault{Code: "ErrorIncorrectSchemaVersion",
			String: "The request is valid but does not specify the correct server version in the RequestServerVersion SOAP header.  Ensure that the RequestServerVersion SOAP header is set with the correct RequestServerVersionValue."})
		return false
	}
	return true
}

func addressXML(name, addr, kind string) string {
	return `<t:Name>` + esc(name) + `</t:Name><t:EmailAddress>` + esc(addr) + `</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>` + kind + `</t:MailboxType>`
}

func (c *call) getRoomLists() {
	if !c.needs2010() {
		return
	}
	var b strings.Builder
	b.WriteString(`<m:GetRoomListsResponse ResponseClass="Success"` + respOpen + `><m:ResponseCode>NoError</m:ResponseCode><m:RoomLists>`)
	for _, rl := range c.s.sc.RoomLists {
		b.WriteString(`<t:Address>` + addressXML(rl.Name, rl.Address, "PublicDL") + `</t:Address>`)
	}
	b.WriteString(`</m:RoomLists></m:GetRoomListsResponse>`)
	c.reply(b.String())
}

func (c *call) getRooms() {
	if !c.needs2010() {
		return
	}
	list := c.req.Op.child("RoomList").child("EmailAddress").text()
	if list == "" {
		writeFault(c.w, schemaAt(c.req.Op, "The element 'GetRooms' in namespace '"+nsMessages+"' has incomplete content. List of possible elements expected: 'RoomList'."))
		return
	}
	i := slices.IndexFunc(c.s.sc.RoomLists, func(rl RoomList) bool { return strings.EqualFold(rl.Address, list) })
	if i < 0 {
		c.reply(`<m:GetRoomsResponse ResponseClass="Error"` + respOpen + `><m:MessageText>` + errNoResults.Text +
			`</m:MessageText><m:ResponseCode>` + errNoResults.Code + `</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetRoomsResponse>`)
		return
	}
	var b strings.Builder
	b.WriteString(`<m:GetRoomsResponse ResponseClass="Success"` + respOpen + `><m:ResponseCode>NoError</m:ResponseCode><m:Rooms>`)
	for _, r := range c.s.sc.RoomLists[i].Rooms {
		m, _, ok := c.s.sc.lookup(r)
		if !ok || m.Hidden {
			continue // hidden from the GAL: GetRooms never returns it
		}
		name := m.Name
		if name == "" {
			name = m.Address
		}
		b.WriteString(`<t:Room><t:Id>` + addressXML(name, m.Address, "Mailbox") + `</t:Id></t:Room>`)
	}
	b.WriteString(`</m:Rooms></m:GetRoomsResponse>`)
	c.reply(b.String())
}

func (c *call) convertID() {
	op := c.req.Op
	dest, ok := op.attr("DestinationFormat")
	src := op.child("SourceIds")
	if !ok || src == nil || len(src.Kids) == 0 {
		writeFault(c.w, schemaAt(op, "The element 'ConvertId' needs a DestinationFormat attribute and SourceIds."))
		return
	}
	var b strings.Builder
	b.WriteString(`<m:ConvertIdResponse` + respOpen + `><m:ResponseMessages>`)
	const el = "ConvertIdResponseMessage"
	for _, k := range src.Kids {
		id, _ := k.attr("Id")
		mbx, _ := k.attr("Mailbox")
		format, _ := k.attr("Format")
		switch {
		case !validSMTP(mbx):
			b.WriteString(errInvalidSMTPItem.xml(el, ""))
			continue
		}
		if _, st, found := c.s.sc.lookup(mbx); !found || st == StateMissing {
			b.WriteString(itemError{Code: "ErrorNonExistentMailbox", Text: "The SMTP address has no mailbox associated with it."}.xml(el, ""))
			continue
		}
		if _, _, ok := parseSimID(id, "AAMkITEM"); !ok {
			if _, _, ok2 := parseSimID(id, "AAMkSIM"); !ok2 || format != "EwsId" {
				b.WriteString(errInvalidIDMalformed.xml(el, ""))
				continue
			}
		}
		b.WriteString(`<m:ConvertIdResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		b.WriteString(`<m:AlternateId xsi:type="t:AlternateIdType" Format="` + esc(dest) + `" Id="` + esc(id) + `" Mailbox="` + esc(mbx) + `"/></m:ConvertIdResponseMessage>`)
	}
	b.WriteString(`</m:ResponseMessages></m:ConvertIdResponse>`)
	c.reply(b.String())
}

func (c *call) resolveNames() {
	q := strings.ToLower(strings.TrimPrefix(c.req.Op.child("UnresolvedEntry").text(), "SMTP:"))
	if q == "" {
		writeFault(c.w, schemaAt(c.req.Op, "The element 'ResolveNames' in namespace '"+nsMessages+"' has incomplete content. List of possible elements expected: 'UnresolvedEntry'."))
		return
	}
	var hits []*Mailbox
	sc := c.s.sc
	sc.prepare()
	for i := range sc.Mailboxes {
		m := &sc.Mailboxes[i]
		if m.Hidden || sc.state[i] == StateMissing {
			continue
		}
		a := strings.ToLower(m.Address)
		if a == q {
			hits = []*Mailbox{m}
			break
		}
		if strings.HasPrefix(a, q) || strings.HasPrefix(strings.ToLower(m.Name), q) {
			hits = append(hits, m)
		}
	}
	const el = "ResolveNamesResponseMessage"
	var b strings.Builder
	b.WriteString(`<m:ResolveNamesResponse` + respOpen + `><m:ResponseMessages>`)
	switch len(hits) {
	case 0:
		b.WriteString(errNoResults.xml(el, ""))
	default:
		if len(hits) > 100 {
			hits = hits[:100]
		}
		if len(hits) == 1 {
			b.WriteString(`<m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		} else {
			b.WriteString(`<m:ResolveNamesResponseMessage ResponseClass="Warning"><m:MessageText>Multiple results were found.</m:MessageText><m:ResponseCode>ErrorNameResolutionMultipleResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>`)
		}
		fmt.Fprintf(&b, `<m:ResolutionSet TotalItemsInView="%d" IncludesLastItemInRange="true">`, len(hits))
		for _, m := range hits {
			name := m.Name
			if name == "" {
				name = m.Address
			}
			b.WriteString(`<t:Resolution><t:Mailbox>` + addressXML(name, m.Address, "Mailbox") + `</t:Mailbox></t:Resolution>`)
		}
		b.WriteString(`</m:ResolutionSet></m:ResolveNamesResponseMessage>`)
	}
	b.WriteString(`</m:ResponseMessages></m:ResolveNamesResponse>`)
	c.reply(b.String())
}
