package graphsim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// reply is one answer, to an HTTP request or a batch item.
type reply struct {
	status  int
	headers map[string]string
	body    any // JSON value; nil for 204
}

const maxBody = 1 << 20

// Graph's messages for the cases the simulator reproduces.
const (
	msgAccessDenied = "Access is denied. Check credentials and try again."
	msgRAOP         = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
	msgNotREST      = "REST API is not yet supported for this mailbox."
	msgThrottled    = "Application is over its MailboxConcurrency limit."
)

// ServeHTTP answers requests under /v1.0/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if sleep(r.Context(), s.cfg.Latency) != nil {
		return
	}
	crid := r.Header.Get("client-request-id")
	if len(crid) > 100 || crid == "" {
		crid = newGUID()
	}
	tok, err := s.verify(r.Header.Get("Authorization"))
	if err != nil {
		s.rejected.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+AudienceAppID+`"`)
		s.write(w, s.errReply(http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error(), crid))
		return
	}
	client := strings.ToLower(tok.client())
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return
	}
	if len(body) > maxBody {
		s.write(w, s.errReply(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request payload is too large.", crid))
		return
	}
	base := "https://" + r.Host
	if r.TLS == nil {
		base = "http://" + r.Host
	}
	if path == "/$batch" || path == "/%24batch" {
		if r.Method != http.MethodPost {
			s.write(w, s.errReply(http.StatusMethodNotAllowed, "BadRequest", "The $batch endpoint takes POST only.", crid))
			return
		}
		s.write(w, s.batch(r.Context(), tok, client, body, base, crid))
		return
	}
	if got, wait := s.take(client, 1); got == 0 {
		s.write(w, s.throttledReply(wait, crid))
		return
	}
	s.write(w, s.handle(r.Context(), tok, r.Method, path, r.URL.RawQuery, body, base, crid))
}

func (s *Sim) write(w http.ResponseWriter, rp reply) {
	h := w.Header()
	for k, v := range rp.headers {
		h.Set(k, v)
	}
	if rp.body == nil {
		w.WriteHeader(rp.status)
		return
	}
	b, _ := json.Marshal(rp.body)
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(rp.status)
	_, _ = w.Write(b)
}

// errReply is Graph's error shape: {"error":{"code","message","innerError":{date,request-id,client-request-id}}}.
func (s *Sim) errReply(status int, code, msg, crid string) reply {
	rid := newGUID()
	return reply{status: status, headers: map[string]string{"request-id": rid, "client-request-id": crid},
		body: map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": map[string]string{
			"date": s.cfg.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": rid, "client-request-id": crid}}}}
}

func (s *Sim) throttledReply(wait int, crid string) reply {
	s.throttled.Add(1)
	rp := s.errReply(http.StatusTooManyRequests, "ApplicationThrottled", msgThrottled, crid)
	rp.headers["Retry-After"] = strconv.Itoa(wait)
	return rp
}

// batch answers POST /v1.0/$batch: each item is authorised and charged on its own, so a
// batch mixes statuses; answers come back in reverse order (Graph promises no order).
func (s *Sim) batch(ctx context.Context, tok *token, client string, body []byte, base, crid string) reply {
	s.batches.Add(1)
	var in struct {
		Requests []struct {
			ID      string            `json:"id"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return s.errReply(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.", crid)
	}
	switch n := len(in.Requests); {
	case n == 0:
		return s.errReply(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.", crid)
	case n > 20:
		return s.errReply(http.StatusBadRequest, "BadRequest", "Batch request cannot have more than 20 requests.", crid)
	}
	ids := map[string]bool{}
	for _, it := range in.Requests {
		if it.ID == "" || ids[it.ID] {
			return s.errReply(http.StatusBadRequest, "BadRequest", "Batch request ids must be unique and non-empty.", crid)
		}
		ids[it.ID] = true
	}
	s.items.Add(int64(len(in.Requests)))
	got, wait := s.take(client, len(in.Requests))
	if got == 0 {
		return s.throttledReply(wait, crid)
	}
	out := make([]map[string]any, 0, len(in.Requests))
	for i, it := range in.Requests {
		var rp reply
		if i >= got {
			rp = s.throttledReply(wait, crid)
		} else {
			p, q, _ := strings.Cut(strings.TrimPrefix(it.URL, "/v1.0"), "?")
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
			rp = s.handle(ctx, tok, strings.ToUpper(it.Method), p, q, it.Body, base, crid)
		}
		item := map[string]any{"id": it.ID, "status": rp.status}
		hdr := map[string]string{}
		for k, v := range rp.headers {
			hdr[k] = v
		}
		if rp.body != nil {
			hdr["Content-Type"] = "application/json"
			item["body"] = rp.body
		}
		item["headers"] = hdr
		out = append(out, item)
	}
	slices.Reverse(out)
	return reply{status: http.StatusOK, body: map[string]any{"responses": out}}
}

// handle answers one request (top level or batch item); path is escaped and starts at
// the version root ("/users/a%40b/calendar").
func (s *Sim) handle(ctx context.Context, tok *token, method, path, rawQuery string, body []byte, base, crid string) reply {
	var seg []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			return s.errReply(http.StatusBadRequest, "BadRequest", "Invalid request URL.", crid)
		}
		seg = append(seg, u)
	}
	switch {
	case len(seg) == 2 && seg[0] == "places" && seg[1] == "microsoft.graph.room" && method == http.MethodGet:
		return s.listRooms(tok, rawQuery, base, crid)
	case len(seg) >= 3 && seg[0] == "users":
		m := s.boxes[strings.ToLower(seg[1])]
		if m == nil {
			return s.errReply(http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", seg[1]), crid)
		}
		switch m.State {
		case StateOnPrem, StateNoLicence:
			return s.errReply(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", msgNotREST, crid)
		case StateUnavailable:
			return s.errReply(http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable.", crid)
		case StateTimeout:
			return s.errReply(http.StatusGatewayTimeout, "GatewayTimeout", "The request timed out.", crid)
		}
		perm, denied := s.access(tok, m, crid)
		if denied != nil {
			return *denied
		}
		switch {
		case len(seg) == 3 && seg[2] == "calendar" && method == http.MethodGet:
			if m.State == StateThrottleOnce && s.throttleOnce(m.Address) {
				s.throttled.Add(1)
				rp := s.errReply(http.StatusTooManyRequests, "ApplicationThrottled", msgThrottled, crid)
				rp.headers["Retry-After"] = strconv.Itoa(s.cfg.RetryAfter)
				return rp
			}
			id := sha256.Sum256([]byte(strings.ToLower(m.Address)))
			return reply{status: http.StatusOK, body: map[string]any{
				"@odata.context": base + "/v1.0/$metadata#users('" + url.PathEscape(m.Address) + "')/calendar(id,name,canEdit,owner)",
				"id":             "AAMkAG" + base64.RawURLEncoding.EncodeToString(id[:18]),
				"name":           "Calendar",
				"canEdit":        perm >= 3,
				"owner":          map[string]string{"name": m.Name, "address": m.Address},
			}}
		case len(seg) == 3 && seg[2] == "events" && method == http.MethodPost:
			if perm < 3 {
				return s.errReply(http.StatusForbidden, "ErrorAccessDenied", msgAccessDenied, crid)
			}
			return s.createEvent(m, body, crid)
		case len(seg) == 4 && seg[2] == "events" && method == http.MethodDelete:
			if perm < 3 {
				return s.errReply(http.StatusForbidden, "ErrorAccessDenied", msgAccessDenied, crid)
			}
			s.mu.Lock()
			ok := s.events[strings.ToLower(m.Address)][seg[3]]
			delete(s.events[strings.ToLower(m.Address)], seg[3])
			s.mu.Unlock()
			if !ok {
				return s.errReply(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.", crid)
			}
			s.deleted.Add(1)
			return reply{status: http.StatusNoContent}
		}
	}
	last := path[strings.LastIndexByte(path, '/')+1:]
	return s.errReply(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", last), crid)
}

func (s *Sim) throttleOnce(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(addr)
	if s.throttle1[k] {
		return false
	}
	s.throttle1[k] = true
	return true
}

// access is Exchange Online's decision for an app-only call on mailbox m: an Application
// Access Policy first ([RAOP]), then the union of the Entra consent (token roles, every
// mailbox) and the RBAC for Applications assignment (its scope only).
func (s *Sim) access(tok *token, m *Mailbox, crid string) (int, *reply) {
	client := strings.ToLower(tok.client())
	addr := strings.ToLower(m.Address)
	app := s.apps[client]
	if pol := s.policy[client]; pol != nil && app != nil {
		member := pol[addr]
		if (app.AccessPolicy.AccessRight == "RestrictAccess") != member {
			rp := s.errReply(http.StatusForbidden, "ErrorAccessDenied", msgRAOP, crid)
			return 0, &rp
		}
	}
	perm := 0
	for _, r := range tok.Roles {
		perm = max(perm, calendarPerm(r))
	}
	if app != nil && app.RBACRole != "" && (app.RBACAll || s.inScope[client][addr]) {
		perm = max(perm, calendarPerm(app.RBACRole))
	}
	if perm == 0 {
		rp := s.errReply(http.StatusForbidden, "ErrorAccessDenied", msgAccessDenied, crid)
		return 0, &rp
	}
	return perm, nil
}

func (s *Sim) createEvent(m *Mailbox, body []byte, crid string) reply {
	var ev struct {
		Subject   string            `json:"subject"`
		Attendees []json.RawMessage `json:"attendees"`
		Start     *struct {
			DateTime string `json:"dateTime"`
		} `json:"start"`
		End *struct {
			DateTime string `json:"dateTime"`
		} `json:"end"`
		IsReminderOn *bool  `json:"isReminderOn"`
		ShowAs       string `json:"showAs"`
	}
	if len(body) == 0 || json.Unmarshal(body, &ev) != nil {
		return s.errReply(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", crid)
	}
	if ev.Start == nil || ev.End == nil {
		return s.errReply(http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. The start and end of the event are required.", crid)
	}
	if len(ev.Attendees) > 0 {
		s.invites.Add(1)
	}
	id := "AAMkAGEv" + strings.ReplaceAll(newGUID(), "-", "")
	s.mu.Lock()
	k := strings.ToLower(m.Address)
	if s.events[k] == nil {
		s.events[k] = map[string]bool{}
	}
	s.events[k][id] = true
	s.mu.Unlock()
	s.created.Add(1)
	reminder := true
	if ev.IsReminderOn != nil {
		reminder = *ev.IsReminderOn
	}
	return reply{status: http.StatusCreated, body: map[string]any{"id": id, "subject": ev.Subject, "isReminderOn": reminder, "showAs": ev.ShowAs}}
}

// listRooms answers /places/microsoft.graph.room (Place.Read.All; hidden rooms not listed),
// paged with $skiptoken and an absolute @odata.nextLink.
func (s *Sim) listRooms(tok *token, rawQuery, base, crid string) reply {
	if !slices.Contains(tok.Roles, RolePlaces) {
		return s.errReply(http.StatusForbidden, "ErrorAccessDenied", msgAccessDenied, crid)
	}
	q, _ := url.ParseQuery(rawQuery)
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	size := s.cfg.PageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 {
		size = min(size, top)
	}
	var visible []*Mailbox
	for _, m := range s.rooms {
		if !m.Hidden {
			visible = append(visible, m)
		}
	}
	skip = min(max(skip, 0), len(visible))
	end := min(skip+size, len(visible))
	val := make([]map[string]any, 0, end-skip)
	for _, m := range visible[skip:end] {
		id := sha256.Sum256([]byte("room:" + strings.ToLower(m.Address)))
		val = append(val, map[string]any{"id": newGUIDFrom(id[:16]), "displayName": m.Name, "emailAddress": m.Address})
	}
	body := map[string]any{"@odata.context": base + "/v1.0/$metadata#places/microsoft.graph.room", "value": val}
	if end < len(visible) {
		body["@odata.nextLink"] = base + "/v1.0/places/microsoft.graph.room?$top=" + strconv.Itoa(size) + "&$skiptoken=" + strconv.Itoa(end)
	}
	return reply{status: http.StatusOK, body: body}
}

func newGUIDFrom(b []byte) string {
	h := fmt.Sprintf("%x", b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
