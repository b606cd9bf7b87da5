package exchangesim

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSimulator measures the simulator's own capacity (client and server in this
// process, no latency): GetFolder with impersonation from 27 workers, each on its own
// connection, Basic and NTLM. It shows the simulator is not the bottleneck of the
// diagnosis benchmarks.
func BenchmarkSimulator(b *testing.B) {
	const workers, perWorker = 27, 80
	for _, scheme := range []string{"basic", "ntlm"} {
		b.Run(scheme, func(b *testing.B) {
			sc := Demo(workers * perWorker)
			s := startSim(b, sc, Options{})
			targets := sc.Targets()
			for i := 0; i < b.N; i++ {
				s.ResetCounters()
				var failed atomic.Int64
				cpu0, t0 := cpuTime(), time.Now()
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						var c *http.Client
						if scheme == "ntlm" {
							c = ntlmClient(s)
						} else {
							c = client(s)
						}
						for j := 0; j < perWorker; j++ {
							addr := targets[w*perWorker+j]
							r, err := tryPost(b.Context(), c, s.URL, []byte(getFolder(addr)), basic(s.User, s.Password), header("X-AnchorMailbox", addr))
							if err != nil || r.code() != "NoError" {
								failed.Add(1)
							}
						}
					}(w)
				}
				wg.Wait()
				wall, cpu := time.Since(t0), cpuTime()-cpu0
				n := float64(workers * perWorker)
				if failed.Load() > 0 {
					b.Fatalf("%d requests failed", failed.Load())
				}
				cnt := s.Counters()
				b.ReportMetric(n/wall.Seconds(), "mailbox/s")
				b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/mailbox")
				b.ReportMetric(float64(cnt.Requests)/n, "req/mailbox")
				if testing.Verbose() {
					fmt.Printf("%s: %d mailboxes, %d requests, %d NTLM handshakes, %d conns, peak %d\n",
						scheme, int(n), cnt.Requests, cnt.NTLMHandshakes, cnt.Conns, cnt.PeakConcurrency)
				}
			}
		})
	}
}
