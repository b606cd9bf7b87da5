package impersonation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"deputy/internal/graph"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// graphProber proves mailboxes through Microsoft Graph with an app-only token: each
// worker call reads up to 20 calendars in one JSON batch, and with the write test creates
// and deletes an event in each readable one (two more batches).
type graphProber struct {
	base  string
	opts  transport.Options // bearer authentication with the Graph token
	write bool
	now   func() time.Time
	sit   graph.Situation
}

func (p *graphProber) BatchSize() int { return graph.MaxBatch }

func (p *graphProber) NewWorker() (Worker, error) {
	hc, err := transport.NewClient(p.opts)
	if err != nil {
		return nil, err
	}
	return &graphWorker{p: p, c: &graph.Client{Base: p.base, HTTP: hc}}, nil
}

type graphWorker struct {
	p *graphProber
	c *graph.Client
}

func batchLabel(ts []Target) string {
	if len(ts) == 1 {
		return ts[0].Address
	}
	return fmt.Sprintf("%s (+%d in the batch)", ts[0].Address, len(ts)-1)
}

func (w *graphWorker) Probe(ctx context.Context, ts []Target) []Attempt {
	atts := make([]Attempt, len(ts))
	reqs := make([]graph.Request, len(ts))
	for k, t := range ts {
		reqs[k] = graph.CalendarRequest(strconv.Itoa(k+1), t.Address)
	}
	start := time.Now()
	resps, err := w.c.Batch(transport.WithStep(ctx, stepFor(ts[0]), batchLabel(ts)), reqs)
	lat := time.Since(start).Milliseconds()
	for k, t := range ts {
		var perr error = err
		var cal *graph.Calendar
		if err == nil {
			cal, perr = graph.ParseCalendar(resps[k])
		}
		if perr != nil {
			atts[k] = graphAttempt(perr, w.p.sit, t.Address)
			atts[k].Mailbox.Read = atts[k].Mailbox.Status
		} else {
			atts[k].Mailbox = result.Mailbox{Status: result.Pass, Class: result.OK, Read: result.Pass, Write: result.Skip}
			if !cal.CanEdit {
				// With RBAC for Applications the token shows no role: canEdit is the only
				// sign, per mailbox, that the grant is read-only.
				atts[k].Mailbox.Message = "readable, but Graph reports canEdit false: the app's grant for this mailbox is read-only (Calendars.Read/ReadBasic); booking or changing meetings needs Calendars.ReadWrite"
			}
		}
		atts[k].Mailbox.Protocol, atts[k].Mailbox.LatencyMs = result.Graph, lat
	}
	if w.p.write && err == nil {
		w.writeTest(ctx, ts, atts)
	}
	return atts
}

// writeTest creates the test event in every readable mailbox of the batch and deletes it
// again. Once the create batch is sent, a cancel no longer cuts it (the events may exist
// before their IDs come back), and the deletes run with their own deadline, so nothing
// is left behind.
func (w *graphWorker) writeTest(ctx context.Context, ts []Target, atts []Attempt) {
	if ctx.Err() != nil {
		return // cancelled already: create nothing
	}
	day := w.p.now().UTC().Truncate(24 * time.Hour).Add(24*time.Hour + 3*time.Hour)
	var creates []graph.Request
	idx := map[string]int{}
	for k, t := range ts {
		if atts[k].Mailbox.Read == result.Pass {
			id := strconv.Itoa(k + 1)
			creates = append(creates, graph.CreateEventRequest(id, t.Address, day))
			idx[id] = k
		}
	}
	if len(creates) == 0 {
		return
	}
	ws := w.p.sit
	ws.Write = true
	fail := func(k int, err error, what string) {
		a := graphAttempt(err, ws, ts[k].Address)
		m := &atts[k].Mailbox
		m.Write, m.Status, m.Class = a.Mailbox.Status, a.Mailbox.Status, a.Mailbox.Class
		m.Code, m.Remediation = a.Mailbox.Code, a.Mailbox.Remediation
		m.Message = what + a.Mailbox.Message
		atts[k].BackOff, atts[k].Overloaded = a.BackOff, a.Overloaded
	}
	cctx, cancel := detached(ctx)
	resps, err := w.c.Batch(transport.WithStep(cctx, result.CheckWrite, batchLabel(ts)), creates)
	cancel()
	var deletes []graph.Request
	for i, rq := range creates {
		k := idx[rq.ID]
		if err != nil {
			fail(k, err, "read works, the write test failed: ")
			continue
		}
		evID, perr := graph.ParseEventID(resps[i])
		if perr != nil {
			fail(k, perr, "read works, the write test failed: ")
			continue
		}
		deletes = append(deletes, graph.DeleteEventRequest(rq.ID, ts[k].Address, evID))
	}
	if len(deletes) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	dres, derr := w.c.Batch(transport.WithStep(dctx, result.CheckWrite, batchLabel(ts)), deletes)
	for i, rq := range deletes {
		k := idx[rq.ID]
		var e error = derr
		if derr == nil {
			if ge := dres[i].Err(); ge != nil {
				e = ge
			}
		}
		if e != nil {
			fail(k, e, "created the test event but could not delete it (delete \""+graph.TestSubject+"\" by hand): ")
			continue
		}
		atts[k].Mailbox.Write = result.Pass
	}
}

// graphAttempt turns whatever a Graph probe hit into a classified attempt.
func graphAttempt(err error, s graph.Situation, address string) Attempt {
	m := result.Mailbox{Status: result.Fail, Class: result.Other, Message: err.Error(), Protocol: result.Graph, Write: result.Skip}
	var a Attempt
	var ge *graph.Error
	switch {
	case errors.As(err, &ge):
		m.Class, m.Code, m.Message = ge.Class, ge.Code, ge.Message
		if m.Code == "" {
			m.Code = strconv.Itoa(ge.Status)
		}
		if m.Message == "" {
			m.Message = ge.Error()
		}
		s.AccessPolicy = ge.AccessPolicyBlocked()
		switch {
		case s.AccessPolicy:
			m.Message += " — an Application Access Policy keeps the app out of this mailbox (out of scope); a newly changed policy can take 30 minutes to hours to apply"
		case ge.Class == result.AccessDenied && s.RBACOnly && !s.Write:
			// The token carries no Calendars permission: the app's only way in is RBAC for
			// Applications, so a refusal means this mailbox is outside its scope.
			m.Class = result.ImpersonationDenied
			m.Message += " — the mailbox is outside the app's RBAC for Applications scope (the token carries no Calendars permission, so the scope is the only grant)"
		case ge.Class == result.NoMailbox:
			m.Message += " — Graph cannot reach this mailbox: on-premises in a hybrid, no Exchange Online licence, or a guest"
		}
		a.BackOff = ge.RetryAfter
		a.Overloaded = ge.Throttled() || ge.Status == http.StatusServiceUnavailable
	case strings.Contains(err.Error(), "getting an access token"):
		m.Class, m.Code = result.AuthFailed, "token"
	default:
		failureBelowProtocol(err, &m)
	}
	m.Status = statusFor(m.Class)
	if m.Status != result.Pass {
		s.Mailbox = address
		m.Remediation = graph.Remediation(m.Class, m.Code, s)
	}
	a.Mailbox = m
	return a
}
