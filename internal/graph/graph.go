// Package graph is Deputy's Microsoft Graph client for the calendar-access proof that
// replaces EWS impersonation in Exchange Online: JSON batching (POST /v1.0/$batch, at most
// 20 requests a batch), a user's calendar, a test event created and deleted, the room
// directory; Graph's error replies classified onto Deputy's result vocabulary with the
// exact fix. It sends requests through an *http.Client built by internal/transport (bearer
// token, verified TLS, counting, redacted traces) and never sees the token itself.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Graph's identity.
const (
	// DefaultBase is the global cloud's Graph root (national clouds have their own).
	DefaultBase = "https://graph.microsoft.com"
	// Scope is the app-only token scope: every application permission consented.
	Scope = "https://graph.microsoft.com/.default"
	// Resource and ResourceAppID are the two forms a Graph token's aud takes.
	Resource      = "https://graph.microsoft.com"
	ResourceAppID = "00000003-0000-0000-c000-000000000000"
	// MaxBatch is Graph's limit of requests in one JSON batch.
	MaxBatch = 20
)

// TestSubject is the subject of the write test's event, so an admin who sees one knows
// what it is.
const TestSubject = "Deputy access test (safe to delete)"

// maxReply bounds what is read of any reply: 20 calendars or a page of rooms are a few
// kilobytes; a hostile or broken server must not exhaust memory.
const maxReply = 4 << 20

// Client talks to Graph v1.0 under Base.
type Client struct {
	// Base is the Graph root without the version, e.g. https://graph.microsoft.com.
	Base string
	// HTTP sends the requests (transport.NewClient with bearer authentication).
	HTTP *http.Client
}

func (c *Client) root() string {
	b := strings.TrimRight(c.Base, "/")
	if b == "" {
		b = DefaultBase
	}
	return b + "/v1.0"
}

// Request is one request of a batch. URL is relative to the version root
// ("/users/a@b/calendar"), as Graph wants it inside a batch.
type Request struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Response is one reply of a batch.
type Response struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Err is the reply as an *Error, or nil for a 2xx reply.
func (r Response) Err() *Error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return ParseError(r.Status, h, r.Body)
}

// Batch sends up to MaxBatch requests as one POST /v1.0/$batch and returns their replies
// in the order of reqs, whatever order Graph answered in. The error is for the batch as a
// whole (*Error for an HTTP error reply, such as 429 for the app or 401 for the token);
// per-request failures are in each Response.
func (c *Client) Batch(ctx context.Context, reqs []Request) ([]Response, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if len(reqs) > MaxBatch {
		return nil, fmt.Errorf("graph: %d requests in one batch; Graph takes at most %d", len(reqs), MaxBatch)
	}
	pos := make(map[string]int, len(reqs))
	for i, r := range reqs {
		if r.ID == "" {
			return nil, errors.New("graph: batch request without an id")
		}
		if _, dup := pos[r.ID]; dup {
			return nil, fmt.Errorf("graph: duplicate batch request id %q", r.ID)
		}
		if r.Body != nil && r.Headers["Content-Type"] == "" {
			h := map[string]string{"Content-Type": "application/json"}
			for k, v := range r.Headers {
				h[k] = v
			}
			reqs[i].Headers = h
		}
		pos[r.ID] = i
	}
	body, err := json.Marshal(struct {
		Requests []Request `json:"requests"`
	}{reqs})
	if err != nil {
		return nil, fmt.Errorf("graph: encoding the batch: %w", err)
	}
	raw, _, err := c.do(ctx, http.MethodPost, c.root()+"/$batch", body)
	if err != nil {
		return nil, err
	}
	var reply struct {
		Responses []Response `json:"responses"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return nil, &Error{Status: http.StatusOK, Code: "InvalidBatchReply", Message: "the $batch reply is not Graph's JSON: " + err.Error(), Class: classOther}
	}
	out := make([]Response, len(reqs))
	got := make([]bool, len(reqs))
	for _, r := range reply.Responses {
		i, ok := pos[r.ID]
		if !ok || got[i] {
			continue // an id we never sent (or twice): ignore rather than misattribute
		}
		out[i], got[i] = r, true
	}
	for i := range out {
		if !got[i] {
			out[i] = Response{ID: reqs[i].ID, Status: 0, Body: missingBody}
		}
	}
	return out, nil
}

// missingBody stands for a batch reply that lacked one request's answer.
var missingBody = json.RawMessage(`{"error":{"code":"MissingBatchResponse","message":"Graph's $batch reply has no answer for this request"}}`)

// do sends one request and returns the body of a 2xx reply, or an *Error.
func (c *Client) do(ctx context.Context, method, u string, body []byte) ([]byte, http.Header, error) {
	if c.HTTP == nil {
		return nil, nil, errors.New("graph: no HTTP client")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("graph: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return nil, resp.Header, fmt.Errorf("graph: reading the reply: %w", err)
	}
	if len(raw) > maxReply {
		return nil, resp.Header, &Error{Status: resp.StatusCode, Code: "ReplyTooLarge", Message: fmt.Sprintf("the reply is larger than %d MiB", maxReply>>20), Class: classOther}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.Header, ParseError(resp.StatusCode, resp.Header, raw)
	}
	return raw, resp.Header, nil
}

// userPath is /users/{address} with the address escaped as one path segment.
func userPath(address string) string { return "/users/" + url.PathEscape(address) }

// CalendarSelect is the $select of the calendar read: enough to prove access (canEdit
// tells read-only grants apart) and nothing more.
const CalendarSelect = "id,name,canEdit,owner"

// CalendarRequest is the batch request that reads address's default calendar.
func CalendarRequest(id, address string) Request {
	return Request{ID: id, Method: http.MethodGet, URL: userPath(address) + "/calendar?$select=" + CalendarSelect}
}

// Calendar is what the calendar read returns.
type Calendar struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	CanEdit bool   `json:"canEdit"`
	Owner   struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"owner"`
}

// ParseCalendar decodes a calendar reply, or returns its *Error.
func ParseCalendar(r Response) (*Calendar, error) {
	if e := r.Err(); e != nil {
		return nil, e
	}
	var cal Calendar
	if err := json.Unmarshal(r.Body, &cal); err != nil {
		return nil, &Error{Status: r.Status, Code: "InvalidReply", Message: "the calendar reply is not JSON: " + err.Error(), Class: classOther}
	}
	return &cal, nil
}

// Calendar reads address's default calendar with one request (outside a batch).
func (c *Client) Calendar(ctx context.Context, address string) (*Calendar, error) {
	raw, _, err := c.do(ctx, http.MethodGet, c.root()+userPath(address)+"/calendar?$select="+CalendarSelect, nil)
	if err != nil {
		return nil, err
	}
	return ParseCalendar(Response{Status: 200, Body: raw})
}

// TestEvent is the write test's event: nobody invited (nothing is sent), no reminder,
// shown as free (it blocks nobody's time) for the 15 minutes after start.
func TestEvent(start time.Time) json.RawMessage {
	dt := func(t time.Time) map[string]string {
		return map[string]string{"dateTime": t.UTC().Format("2006-01-02T15:04:05"), "timeZone": "UTC"}
	}
	b, _ := json.Marshal(map[string]any{
		"subject":      TestSubject,
		"body":         map[string]string{"contentType": "text", "content": "Created by Deputy to prove the app can write to this calendar; it is deleted at once."},
		"start":        dt(start),
		"end":          dt(start.Add(15 * time.Minute)),
		"isReminderOn": false,
		"showAs":       "free",
		"attendees":    []any{},
	})
	return b
}

// CreateEventRequest is the batch request that creates the test event in address's calendar.
func CreateEventRequest(id, address string, start time.Time) Request {
	return Request{ID: id, Method: http.MethodPost, URL: userPath(address) + "/events", Body: TestEvent(start),
		Headers: map[string]string{"Content-Type": "application/json"}}
}

// DeleteEventRequest is the batch request that deletes event eventID from address's mailbox.
func DeleteEventRequest(id, address, eventID string) Request {
	return Request{ID: id, Method: http.MethodDelete, URL: userPath(address) + "/events/" + url.PathEscape(eventID)}
}

// ParseEventID returns the id of a created event, or the reply's *Error.
func ParseEventID(r Response) (string, error) {
	if e := r.Err(); e != nil {
		return "", e
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &ev); err != nil || ev.ID == "" {
		return "", &Error{Status: r.Status, Code: "InvalidReply", Message: "the created event has no id", Class: classOther}
	}
	return ev.ID, nil
}

// CreateEvent creates the test event in address's calendar (outside a batch).
func (c *Client) CreateEvent(ctx context.Context, address string, start time.Time) (string, error) {
	raw, _, err := c.do(ctx, http.MethodPost, c.root()+userPath(address)+"/events", TestEvent(start))
	if err != nil {
		return "", err
	}
	return ParseEventID(Response{Status: 201, Body: raw})
}

// DeleteEvent deletes an event (outside a batch).
func (c *Client) DeleteEvent(ctx context.Context, address, eventID string) error {
	_, _, err := c.do(ctx, http.MethodDelete, c.root()+userPath(address)+"/events/"+url.PathEscape(eventID), nil)
	return err
}

// Room is one room of the places directory.
type Room struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
}

// maxRoomPages bounds paging: a nextLink loop must end.
const maxRoomPages = 500

// Rooms lists every room (GET /v1.0/places/microsoft.graph.room, following
// @odata.nextLink). It needs Place.Read.All; rooms hidden from the address list are not
// listed by Graph. A nextLink to another host is refused: the bearer token must not leave
// for a host the profile did not name.
func (c *Client) Rooms(ctx context.Context) ([]Room, error) {
	base, err := url.Parse(c.root())
	if err != nil {
		return nil, fmt.Errorf("graph: base URL: %w", err)
	}
	next := c.root() + "/places/microsoft.graph.room?$select=id,displayName,emailAddress&$top=100"
	var out []Room
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if page == maxRoomPages || seen[next] {
			return out, fmt.Errorf("graph: room paging did not end after %d pages", page)
		}
		seen[next] = true
		raw, _, err := c.do(ctx, http.MethodGet, next, nil)
		if err != nil {
			return out, err
		}
		var reply struct {
			Value    []Room `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(raw, &reply); err != nil {
			return out, &Error{Status: 200, Code: "InvalidReply", Message: "the rooms reply is not JSON: " + err.Error(), Class: classOther}
		}
		out = append(out, reply.Value...)
		next = ""
		if reply.NextLink != "" {
			u, err := url.Parse(reply.NextLink)
			if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
				return out, fmt.Errorf("graph: refusing @odata.nextLink to another host (%s)", redactURL(reply.NextLink))
			}
			next = u.String()
		}
	}
	return out, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "unparsable URL"
	}
	return u.Scheme + "://" + u.Host
}

// retryAfter parses a Retry-After header: delta seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}
