package impersonation_test

import (
	"context"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/graph"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// BenchmarkGraph10k is issue 10's target: 10,000 mailboxes proved through Microsoft Graph
// JSON batching, 20 ms simulated Graph latency, concurrency 4. Figures:
//   - req/mailbox: HTTP requests to Graph per mailbox (target ≤ 0.06: 20 per $batch);
//   - wall/ideal: wall time of the mailbox check over requests·latency/concurrency
//     (target ≤ 1.2);
//   - cpu-µs/mailbox: process CPU per mailbox — client AND simulator, both in-process.
//
// Run with: go test -run '^$' -bench Graph10k -benchtime 1x ./internal/impersonation
func BenchmarkGraph10k(b *testing.B) {
	const n, lat, conc = 10000, 20 * time.Millisecond, 4
	g := startGraph(b, exchangesim.Demo(n), []string{graph.RoleCalendarsReadWrite}, func(c *graphsim.Config) { c.Latency = lat })
	cfg := g.config(impersonation.ProtocolGraph)
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
		before := g.sim.Counters().Requests
		c0 := cpuTime()
		r, err := impersonation.Diagnose(context.Background(), cfg, obs)
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		wall += end.Sub(start)
		reqs += int(g.sim.Counters().Requests - before)
		mailboxes += len(r.Mailboxes)
		if r.Summary.Passed != len(cfg.Mailboxes) {
			b.Fatalf("%d of %d passed", r.Summary.Passed, len(cfg.Mailboxes))
		}
	}
	ideal := time.Duration(reqs) * lat / conc
	b.ReportMetric(float64(reqs)/float64(mailboxes), "req/mailbox")
	b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
	b.ReportMetric(float64(cpu.Microseconds())/float64(mailboxes), "cpu-µs/mailbox")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
}
