package ui

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// FlushInterval is how often the window takes in progress: at most 10 UI updates a second,
// however fast the runner reports.
const FlushInterval = 100 * time.Millisecond

// Progress is the state of the running check's mailbox loop.
type Progress struct {
	Check                       string // title of the running check
	Done, Total, Passed, Failed int
	Rate                        float64 // mailboxes per second
}

// Fraction is Done/Total in 0..1.
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	return math.Min(1, float64(p.Done)/float64(p.Total))
}

// ETA is the expected time left at the current rate; 0 when unknown or done.
func (p Progress) ETA() time.Duration {
	if p.Rate <= 0 || p.Done >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second)).Round(time.Second)
}

// Text is the line under the progress bar.
func (p Progress) Text() string {
	if p.Total == 0 {
		if p.Check != "" {
			return p.Check + "…"
		}
		return ""
	}
	s := fmt.Sprintf("%s / %s mailboxes", thousands(p.Done), thousands(p.Total))
	if p.Failed > 0 {
		s += fmt.Sprintf(" · %s failed", thousands(p.Failed))
	}
	if p.Rate > 0 {
		s += fmt.Sprintf(" · %.1f/s", p.Rate)
	}
	if eta := p.ETA(); eta > 0 {
		s += " · ETA " + eta.String()
	}
	return s
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// RunUpdate is what a run reported since the previous update.
type RunUpdate struct {
	Checks    []result.Check   // started or finished checks, latest state, first-seen order
	Mailboxes []result.Mailbox // finished mailboxes, in report order
	Progress  Progress
}

// Coalescer is the one adapter between the runner's events and the window: it is an
// impersonation.Observer (called from many goroutines) that accumulates events and hands
// them to the UI in batches, at most once per tick.
type Coalescer struct {
	apply func(RunUpdate) // runs on the UI goroutine
	do    func(func())    // fyne.Do in the window

	mu       sync.Mutex
	pending  RunUpdate
	checkIdx map[string]int
	dirty    bool
	progress Progress
}

// NewCoalescer returns an adapter that calls apply through do (fyne.Do in the window).
func NewCoalescer(apply func(RunUpdate), do func(func())) *Coalescer {
	return &Coalescer{apply: apply, do: do, checkIdx: map[string]int{}}
}

// Observe implements impersonation.Observer; it only records and never touches the UI.
func (c *Coalescer) Observe(ev impersonation.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case impersonation.CheckStarted, impersonation.CheckFinished:
		if ev.Check == nil {
			return
		}
		ch := *ev.Check // the runner may reuse its memory
		ch.Evidence = append([]string(nil), ch.Evidence...)
		if i, ok := c.checkIdx[ch.ID]; ok {
			c.pending.Checks[i] = ch
		} else {
			c.checkIdx[ch.ID] = len(c.pending.Checks)
			c.pending.Checks = append(c.pending.Checks, ch)
		}
		if ev.Kind == impersonation.CheckStarted {
			c.progress = Progress{Check: ch.Title}
		}
	case impersonation.MailboxFinished:
		if ev.Mailbox != nil {
			c.pending.Mailboxes = append(c.pending.Mailboxes, *ev.Mailbox)
		}
		c.progress.Done, c.progress.Total = ev.Done, ev.Total
		c.progress.Passed, c.progress.Failed, c.progress.Rate = ev.Passed, ev.Failed, ev.Rate
	default:
		return
	}
	c.dirty = true
}

// Flush hands everything recorded since the last flush to the UI, if anything was.
func (c *Coalescer) Flush() {
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return
	}
	u := c.pending
	u.Progress = c.progress
	c.pending = RunUpdate{}
	clear(c.checkIdx)
	c.dirty = false
	c.mu.Unlock()
	c.do(func() { c.apply(u) })
}

// Run flushes on every tick until ctx ends, then flushes what is left and returns.
func (c *Coalescer) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-tick:
			c.Flush()
		case <-ctx.Done():
			c.Flush()
			return
		}
	}
}
