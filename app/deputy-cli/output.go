package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"deputy/internal/impersonation"
	"deputy/internal/result"
)

var marks = map[result.Status]string{result.Pass: "✔", result.Warn: "!", result.Fail: "✘", result.Skip: "–"}

// printHuman writes the result for a person: one line per check, the failed mailboxes
// grouped by cause with each cause's remediation once, and a summary line.
func printHuman(w io.Writer, r *result.Result) {
	target := r.Profile.EWSURL
	switch r.Profile.Protocol {
	case impersonation.ProtocolGraph:
		target = "Microsoft Graph" // the EWS URL is not used
	case impersonation.ProtocolBoth:
		target += " and Microsoft Graph"
	}
	fmt.Fprintf(w, "Deputy %s — %s (%s, %s)\n", r.Tool.Version, target, envName(r.Profile.Environment), strings.ToUpper(r.Profile.Auth))
	if r.Server.Version != "" {
		fmt.Fprintf(w, "Server: Exchange %s, requests as %s\n", r.Server.Version, r.Server.RequestServerVersion)
	}
	printMigrationCounts(w, r) // diagnose_graph.go
	fmt.Fprintln(w)
	for _, c := range r.Checks {
		fmt.Fprintf(w, " %s %-16s %s\n", marks[c.Status], c.ID, c.Summary)
		if c.Status == result.Fail || c.Status == result.Warn {
			if c.ID != result.CheckImpersonation && c.ID != result.CheckRooms && !graphMailboxCheck(c.ID) {
				for _, e := range c.Evidence {
					fmt.Fprintf(w, "     · %s\n", e)
				}
				if c.Remediation != "" {
					fmt.Fprintf(w, "     Fix: %s\n", indent(c.Remediation, "          "))
				}
			}
		}
	}
	groups := map[result.Class][]result.Mailbox{}
	for _, m := range r.Mailboxes {
		if m.Status == result.Fail || m.Status == result.Warn {
			groups[m.Class] = append(groups[m.Class], m)
		}
	}
	if len(groups) > 0 {
		classes := make([]result.Class, 0, len(groups))
		for c := range groups {
			classes = append(classes, c)
		}
		sort.Slice(classes, func(i, j int) bool {
			a, b := groups[classes[i]], groups[classes[j]]
			if a[0].Status != b[0].Status {
				return a[0].Status == result.Fail
			}
			if len(a) != len(b) {
				return len(a) > len(b)
			}
			return classes[i] < classes[j]
		})
		fmt.Fprintf(w, "\nMailboxes that failed or could not be verified, by cause:\n")
		for _, c := range classes {
			ms := groups[c]
			fmt.Fprintf(w, "\n %s %s — %d %s\n", marks[ms[0].Status], c, len(ms), plural(len(ms), "mailbox", "mailboxes"))
			for i, m := range ms {
				if i == 20 {
					fmt.Fprintf(w, "     … and %d more (see --json or --report)\n", len(ms)-20)
					break
				}
				fmt.Fprintf(w, "     %-40s %-10s %-38s %s\n", m.Address, kindLabel(m), m.Code, oneLine(m.Message, 90))
			}
			// One fix per distinct server code: a class can have several causes
			// (a move in progress and an unavailable store are both transient).
			shown := map[string]bool{}
			several := hasOtherCode(ms, ms[0].Code)
			for _, m := range ms {
				if m.Remediation == "" || shown[m.Code] {
					continue
				}
				shown[m.Code] = true
				label := "Fix"
				if several {
					label = "Fix (" + m.Code + ")"
				}
				fmt.Fprintf(w, "   %s: %s\n", label, indent(m.Remediation, "        "))
			}
		}
	}
	printMigrationBlockers(w, r) // diagnose_graph.go
	s := r.Summary
	took := r.FinishedAt.Sub(r.StartedAt).Round(10 * time.Millisecond)
	if r.Profile.Protocol == result.Both {
		// A row per address and protocol: count each mailbox once, each protocol apart.
		n, kinds, ews, graph := r.Addresses()
		fmt.Fprintf(w, "\n%s %s — %d mailboxes%s, each through EWS and Graph — EWS: %d passed, %d warned, %d failed; Graph: %d passed, %d warned, %d failed; %d HTTP requests in %s\n",
			marks[r.Verdict], strings.ToUpper(string(r.Verdict)), n, kinds, ews.Passed, ews.Warned, ews.Failed, graph.Passed, graph.Warned, graph.Failed, s.Requests, took)
	} else {
		fmt.Fprintf(w, "\n%s %s — %d mailboxes%s: %d passed, %d warned, %d failed; %d HTTP requests in %s\n",
			marks[r.Verdict], strings.ToUpper(string(r.Verdict)), s.Mailboxes, r.KindSplit(), s.Passed, s.Warned, s.Failed, s.Requests, took)
	}
	if r.Cancelled {
		fmt.Fprintln(w, "Cancelled: the results above are partial.")
	}
}

func envName(e string) string {
	if e == result.EXO {
		return "Exchange Online"
	}
	return "Exchange Server on-premises"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// indent continues a multi-line text under its label; blank lines stay empty.
func indent(s, pad string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			lines[i] = pad + lines[i]
		} else {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// progress draws a live line on a terminal (stderr) or plain lines, at most ~4 a second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	mode  string // tty | plain | none
	last  time.Time
	check string
	wrote bool
}

func (p *progress) Observe(e impersonation.Event) {
	if p.mode == "none" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case impersonation.CheckStarted:
		p.check = e.Check.ID
		if p.mode == "plain" {
			fmt.Fprintf(p.w, "running %s…\n", e.Check.ID)
		}
	case impersonation.CheckFinished:
		p.clear()
	case impersonation.MailboxFinished:
		every := 250 * time.Millisecond
		if p.mode == "plain" {
			every = 2 * time.Second // a log file, not a screen
		}
		if e.Done != e.Total && time.Since(p.last) < every {
			return
		}
		p.last = time.Now()
		eta := "–"
		if e.Rate > 0 {
			eta = etaString(time.Duration(float64(e.Total-e.Done) / e.Rate * float64(time.Second)))
		}
		line := fmt.Sprintf("%s: %d/%d mailboxes (%d ok, %d failed), %.0f/s, ETA %s", p.check, e.Done, e.Total, e.Passed, e.Failed, e.Rate, eta)
		if p.mode == "tty" {
			fmt.Fprintf(p.w, "\r\033[K%s", line)
			p.wrote = true
		} else {
			fmt.Fprintln(p.w, line)
		}
	}
}

// etaString rounds an ETA for display: whole seconds, tenths below ten seconds (so the
// last second of a run does not read "0s").
func etaString(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (p *progress) clear() {
	if p.mode == "tty" && p.wrote {
		fmt.Fprint(p.w, "\r\033[K")
		p.wrote = false
	}
}

func hasOtherCode(ms []result.Mailbox, code string) bool {
	for _, m := range ms {
		if m.Code != code {
			return true
		}
	}
	return false
}
