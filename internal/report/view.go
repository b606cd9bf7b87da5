// Package report renders a deputy.diagnostics/v1 result as the file an admin attaches to a
// vendor's ticket: HTML (one self-contained file), PDF, or the JSON itself. A report shows
// only what the result holds — never a secret — and trace bodies are redacted once more
// on the way out in case an older or foreign result slipped something through.
package report

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"deputy/internal/result"
	"deputy/internal/setup"
)

// Options adds what is not in the result.
type Options struct {
	Script string           // setup script text to include (e.g. from setup.Generate); "" = none
	Now    func() time.Time // clock for the "generated" stamp; nil = time.Now
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

type kv struct{ K, V string }

// view is the result arranged for reading: shared by the HTML and PDF renderers so both
// say the same thing in the same order.
type view struct {
	Title       string
	Verdict     result.Status
	VerdictText string
	VerdictLine string
	Cancelled   bool
	Facts       []kv
	Total       int
	Pass, Warn  int
	Fail, Skip  int
	PassPct     string
	WarnPct     string
	FailPct     string
	SkipPct     string
	ChecksLine  string
	Attention   []attention
	MoreCauses  int // causes beyond the ones Attention lists
	Checks      []checkView
	Groups      []group
	Passed      []result.Mailbox
	Migration   *result.Migration
	Script      string
	Traces      []result.Trace
	Generated   string
	Footer      string
}

type checkView struct {
	result.Check
	StatusText string
	ClassText  string
	Duration   string
	Fix        []para // the remediation, prose and commands apart
	ShowCert   bool   // the certificate is not already spelled out in the evidence
}

// para is one paragraph of a remediation: prose, or commands to set as code.
type para struct {
	Code bool
	Text string
}

// attention is one line of the summary's "what needs attention" list.
type attention struct {
	Status result.Status
	Text   string
}

// group is the failing (or warning) mailboxes of one class.
type group struct {
	Class       result.Class
	Title       string
	Status      result.Status
	Remediation string // the first mailbox's (the others differ only in the address)
	Fix         []para
	Example     string // whose remediation it is
	Mailboxes   []result.Mailbox
}

func statusText(s result.Status) string {
	switch s {
	case result.Pass:
		return "PASS"
	case result.Warn:
		return "WARN"
	case result.Fail:
		return "FAIL"
	}
	return "SKIP"
}

func envName(e string) string {
	switch e {
	case result.OnPrem:
		return "On-premises Exchange"
	case result.EXO:
		return "Exchange Online"
	case "":
		return ""
	}
	return e
}

func authName(a string) string {
	switch a {
	case "basic":
		return "Basic"
	case "ntlm":
		return "NTLM"
	case "oauth-app-secret":
		return "OAuth app-only (client secret)"
	case "oauth-app-cert":
		return "OAuth app-only (certificate)"
	case "oauth-delegated":
		return "OAuth delegated"
	}
	return a
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func pct(n, total int) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%.2f", float64(n)*100/float64(total))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func newView(r *result.Result, o Options) *view {
	v := &view{Title: "EWS impersonation report", Verdict: r.Verdict, Cancelled: r.Cancelled, Script: strings.TrimSpace(o.Script)}
	if r.Profile.Name != "" {
		v.Title += " — " + r.Profile.Name
	}
	// Count from the mailboxes themselves: a hand-edited or partial summary must not make
	// the bar disagree with the table below it.
	for _, m := range r.Mailboxes {
		switch m.Status {
		case result.Pass:
			v.Pass++
		case result.Warn:
			v.Warn++
		case result.Fail:
			v.Fail++
		default:
			v.Skip++
		}
	}
	v.Total = len(r.Mailboxes)
	v.PassPct, v.WarnPct, v.FailPct, v.SkipPct = pct(v.Pass, v.Total), pct(v.Warn, v.Total), pct(v.Fail, v.Total), pct(v.Skip, v.Total)

	switch r.Verdict {
	case result.Pass:
		v.VerdictText = "All tests pass"
	case result.Warn:
		v.VerdictText = "Passed with warnings"
	case result.Fail:
		v.VerdictText = "Failed"
	default:
		v.VerdictText = "Incomplete"
	}
	if r.Cancelled {
		v.VerdictText += " (cancelled: partial results)"
	}
	var parts []string
	if v.Total > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d mailboxes passed", v.Pass, v.Total))
		if v.Warn > 0 {
			parts = append(parts, plural(v.Warn, "warning", "warnings"))
		}
		if v.Fail > 0 {
			parts = append(parts, fmt.Sprintf("%d failed", v.Fail))
		}
		if v.Skip > 0 {
			parts = append(parts, fmt.Sprintf("%d not tested", v.Skip))
		}
	} else {
		parts = append(parts, "no mailboxes tested")
	}
	var cp, cf, cw int
	for _, c := range r.Checks {
		switch c.Status {
		case result.Pass:
			cp++
		case result.Fail:
			cf++
		case result.Warn:
			cw++
		}
	}
	v.ChecksLine = fmt.Sprintf("%d of %d checks passed", cp, len(r.Checks))
	if cf > 0 {
		v.ChecksLine += fmt.Sprintf(", %d failed", cf)
	}
	if cw > 0 {
		v.ChecksLine += ", " + plural(cw, "warning", "warnings")
	}
	v.VerdictLine = strings.Join(parts, " · ")

	p := r.Profile
	add := func(k, val string) {
		if strings.TrimSpace(val) != "" {
			v.Facts = append(v.Facts, kv{k, val})
		}
	}
	add("Profile", p.Name)
	add("Environment", envName(p.Environment))
	add("EWS URL", p.EWSURL)
	add("Authentication", authName(p.Auth))
	add("Service account", p.ServiceAccount)
	add("Protocol", strings.ToUpper(p.Protocol))
	add("Tenant", p.TenantID)
	add("App (client) ID", p.ClientID)
	add("Exchange version", r.Server.Version)
	add("Requests sent as", r.Server.RequestServerVersion)
	add("Tested", fmtTime(r.StartedAt))
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		add("Duration", fmtDuration(r.FinishedAt.Sub(r.StartedAt)))
	}
	if r.Summary.Requests > 0 {
		add("EWS requests", fmt.Sprint(r.Summary.Requests))
	}
	tool := strings.TrimSpace(r.Tool.Name + " " + r.Tool.Version)
	add("Tested with", tool)
	v.Generated = fmtTime(o.now())
	v.Footer = strings.TrimSpace(tool + " · " + p.Name + " · " + fmtTime(r.StartedAt))
	v.Footer = strings.Trim(strings.ReplaceAll(v.Footer, " ·  · ", " · "), " ·")

	for _, c := range r.Checks {
		cv := checkView{Check: c, StatusText: statusText(c.Status), Fix: paragraphs(c.Remediation)}
		if c.Cert != nil {
			cv.ShowCert = true
			for _, e := range c.Evidence {
				if c.Cert.SHA256 != "" && strings.Contains(strings.ToLower(e), strings.ToLower(c.Cert.SHA256)) {
					cv.ShowCert = false
				}
			}
		}
		if c.Class != "" && c.Class != result.OK {
			cv.ClassText = setup.ClassTitle(c.Class)
		}
		if c.DurationMs > 0 {
			cv.Duration = fmtDuration(time.Duration(c.DurationMs) * time.Millisecond)
		}
		v.Checks = append(v.Checks, cv)
	}

	byClass := map[result.Class]*group{}
	for _, m := range r.Mailboxes {
		if m.Status != result.Fail && m.Status != result.Warn {
			v.Passed = append(v.Passed, m)
			continue
		}
		g := byClass[m.Class]
		if g == nil {
			g = &group{Class: m.Class, Title: setup.ClassTitle(m.Class), Status: m.Status}
			byClass[m.Class] = g
		}
		if m.Status.Rank() > g.Status.Rank() {
			g.Status = m.Status
		}
		g.Mailboxes = append(g.Mailboxes, m)
	}
	for _, g := range byClass {
		sort.SliceStable(g.Mailboxes, func(i, j int) bool {
			a, b := g.Mailboxes[i], g.Mailboxes[j]
			if a.Status != b.Status {
				return a.Status.Rank() > b.Status.Rank()
			}
			return strings.ToLower(a.Address) < strings.ToLower(b.Address)
		})
		for _, m := range g.Mailboxes {
			if m.Remediation != "" {
				g.Remediation, g.Example = m.Remediation, m.Address
				g.Fix = paragraphs(m.Remediation)
				break
			}
		}
		v.Groups = append(v.Groups, *g)
	}
	order := map[result.Class]int{}
	for i, c := range result.Classes {
		order[c] = i
	}
	sort.Slice(v.Groups, func(i, j int) bool {
		a, b := v.Groups[i], v.Groups[j]
		if a.Status != b.Status {
			return a.Status.Rank() > b.Status.Rank()
		}
		if len(a.Mailboxes) != len(b.Mailboxes) {
			return len(a.Mailboxes) > len(b.Mailboxes)
		}
		return order[a.Class] < order[b.Class]
	})
	sort.SliceStable(v.Passed, func(i, j int) bool {
		return strings.ToLower(v.Passed[i].Address) < strings.ToLower(v.Passed[j].Address)
	})
	// What needs attention, worst first: failing checks that are not about individual
	// mailboxes, then the mailbox groups (the per-mailbox checks are summed up by those).
	for _, want := range []result.Status{result.Fail, result.Warn} {
		for _, c := range v.Checks {
			if c.Status != want || (len(v.Groups) > 0 && (c.ID == result.CheckImpersonation || c.ID == result.CheckWrite || c.ID == result.CheckRooms)) {
				continue
			}
			title := c.Title
			if title == "" {
				title = c.ID
			}
			v.Attention = append(v.Attention, attention{c.Status, strings.TrimSuffix(title+": "+c.Summary, ": ")})
		}
		for _, g := range v.Groups {
			if g.Status == want {
				v.Attention = append(v.Attention, attention{g.Status, plural(len(g.Mailboxes), "mailbox", "mailboxes") + ": " + g.Title})
			}
		}
	}
	// A summary check (impersonation, write, rooms) lists the fix of every cause; the
	// mailbox groups below show the same fixes next to their mailboxes, so point there.
	if len(v.Groups) > 0 {
		for i, c := range v.Checks {
			if (c.ID == result.CheckImpersonation || c.ID == result.CheckWrite || c.ID == result.CheckRooms) && len(c.Fix) > 0 && perCause.MatchString(c.Fix[0].Text) {
				v.Checks[i].Fix = []para{{Text: "Each cause's fix is shown with its mailboxes under “Mailboxes that failed” below."}}
			}
		}
	}
	const maxAttention = 6
	if len(v.Attention) > maxAttention {
		v.MoreCauses = len(v.Attention) - (maxAttention - 1)
		v.Attention = v.Attention[:maxAttention-1]
	}
	v.Migration = r.Migration
	for _, t := range r.Traces {
		t.Request, t.Response, t.URL = Redact(t.Request), Redact(t.Response), Redact(t.URL)
		v.Traces = append(v.Traces, t)
	}
	return v
}

// perCause matches the "[class, code] fix" paragraphs a summary check joins together.
var perCause = regexp.MustCompile(`^\[[a-z-]+, [^\]\n]*\] `)

// command matches a line to set as code: a comment, a variable, a Verb-Noun cmdlet, or an
// indented continuation.
var command = regexp.MustCompile(`^(#|\$|\s|[A-Z][a-z]+-[A-Z][A-Za-z]*\b|deputy-cli )`)

// paragraphs splits a remediation at blank lines and tells prose from commands, so reports
// set prose as text and commands as code.
func paragraphs(s string) []para {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return nil
	}
	var out []para
	for _, p := range regexp.MustCompile(`\n[ \t]*\n`).Split(s, -1) {
		p = strings.Trim(p, "\n")
		if strings.TrimSpace(p) == "" {
			continue
		}
		code := true
		for _, l := range strings.Split(p, "\n") {
			if strings.TrimSpace(l) != "" && !command.MatchString(l) {
				code = false
				break
			}
		}
		if code && len(out) > 0 && out[len(out)-1].Code {
			out[len(out)-1].Text += "\n\n" + p
			continue
		}
		out = append(out, para{Code: code, Text: p})
	}
	return out
}
