package impersonation

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"deputy/internal/result"
)

// Target is one mailbox to prove.
type Target struct {
	Address string
	Kind    string // result.KindUser, KindRoom
}

// Attempt is what one probe of one mailbox found.
type Attempt struct {
	Mailbox result.Mailbox // Status, Class, Code, Message, Read, Write filled by the prober
	// BackOff is how long the server asked us to wait (EWS BackOffMilliseconds, Graph
	// Retry-After); zero when it did not say.
	BackOff time.Duration
	// Overloaded reports the server is over its concurrency budget for us
	// (ErrorServerBusy, ErrorExceededConnectionCount, 429): the runner shrinks concurrency.
	Overloaded bool
}

// A Prober proves mailboxes over one protocol. The runner calls NewWorker once per worker
// so connection-bound authentication (NTLM) gets a transport of its own.
type Prober interface {
	NewWorker() (Worker, error)
	// BatchSize is how many mailboxes one Probe call takes (EWS 1, Graph $batch 20).
	BatchSize() int
}

// A Worker probes mailboxes; one worker is used by one goroutine at a time.
type Worker interface {
	// Probe returns one Attempt per target, in order. Per-mailbox failures are results,
	// never errors. ctx carries the per-request deadline and the run's cancellation.
	Probe(ctx context.Context, targets []Target) []Attempt
}

// RunOptions bound the runner.
type RunOptions struct {
	Concurrency int           // ceiling: 1..27
	Retries     int           // extra attempts for throttled/transient mailboxes
	MaxBackoff  time.Duration // a server back-off above this is recorded, not waited for
	Timeout     time.Duration // per probe call
	// BaseDelay is the first retry delay for transient errors (doubled each retry,
	// jittered). Zero means 250 ms.
	BaseDelay time.Duration
}

// RunStats is evidence about how the run went.
type RunStats struct {
	Workers    int // workers started
	MinLimit   int // lowest concurrency the runner fell to after overload replies
	EndLimit   int // concurrency when the run ended (Workers again if it recovered)
	Overloaded int // probes the server answered with an overload reply
	Retried    int // attempts that were retried
}

// job is a batch of targets and their attempt history.
type job struct {
	idx      []int // indices into the results slice
	attempts []int
	backoff  []time.Duration
}

// Run proves every target and returns one result per target, in input order. A mailbox
// that cannot be proved is a result, never an abort. On cancellation, targets not yet
// proved come back with Status skip.
func Run(ctx context.Context, p Prober, targets []Target, o RunOptions, obs Observer) ([]result.Mailbox, RunStats) {
	if obs == nil {
		obs = nopObserver{}
	}
	o.Concurrency = max(1, o.Concurrency)
	if o.BaseDelay <= 0 {
		o.BaseDelay = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	out := make([]result.Mailbox, len(targets))
	final := make([]bool, len(targets))
	for i, t := range targets {
		out[i] = result.Mailbox{Address: t.Address, Kind: t.Kind, Status: result.Skip, Read: result.Skip, Write: result.Skip}
	}
	var stats RunStats
	if len(targets) == 0 {
		return out, stats
	}
	bs := max(1, p.BatchSize())
	nWorkers := min(o.Concurrency, (len(targets)+bs-1)/bs)
	workers := make([]Worker, 0, nWorkers)
	var werr error
	for range nWorkers {
		w, err := p.NewWorker()
		if err != nil {
			werr = err
			break
		}
		workers = append(workers, w)
	}
	if len(workers) == 0 {
		for i := range out {
			out[i].Status, out[i].Class = result.Fail, result.Other
			out[i].Message = fmt.Sprintf("could not start a worker: %v", werr)
		}
		return out, stats
	}
	stats.Workers = len(workers)
	stats.MinLimit = len(workers)

	q := newSched(len(workers))
	for i := 0; i < len(targets); i += bs {
		j := &job{}
		for k := i; k < min(i+bs, len(targets)); k++ {
			j.idx = append(j.idx, k)
			j.attempts = append(j.attempts, 0)
			j.backoff = append(j.backoff, 0)
		}
		q.push(j)
	}

	start := time.Now()
	var mu sync.Mutex
	var finished, passed, failed int
	settle := func(i int, m result.Mailbox) {
		mu.Lock()
		out[i], final[i] = m, true
		finished++
		switch m.Status {
		case result.Pass:
			passed++
		case result.Fail:
			failed++
		}
		ev := Event{Kind: MailboxFinished, Mailbox: &out[i], Done: finished, Total: len(targets), Passed: passed, Failed: failed}
		if el := time.Since(start).Seconds(); el > 0 {
			ev.Rate = float64(finished) / el
		}
		mu.Unlock()
		obs.Observe(ev)
	}

	var wg sync.WaitGroup
	for slot, wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok := q.pop(ctx, slot)
				if !ok {
					return
				}
				batch := make([]Target, len(j.idx))
				for k, i := range j.idx {
					batch[k] = targets[i]
				}
				pctx, cancel := context.WithTimeout(ctx, o.Timeout)
				t0 := time.Now()
				atts := probeBatch(pctx, wk, batch)
				lat := time.Since(t0)
				cancel()
				if ctx.Err() != nil {
					return // cancelled mid-flight: what came back is an artefact of the cancel
				}
				retry := &job{}
				var retryAfter time.Duration
				overloaded := false
				for k, i := range j.idx {
					a := atts[k]
					j.attempts[k]++
					j.backoff[k] += a.BackOff
					overloaded = overloaded || a.Overloaded
					if wait, again := retryDecision(a, j.attempts[k], o); again {
						retry.idx = append(retry.idx, i)
						retry.attempts = append(retry.attempts, j.attempts[k])
						retry.backoff = append(retry.backoff, j.backoff[k])
						retryAfter = max(retryAfter, wait)
						continue
					}
					m := a.Mailbox
					m.Address, m.Kind = targets[i].Address, targets[i].Kind
					m.Attempts = j.attempts[k]
					m.BackoffMs = j.backoff[k].Milliseconds()
					if m.Class == result.Throttled && a.BackOff > o.MaxBackoff {
						m.Message = throttledMessage(m.Message, a.BackOff, o.MaxBackoff)
					}
					if m.LatencyMs == 0 {
						m.LatencyMs = lat.Milliseconds()
					}
					settle(i, m)
				}
				lim := q.feedback(overloaded)
				mu.Lock()
				stats.MinLimit = min(stats.MinLimit, lim)
				if overloaded {
					stats.Overloaded++
				}
				stats.Retried += len(retry.idx)
				mu.Unlock()
				if len(retry.idx) > 0 {
					q.later(retry, retryAfter)
				}
				q.finish(len(j.idx) - len(retry.idx))
			}
		}()
	}
	wg.Wait()
	q.stop()
	stats.EndLimit = q.current()
	if ctx.Err() != nil {
		for i := range out {
			if !final[i] {
				out[i].Message = "not checked: the run was cancelled"
			}
		}
	}
	return out, stats
}

// probeBatch calls the worker and holds it to its contract: one attempt per target, and a
// panic in a prober becomes a result instead of killing the run.
func probeBatch(ctx context.Context, w Worker, batch []Target) (atts []Attempt) {
	defer func() {
		r := recover()
		if r == nil && len(atts) == len(batch) {
			return
		}
		msg := "internal error: the prober returned no result for this mailbox"
		if r != nil {
			msg = fmt.Sprintf("internal error while probing: %v", r)
		}
		atts = make([]Attempt, len(batch))
		for k := range atts {
			atts[k].Mailbox = result.Mailbox{Status: result.Fail, Class: result.Other, Read: result.Fail, Write: result.Skip, Message: msg}
		}
	}()
	return w.Probe(ctx, batch)
}

// retryDecision says whether an attempt is retried and after how long.
func retryDecision(a Attempt, attempts int, o RunOptions) (time.Duration, bool) {
	if !a.Mailbox.Class.Retryable() || attempts > o.Retries {
		return 0, false
	}
	if a.BackOff > 0 {
		if a.BackOff > o.MaxBackoff {
			return 0, false // recorded with the figure; waiting that long helps nobody
		}
		return a.BackOff, true
	}
	d := min(o.BaseDelay<<(attempts-1), 30*time.Second)
	return d/2 + rand.N(d/2+1), true // jitter in [d/2, d] so retries do not arrive in step
}

func throttledMessage(msg string, backoff, ceiling time.Duration) string {
	s := fmt.Sprintf("the server asked to back off for %s, more than the maximum back-off of %s; not retried",
		backoff.Round(time.Second), ceiling)
	if msg != "" {
		s = msg + " — " + s
	}
	return s
}
