package impersonation

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"deputy/internal/ews"
	"deputy/internal/result"
	"deputy/internal/setup"
	"deputy/internal/transport"
)

// ewsProber proves mailboxes through EWS impersonation: GetFolder of msgfolderroot and
// calendar as the mailbox, and with the write test a calendar item created and
// hard-deleted.
type ewsProber struct {
	url       string
	opts      transport.Options
	version   *ews.Version
	write     bool
	now       func() time.Time
	situation setup.Situation
	// last keeps the most recent worker's client for the server version.
	last *ews.Client
}

func (p *ewsProber) BatchSize() int { return 1 }

func (p *ewsProber) NewWorker() (Worker, error) {
	hc, err := transport.NewClient(p.opts) // one per worker: NTLM is bound to its connection
	if err != nil {
		return nil, err
	}
	c := &ews.Client{URL: p.url, HTTP: hc, Version: p.version}
	p.last = c
	return &ewsWorker{p: p, c: c}, nil
}

type ewsWorker struct {
	p *ewsProber
	c *ews.Client
}

// probeFolders are the folders a scheduling or sync product touches first.
var probeFolders = []string{"msgfolderroot", "calendar"}

func (w *ewsWorker) Probe(ctx context.Context, ts []Target) []Attempt {
	t := ts[0]
	ctx = transport.WithStep(ctx, stepFor(t), t.Address)
	m := result.Mailbox{Protocol: result.EWS, Read: result.Skip, Write: result.Skip}
	start := time.Now()
	_, err := w.c.GetFolder(ctx, t.Address, probeFolders...)
	m.LatencyMs = time.Since(start).Milliseconds()
	if err != nil {
		a := attemptFromError(err, w.p.situation, t.Address)
		a.Mailbox.Protocol, a.Mailbox.LatencyMs = m.Protocol, m.LatencyMs
		a.Mailbox.Read, a.Mailbox.Write = a.Mailbox.Status, result.Skip
		return []Attempt{a}
	}
	m.Read, m.Status, m.Class = result.Pass, result.Pass, result.OK
	if w.p.write {
		if err := w.writeTest(ctx, t.Address); err != nil {
			a := attemptFromError(err, w.p.situation, t.Address)
			m.Write, m.Status, m.Class = a.Mailbox.Status, a.Mailbox.Status, a.Mailbox.Class
			m.Code, m.Remediation = a.Mailbox.Code, a.Mailbox.Remediation
			m.Message = "read works, the write test failed: " + a.Mailbox.Message
			return []Attempt{{Mailbox: m, BackOff: a.BackOff, Overloaded: a.Overloaded}}
		}
		m.Write = result.Pass
	}
	return []Attempt{{Mailbox: m}}
}

func stepFor(t Target) string {
	if t.Kind == result.KindRoom {
		return result.CheckRooms
	}
	return result.CheckImpersonation
}

// writeTimeout bounds each half of a write test (create, delete) once it runs detached
// from the run's cancellation.
const writeTimeout = 15 * time.Second

// detached is ctx without its cancellation but with its deadline (writeTimeout when it
// has none) and values: for a request that, once sent, must be seen through.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, dl)
	}
	return context.WithTimeout(d, writeTimeout)
}

// writeTest creates a calendar item nobody is invited to and hard-deletes it. Once the
// create is sent, a cancel no longer cuts it: the item may exist before its ID comes
// back, and only that ID lets the delete (which has its own deadline) remove it.
func (w *ewsWorker) writeTest(ctx context.Context, address string) error {
	if err := ctx.Err(); err != nil {
		return err // cancelled already: create nothing
	}
	day := w.p.now().UTC().Truncate(24 * time.Hour).Add(24*time.Hour + 3*time.Hour)
	cctx, cancel := detached(ctx)
	id, err := w.c.CreateCalendarItem(transport.WithStep(cctx, result.CheckWrite, address), address, ews.CalendarItem{
		Subject: "Deputy access test (safe to delete)",
		Body:    "Created by Deputy to prove write access for the service account; it deletes this item at once.",
		Start:   day,
		End:     day.Add(15 * time.Minute),
	})
	cancel()
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	return w.c.DeleteItem(transport.WithStep(dctx, result.CheckWrite, address), address, id)
}

// attemptFromError turns whatever a probe hit into a classified attempt.
func attemptFromError(err error, s setup.Situation, address string) Attempt {
	m := result.Mailbox{Status: result.Fail, Class: result.Other, Message: err.Error()}
	var a Attempt
	var ee *ews.Error
	switch {
	case errors.As(err, &ee):
		m.Class, m.Code, m.Message = ee.Class, ee.Code, ee.Message
		if m.Message == "" {
			m.Message = ee.Error()
		}
		a.BackOff = ee.BackOff
		a.Overloaded = ee.Code == "ErrorServerBusy" || ee.Code == "ErrorExceededConnectionCount" ||
			ee.HTTPStatus == http.StatusServiceUnavailable || ee.HTTPStatus == http.StatusTooManyRequests
	default:
		failureBelowProtocol(err, &m)
	}
	m.Status = statusFor(m.Class)
	if m.Status != result.Pass {
		m.Remediation = remediation(m.Class, m.Code, s, address)
	}
	a.Mailbox = m
	return a
}

// failureBelowProtocol classifies what failed under EWS or Graph: TLS, timeouts,
// cancellation, the network. Anything else stays as m says (other).
func failureBelowProtocol(err error, m *result.Mailbox) {
	var te *transport.TLSError
	var ne net.Error
	switch {
	case errors.As(err, &te):
		m.Class, m.Code = result.Other, "tls"
	case errors.Is(err, context.DeadlineExceeded):
		m.Class, m.Code, m.Message = result.Transient, "timeout", "no answer before the per-request timeout"
	case errors.Is(err, context.Canceled):
		m.Class, m.Code, m.Message = result.Transient, "cancelled", "cancelled"
	case errors.As(err, &ne):
		m.Class, m.Code = result.Transient, "network"
	}
}

// statusFor: a mailbox we could not verify because the server was busy or in transition
// is a warning (try again later), not proof of a broken setup.
func statusFor(c result.Class) result.Status {
	switch c {
	case result.OK:
		return result.Pass
	case result.Throttled, result.Transient:
		return result.Warn
	}
	return result.Fail
}

func remediation(c result.Class, code string, s setup.Situation, address string) string {
	s.Mailbox = address
	return setup.Remediation(c, code, s)
}
