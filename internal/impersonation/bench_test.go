package impersonation_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDiagnose10k is the runner's target from the core issue: 10,000 mailboxes,
// 20 ms simulator latency, concurrency 27. Figures:
//   - wall/ideal: wall time of the impersonation check over N·L/C (target ≤ 1.15);
//   - req/mailbox: HTTP requests on the wire per mailbox, handshakes included (≤ 1.02);
//   - cpu-µs/mailbox: process CPU per mailbox — client AND simulator, both in-process.
//
// Run with: make bench (or go test -run '^$' -bench Diagnose10k -benchtime 1x ./internal/impersonation)
func BenchmarkDiagnose10k(b *testing.B) {
	const n, lat, conc = 10000, 20 * time.Millisecond, 27
	for _, bc := range []struct {
		name      string
		scheme    string
		throttled float64
	}{
		{"basic", "basic", 0},
		{"ntlm", "ntlm", 0},
		{"basic-1pct-throttled", "basic", 1},
		{"ntlm-1pct-throttled", "ntlm", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sc := exchangesim.Demo(n)
			sc.ThrottleOncePercent = bc.throttled
			sc.ThrottleOnceBackOffMs = 200
			srv, err := exchangesim.Start(sc, exchangesim.Options{Latency: lat})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			cfg := config(srv, bc.scheme)
			cfg.Concurrency = conc
			var wall, cpu time.Duration
			var reqs, mailboxes int
			for b.Loop() {
				var start, end time.Time
				obs := impersonation.ObserverFunc(func(e impersonation.Event) {
					if e.Kind == impersonation.CheckStarted && e.Check.ID == result.CheckImpersonation {
						start = time.Now()
					}
					if e.Kind == impersonation.CheckFinished && e.Check.ID == result.CheckImpersonation {
						end = time.Now()
					}
				})
				c0 := cpuTime()
				r, err := impersonation.Diagnose(context.Background(), cfg, obs)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				wall += end.Sub(start)
				reqs += r.Summary.Requests
				mailboxes += len(r.Mailboxes)
				if r.Summary.Passed != n {
					b.Fatalf("%d of %d passed", r.Summary.Passed, n)
				}
			}
			ideal := time.Duration(n) * lat / conc * time.Duration(b.N)
			b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
			b.ReportMetric(float64(reqs)/float64(mailboxes), "req/mailbox")
			b.ReportMetric(float64(cpu.Microseconds())/float64(mailboxes), "cpu-µs/mailbox")
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
		})
	}
}
