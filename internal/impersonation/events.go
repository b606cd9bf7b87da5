package impersonation

import "deputy/internal/result"

// EventKind says what an Event reports.
type EventKind int

const (
	CheckStarted EventKind = iota
	CheckFinished
	MailboxFinished
)

// Event is a progress report. Observers are called from runner goroutines, concurrently:
// they must be quick and safe for concurrent use (the window coalesces them to ≤ 10 Hz).
type Event struct {
	Kind    EventKind
	Check   *result.Check   // CheckStarted (ID and Title only) and CheckFinished
	Mailbox *result.Mailbox // MailboxFinished
	// Mailbox progress of the running check.
	Done, Total, Passed, Failed int
	Rate                        float64 // mailboxes per second since the check started
}

// Observer receives progress events.
type Observer interface{ Observe(Event) }

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

func (f ObserverFunc) Observe(e Event) { f(e) }

type nopObserver struct{}

func (nopObserver) Observe(Event) {}
