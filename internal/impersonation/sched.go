package impersonation

import (
	"context"
	"sync"
	"time"
)

// sched is the runner's work queue and its adaptive concurrency limit in one place, so a
// worker parked by the limit also wakes when the run ends or is cancelled.
//
// Concurrency: worker slot s may take work only while s < limit. An overloaded reply
// (ErrorServerBusy, ErrorExceededConnectionCount) cuts the limit to three quarters — at
// most once per cutCooldown, since replies already in flight report the same overload —
// and a run of successes as long as the limit grows it back by one, up to the ceiling:
// the AIMD shape TCP uses, which settles just under the server's budget. Without the
// cooldown, a few busy mailboxes among thousands would starve the whole run.
type sched struct {
	mu        sync.Mutex
	items     []*job
	remaining int // targets not yet final (queued, in flight or waiting to retry)
	limit     int
	ceiling   int
	streak    int
	lastCut   time.Time
	wake      chan struct{}
	timers    []*time.Timer
	stopped   bool
}

// cutCooldown is the least time between two concurrency cuts.
const cutCooldown = time.Second

func newSched(limit int) *sched {
	return &sched{wake: make(chan struct{}), limit: limit, ceiling: limit}
}

// broadcast wakes every waiter; callers hold mu.
func (s *sched) broadcast() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *sched) push(j *job) {
	s.mu.Lock()
	s.items = append(s.items, j)
	s.remaining += len(j.idx)
	s.broadcast()
	s.mu.Unlock()
}

// later re-queues a job after d without holding a worker while it waits.
func (s *sched) later(j *job, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if d <= 0 {
		s.items = append(s.items, j)
		s.broadcast()
		return
	}
	s.timers = append(s.timers, time.AfterFunc(d, func() {
		s.mu.Lock()
		if !s.stopped {
			s.items = append(s.items, j)
			s.broadcast()
		}
		s.mu.Unlock()
	}))
}

// finish marks n targets final.
func (s *sched) finish(n int) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	s.remaining -= n
	if s.remaining <= 0 {
		s.broadcast()
	}
	s.mu.Unlock()
}

// pop waits for work the slot may take. It returns false when every target is final or
// ctx is done.
func (s *sched) pop(ctx context.Context, slot int) (*job, bool) {
	for {
		s.mu.Lock()
		if s.remaining <= 0 || s.stopped {
			s.mu.Unlock()
			return nil, false
		}
		if slot < s.limit && len(s.items) > 0 {
			j := s.items[0]
			s.items[0] = nil
			s.items = s.items[1:]
			s.mu.Unlock()
			return j, true
		}
		ch := s.wake
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// feedback adapts the limit to how the server answered one probe and returns the new limit.
func (s *sched) feedback(overloaded bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if overloaded {
		s.streak = 0
		if now := time.Now(); now.Sub(s.lastCut) >= cutCooldown {
			s.limit = max(1, s.limit*3/4)
			s.lastCut = now
		}
		return s.limit
	}
	if s.limit < s.ceiling {
		s.streak++
		if s.streak >= s.limit {
			s.limit++
			s.streak = 0
			s.broadcast()
		}
	}
	return s.limit
}

// current is the concurrency limit now.
func (s *sched) current() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

func (s *sched) stop() {
	s.mu.Lock()
	s.stopped = true
	for _, t := range s.timers {
		t.Stop()
	}
	s.broadcast()
	s.mu.Unlock()
}
