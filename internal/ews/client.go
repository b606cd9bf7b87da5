// Package ews is Deputy's Exchange Web Services SOAP client: the handful of operations
// the diagnosis needs (GetFolder, CreateItem/DeleteItem of a calendar item, GetRoomLists,
// GetRooms, ConvertId), each optionally impersonating a mailbox, and a tolerant parser
// that turns any reply of an EWS endpoint — success, per-item error, SOAP fault, HTTP
// failure, HTML login page — into a classified *Error.
//
// It does no authentication and no TLS itself: Client.HTTP (built by internal/transport)
// does. It never logs or returns request or response bodies.
package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"deputy"
	"deputy/internal/result"
)

// Client talks to one EWS endpoint. The zero value is unusable; set URL. Concurrent use
// is safe. One Client per worker is the NTLM-friendly pattern (HTTP bound to one
// connection), all sharing one *Version.
type Client struct {
	URL     string       // e.g. https://mail.contoso.com/EWS/Exchange.asmx
	HTTP    *http.Client // nil = http.DefaultClient
	Version *Version     // nil = DefaultVersion, never stepping down
	MaxBody int64        // bytes of reply to read at most; 0 = DefaultMaxBody

	mu     sync.Mutex
	server ServerVersion
}

// CalendarItem is the write-test appointment.
type CalendarItem struct {
	Subject, Body string
	Start, End    time.Time
}

// ServerVersion is the ServerVersionInfo of the last reply that carried one.
func (c *Client) ServerVersion() ServerVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// GetFolder binds distinguished folders (default msgfolderroot) of the account itself
// (as == "") or of the mailbox as (SMTP address) through ExchangeImpersonation. Folders
// that succeeded are returned even when another failed; the error is the first failure.
func (c *Client) GetFolder(ctx context.Context, as string, folderIDs ...string) ([]Folder, error) {
	if len(folderIDs) == 0 {
		folderIDs = []string{"msgfolderroot"}
	}
	for _, id := range folderIDs {
		if !distinguished[id] {
			return nil, fmt.Errorf("%w: %q is not a distinguished folder id of EWS (e.g. msgfolderroot, calendar, inbox)", ErrInput, id)
		}
	}
	resp, err := c.call(ctx, "GetFolder", as, getFolderBody(folderIDs))
	if resp == nil {
		return nil, err
	}
	var out []Folder
	for i, m := range resp.Messages {
		if m.Class == "Error" {
			continue
		}
		for _, f := range m.Folders {
			if i < len(folderIDs) && len(resp.Messages) == len(folderIDs) {
				f.DistinguishedID = folderIDs[i]
			}
			out = append(out, f)
		}
	}
	if err == nil && len(out) == 0 {
		err = c.shapeError(resp, "GetFolder reply holds no folder")
	}
	return out, err
}

// CreateCalendarItem creates a private, free, reminder-less appointment in the calendar
// without sending invitations, and returns its id.
func (c *Client) CreateCalendarItem(ctx context.Context, as string, it CalendarItem) (ItemID, error) {
	switch {
	case it.Start.IsZero() || it.End.IsZero():
		return ItemID{}, fmt.Errorf("%w: calendar item needs a start and an end", ErrInput)
	case !it.End.After(it.Start):
		return ItemID{}, fmt.Errorf("%w: calendar item ends (%s) before it starts (%s)", ErrInput, ewsTime(it.End), ewsTime(it.Start))
	}
	if err := checkText("subject", it.Subject); err != nil {
		return ItemID{}, err
	}
	if err := checkText("body", it.Body); err != nil {
		return ItemID{}, err
	}
	resp, err := c.call(ctx, "CreateItem", as, createCalendarItemBody(it))
	if err != nil {
		return ItemID{}, err
	}
	for _, m := range resp.Messages {
		for _, id := range m.Items {
			if id.ID != "" {
				return id, nil
			}
		}
	}
	return ItemID{}, c.shapeError(resp, "CreateItem reply holds no ItemId")
}

// DeleteItem hard-deletes an item without sending cancellations.
func (c *Client) DeleteItem(ctx context.Context, as string, id ItemID) error {
	if id.ID == "" {
		return fmt.Errorf("%w: DeleteItem needs an item id", ErrInput)
	}
	if err := checkText("item id", id.ID+id.ChangeKey); err != nil {
		return err
	}
	_, err := c.call(ctx, "DeleteItem", as, deleteItemBody(id))
	return err
}

// GetRoomLists returns the organisation's room lists (none defined → empty, no error).
func (c *Client) GetRoomLists(ctx context.Context) ([]Address, error) {
	return c.GetRoomListsAs(ctx, "")
}

// GetRoomListsAs is GetRoomLists impersonating as: address-book operations run in the
// context of the caller's mailbox, so a service account without one can borrow a user's.
func (c *Client) GetRoomListsAs(ctx context.Context, as string) ([]Address, error) {
	resp, err := c.call(ctx, "GetRoomLists", as, getRoomListsBody)
	if err != nil {
		return nil, err
	}
	return addresses(resp), nil
}

// GetRooms returns the rooms of one room list (its SMTP address).
func (c *Client) GetRooms(ctx context.Context, list string) ([]Address, error) {
	return c.GetRoomsAs(ctx, "", list)
}

// GetRoomsAs is GetRooms impersonating as (see GetRoomListsAs).
func (c *Client) GetRoomsAs(ctx context.Context, as, list string) ([]Address, error) {
	if err := checkMailbox("room list address", list); err != nil {
		return nil, err
	}
	resp, err := c.call(ctx, "GetRooms", as, getRoomsBody(list))
	if err != nil {
		return nil, err
	}
	return addresses(resp), nil
}

// probeMailbox is the placeholder ConvertId names when the caller gives none; .invalid
// can never be a real domain (RFC 2606).
const probeMailbox = "deputy-probe@example.invalid"

// ConvertId is the cheapest authenticated round trip: it converts a deliberately bogus
// id, so a server that accepted the credentials answers HTTP 200 with a per-item error,
// which counts as success here. An error means authentication, transport or the
// endpoint failed. mailbox (optional) is the Mailbox attribute sent.
func (c *Client) ConvertId(ctx context.Context, mailbox ...string) error {
	mb := probeMailbox
	if len(mailbox) > 0 && mailbox[0] != "" {
		mb = mailbox[0]
	}
	if err := checkText("mailbox", mb); err != nil {
		return err
	}
	_, err := c.call(ctx, "ConvertId", "", convertIDBody(mb))
	var e *Error
	if errors.As(err, &e) && !e.Fault && e.HTTPStatus == http.StatusOK && e.Operation == "ConvertId" {
		return nil // the per-item conversion error we provoked
	}
	return err
}

func addresses(r *Response) []Address {
	var out []Address
	for _, m := range r.Messages {
		out = append(out, m.Addresses...)
	}
	return out
}

func (c *Client) shapeError(r *Response, msg string) error {
	return &Error{HTTPStatus: r.HTTPStatus, Code: "NoError", Operation: r.Operation, Class: result.Other,
		Message: msg + " — an unexpected reply shape"}
}

// call sends one operation, stepping RequestServerVersion down while the server rejects
// it as a version problem. A server-wide rejection steps the shared Version (every worker
// profits); ErrorInvalidSchemaVersionForMailboxVersion is about one mailbox on an older
// server, so only this request steps down and the others keep the newer schema.
func (c *Client) call(ctx context.Context, op, as string, body func(*bytes.Buffer)) (*Response, error) {
	if as != "" {
		if err := checkMailbox("impersonated mailbox", as); err != nil {
			return nil, err
		}
	}
	v := c.Version.Get()
	for range len(ladder) + 2 {
		resp, err := c.roundTrip(ctx, op, as, v, envelope(v, as, body))
		if err == nil || !isVersionError(err) {
			return resp, err
		}
		if err.(*Error).Code == "ErrorInvalidSchemaVersionForMailboxVersion" {
			next, ok := nextRung(v)
			if !ok {
				return resp, err
			}
			v = next
			continue
		}
		if !c.Version.StepDown(v) {
			return resp, err
		}
		v = c.Version.Get()
	}
	return nil, fmt.Errorf("ews %s: RequestServerVersion kept changing; giving up", op)
}

func (c *Client) roundTrip(ctx context.Context, op, as, version string, payload []byte) (*Response, error) {
	if c.URL == "" {
		return nil, fmt.Errorf("%w: no EWS URL", ErrInput)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%w: EWS URL %q: %v", ErrInput, c.URL, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	req.Header.Set("User-Agent", "Deputy/"+deputy.Version)
	if as != "" {
		// Routes the request to the mailbox's server; without it Exchange proxies
		// and may answer 500/503 or time out (domain.md §1.4).
		req.Header.Set("X-AnchorMailbox", as)
	}
	hc := http.DefaultClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	// EWS never redirects a POST; following one would turn it into a GET of a login
	// page and hide the redirect, so the 3xx itself is what Parse classifies.
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	res, err := noRedirect.Do(req)
	if err != nil {
		return nil, transportError(ctx, op, version, err)
	}
	max := c.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	body, readErr := io.ReadAll(io.LimitReader(res.Body, max+1))
	tooBig := int64(len(body)) > max
	if !tooBig && readErr == nil {
		// Drain a little so the connection (and its NTLM authentication) is reused.
		_, _ = io.CopyN(io.Discard, res.Body, 4<<10)
	}
	res.Body.Close()
	if tooBig {
		return nil, &Error{HTTPStatus: res.StatusCode, Code: httpCode(res.StatusCode), Operation: op, Version: version,
			Class: result.Other, ContentType: res.Header.Get("Content-Type"),
			Message: fmt.Sprintf("response larger than %s — not a normal EWS reply", mib(max))}
	}
	if readErr != nil {
		return nil, transportError(ctx, op, version, readErr)
	}
	resp, err := parse(res.StatusCode, res.Header, body, max)
	var e *Error
	if errors.As(err, &e) {
		e.Operation = op // what we asked, whatever the reply's element says
		e.Version = version
	}
	if resp != nil && !resp.Server.IsZero() {
		c.mu.Lock()
		c.server = resp.Server
		c.mu.Unlock()
	}
	if err == nil && (resp == nil || len(resp.Messages) == 0) {
		// A SOAP envelope with nothing in it: something between us and EWS answered.
		err = &Error{HTTPStatus: res.StatusCode, Code: httpCode(res.StatusCode), Operation: op, Version: version,
			Class: result.Other, Message: "SOAP reply without any ResponseMessage — not what EWS sends"}
	}
	return resp, err
}

// transportError classifies failures below HTTP. Cancellation keeps context.Canceled
// reachable through errors.Is.
func transportError(ctx context.Context, op, version string, err error) error {
	e := &Error{Operation: op, Version: version, Err: err, Code: "connection", Class: result.Transient}
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		e.Code, e.Err = "cancelled", fmt.Errorf("%w (%v)", ctx.Err(), err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Code, e.Class = "timeout", result.Transient
		}
	case errors.As(err, &ne) && ne.Timeout():
		e.Code = "timeout"
	case isTLSError(err):
		// Not worth a retry: the certificate will be as wrong the next time.
		e.Code, e.Class = "tls", result.Other
	}
	e.Message = clean(err.Error(), 300)
	return e
}

func isTLSError(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		re tls.RecordHeaderError
	)
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &re) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "tls: ") || strings.Contains(s, "x509: ")
}
