package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// TestCoalescerBoundsUpdates drives the adapter with a manual tick channel: however many
// events arrive from however many goroutines, the UI is updated at most once per tick
// (the window ticks every 100 ms, so at most 10 updates a second), and nothing is lost.
func TestCoalescerBoundsUpdates(t *testing.T) {
	for _, tc := range []struct{ events, workers, ticks int }{
		{10000, 27, 3}, {500, 4, 10}, {1, 1, 5}, {0, 1, 4},
	} {
		t.Run(fmt.Sprintf("%d events, %d ticks", tc.events, tc.ticks), func(t *testing.T) {
			var mu sync.Mutex
			var applied int
			var got []result.Mailbox
			var last Progress
			c := NewCoalescer(func(u RunUpdate) {
				mu.Lock()
				defer mu.Unlock()
				applied++
				got = append(got, u.Mailboxes...)
				last = u.Progress
			}, func(f func()) { f() })

			tick := make(chan time.Time)
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { c.Run(ctx, tick); close(done) }()

			c.Observe(impersonation.Event{Kind: impersonation.CheckStarted, Check: &result.Check{ID: "impersonation", Title: "Impersonation"}})
			var wg sync.WaitGroup
			per := tc.events / tc.workers
			for w := 0; w < tc.workers; w++ {
				n := per
				if w == 0 {
					n += tc.events - per*tc.workers
				}
				wg.Add(1)
				go func(w, n int) {
					defer wg.Done()
					for i := 0; i < n; i++ {
						m := result.Mailbox{Address: fmt.Sprintf("w%d-%d@contoso.com", w, i), Status: result.Pass}
						c.Observe(impersonation.Event{Kind: impersonation.MailboxFinished, Mailbox: &m, Done: 1, Total: tc.events})
					}
				}(w, n)
			}
			for i := 0; i < tc.ticks; i++ {
				tick <- time.Now()
			}
			wg.Wait()
			stop()
			<-done

			if max := tc.ticks + 1; applied > max {
				t.Fatalf("%d UI updates for %d ticks; at most %d allowed", applied, tc.ticks, max)
			}
			if applied == 0 {
				t.Fatal("no UI update at all: the check start was lost")
			}
			if len(got) != tc.events {
				t.Fatalf("UI received %d mailboxes, want %d", len(got), tc.events)
			}
			seen := map[string]bool{}
			for _, m := range got {
				if seen[m.Address] {
					t.Fatalf("%s delivered twice", m.Address)
				}
				seen[m.Address] = true
			}
			if tc.events > 0 && last.Total != tc.events {
				t.Errorf("last progress total %d, want %d", last.Total, tc.events)
			}
		})
	}
}

// TestCoalescerIdleTicks: ticks with nothing new do not touch the UI.
func TestCoalescerIdleTicks(t *testing.T) {
	var applied int
	c := NewCoalescer(func(RunUpdate) { applied++ }, func(f func()) { f() })
	for range 50 {
		c.Flush()
	}
	if applied != 0 {
		t.Fatalf("%d updates without events", applied)
	}
	c.Observe(impersonation.Event{Kind: impersonation.CheckFinished, Check: &result.Check{ID: "tls", Status: result.Pass}})
	c.Observe(impersonation.Event{Kind: impersonation.CheckFinished, Check: &result.Check{ID: "tls", Status: result.Fail}})
	var u RunUpdate
	c.apply = func(x RunUpdate) { applied++; u = x }
	c.Flush()
	c.Flush()
	if applied != 1 || len(u.Checks) != 1 || u.Checks[0].Status != result.Fail {
		t.Fatalf("two reports of one check should arrive as one update with the latest state; got %d updates, %+v", applied, u.Checks)
	}
}

func TestProgressText(t *testing.T) {
	tests := []struct {
		p    Progress
		want string
	}{
		{Progress{}, ""},
		{Progress{Check: "Connecting"}, "Connecting…"},
		{Progress{Done: 1234, Total: 10000, Rate: 100}, "1,234 / 10,000 mailboxes · 100.0/s · ETA 1m28s"},
		{Progress{Done: 10, Total: 10, Failed: 2, Rate: 5}, "10 / 10 mailboxes · 2 failed · 5.0/s"},
	}
	for _, tt := range tests {
		if got := tt.p.Text(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}
