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
	"unicode"

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
	Heading     string // the title without the profile name
	Intro       string // what the report proves, for the protocol(s) tested
	Protocol    string // result.EWS, ProtocolGraph or ProtocolBoth
	Both        bool   // Protocol is both: an address has a result per protocol
	HasGraph    bool   // Graph rows: the mailbox tables get a Protocol column
	Verdict     result.Status
	VerdictText string
	VerdictLine string
	Cancelled   bool
	Facts       []kv
	Total       int // distinct addresses (with both protocols, each has two results)
	Results     int // mailbox results
	Pass, Warn  int
	Fail, Skip  int
	Bar         []seg  // the summary's bar: pass/warn/fail/skip, or the migration verdicts
	BarLabel    string // the bar in words (for screen readers)
	ChecksLine  string
	Attention   []attention
	MoreCauses  int // causes beyond the ones Attention lists
	Checks      []checkView
	Groups      []group
	Passed      []result.Mailbox
	Mig         *migView
	Script      string
	Traces      []result.Trace
	Generated   string
	Footer      string
}

// seg is one segment of the summary bar; Key is also its CSS class.
type seg struct {
	Key    string
	N      int
	Pct    string  // of the bar, for CSS
	Frac   float64 // of the bar, for the PDF
	Legend string
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

// group is the failing (or warning) mailboxes of one protocol and class.
type group struct {
	Protocol  string
	Class     result.Class
	Title     string
	Cause     string // the title without the protocol
	Status    result.Status
	Fixes     []fix // each distinct remediation once (they usually differ only in the address)
	MoreFixes int   // mailboxes whose (further) distinct fixes are not shown
	ProtoCol  bool  // the table has a Protocol column
	Mailboxes []result.Mailbox
}

// fix is one distinct remediation of a group and whose it is.
type fix struct {
	Fix   []para
	Note  string // "shown for X; the same for the others", "for X and Y", …
	For   string // whose fix it is when a group has several ("" when it has one)
	Above bool   // already shown with the migration blockers: the report points there
	key   string
	addrs []string
}

// migView is the migration section (protocol both): the blockers with their Graph fix
// first, then the other addresses not ready on both.
type migView struct {
	Counts    string // (*result.Migration).Counts()
	Addresses int
	Blockers  []group // ews-only addresses, by Graph cause; the rows are their Graph results
	BlockerN  int
	Causes    string   // the blockers' Graph causes in one line, for the summary
	Others    []migRow // neither, untested, graph-only (in that order)
	Ready     int
}

type migRow struct {
	Address, Kind       string
	EWS, Graph          string
	EWSKey, GraphKey    string // status CSS class
	Verdict, VerdictKey string
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

// protocolOf is what the result covers: its rows say, the profile speaks for a run that
// produced none (or was cancelled before one protocol ran).
func protocolOf(r *result.Result) string {
	var ews, graph bool
	for _, m := range r.Mailboxes {
		if m.Protocol == result.Graph {
			graph = true
		} else {
			ews = true
		}
	}
	switch p := strings.ToLower(r.Profile.Protocol); {
	case ews && graph, p == result.Both:
		return result.Both
	case graph, p == result.Graph:
		if ews {
			return result.Both
		}
		return result.Graph
	}
	return result.EWS
}

func protocolName(p string) string {
	switch p {
	case result.EWS:
		return "EWS"
	case result.Graph:
		return "Microsoft Graph"
	case result.Both:
		return "EWS and Microsoft Graph"
	}
	return strings.ToUpper(p)
}

// protoText is a mailbox row's Protocol cell.
func protoText(m result.Mailbox) string {
	if m.Protocol == result.Graph {
		return "Graph"
	}
	return "EWS"
}

// words is "12 of 17 mailboxes passed · 2 warnings · 3 failed" (what is empty left out;
// "of" may be "").
func words(t result.Summary, of string, sep string) string {
	parts := []string{strings.Replace(fmt.Sprintf("%d of %d %s passed", t.Passed, t.Mailboxes, of), "  ", " ", 1)}
	if t.Warned > 0 {
		parts = append(parts, plural(t.Warned, "warning", "warnings"))
	}
	if t.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", t.Failed))
	}
	if t.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d not tested", t.Skipped))
	}
	return strings.Join(parts, sep)
}

func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsLower(r[1]) {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

// groupTitle names a cause; with Graph in the result, every title says its protocol, and
// Graph's own words replace EWS's where the cause reads differently there.
func groupTitle(m result.Mailbox, labelled bool) (title, cause string) {
	t := setup.ClassTitle(m.Class)
	if m.Protocol == result.Graph {
		switch m.Class {
		case result.ImpersonationDenied:
			t = "outside the app's scope"
		case result.NoMailbox:
			t = "no Exchange Online mailbox (on-premises, unlicensed or guest)"
		}
		return "Microsoft Graph: " + lowerFirst(t), lowerFirst(t)
	}
	if labelled {
		return "EWS: " + lowerFirst(t), lowerFirst(t)
	}
	return t, t
}

// newGroup starts the group of m's protocol and class.
func newGroup(m result.Mailbox, labelled bool) *group {
	g := &group{Protocol: protoText(m), Class: m.Class, Status: m.Status, ProtoCol: labelled}
	g.Title, g.Cause = groupTitle(m, labelled)
	return g
}

// maxFixes bounds the distinct fixes a group shows; the rest are counted.
const maxFixes = 5

// fixesOf collects a group's distinct remediations: most differ only in the address,
// but one cause can have several fixes (Graph's access denied by an RBAC scope or by an
// Application Access Policy), and each must sit next to the mailboxes it is for.
func fixesOf(ms []result.Mailbox) (fixes []fix, more int) {
	at := map[string]int{}
	for _, m := range ms {
		if strings.TrimSpace(m.Remediation) == "" {
			continue
		}
		k := m.Protocol + "\x00" + strings.ReplaceAll(strings.ToLower(m.Remediation), strings.ToLower(m.Address), "\x00")
		i, ok := at[k]
		if !ok {
			if len(fixes) == maxFixes {
				more++
				continue
			}
			i = len(fixes)
			at[k] = i
			fixes = append(fixes, fix{Fix: paragraphs(m.Remediation), key: k})
		}
		fixes[i].addrs = append(fixes[i].addrs, m.Address)
	}
	for i := range fixes {
		only := len(fixes) == 1 && more == 0
		fixes[i].Note = fixNote(fixes[i].addrs, only, len(ms))
		if !only {
			fixes[i].For = fixes[i].Note
		}
	}
	return fixes, more
}

// fixNote says whose fix is shown: the only fix of a group is "shown for" its first
// mailbox; one of several names its mailboxes.
func fixNote(addrs []string, only bool, groupSize int) string {
	switch {
	case only && groupSize > 1:
		return "shown for " + addrs[0] + "; the same for the others"
	case only:
		return ""
	case len(addrs) == 1:
		return "for " + addrs[0]
	case len(addrs) <= 3:
		return "for " + strings.Join(addrs[:len(addrs)-1], ", ") + " and " + addrs[len(addrs)-1]
	}
	return fmt.Sprintf("shown for %s; the same for %s, %s and %d more", addrs[0], addrs[1], addrs[2], len(addrs)-3)
}

// summaryCheck: a check that sums up the per-mailbox results the groups list in full.
func summaryCheck(id string) bool {
	switch id {
	case result.CheckImpersonation, result.CheckWrite, result.CheckRooms,
		result.CheckGraphImpersonation, result.CheckGraphWrite, result.CheckGraphRooms:
		return true
	}
	return false
}

func newView(r *result.Result, o Options) *view {
	v := &view{Verdict: r.Verdict, Cancelled: r.Cancelled, Script: strings.TrimSpace(o.Script), Protocol: protocolOf(r)}
	v.HasGraph = v.Protocol != result.EWS
	v.Both = v.Protocol == result.Both
	switch v.Protocol {
	case result.Graph:
		v.Heading = "Microsoft Graph readiness report"
		v.Intro = "Deputy proves that the app can reach every mailbox's calendar through Microsoft Graph."
	case result.Both:
		v.Heading = "EWS to Microsoft Graph migration report"
		v.Intro = "Deputy tests every mailbox through Exchange Web Services and through Microsoft Graph, and shows which will keep working after EWS in Exchange Online ends on 1 April 2027."
	default:
		v.Heading = "EWS impersonation report"
		v.Intro = "Deputy proves that the service account can act as every mailbox through Exchange Web Services."
	}
	v.Title = v.Heading
	if r.Profile.Name != "" {
		v.Title += " — " + r.Profile.Name
	}
	// Count from the mailboxes themselves: a hand-edited or partial summary must not make
	// the bar disagree with the table below it.
	addrs, _, ews, graph := r.Addresses()
	all := ews.Plus(graph)
	v.Pass, v.Warn, v.Fail, v.Skip, v.Results = all.Passed, all.Warned, all.Failed, all.Skipped, all.Mailboxes
	v.Total = all.Mailboxes
	if v.Both {
		v.Total = addrs // each address has a result per protocol: count it once
	}

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
	switch {
	case v.Results == 0:
		v.VerdictLine = "no mailboxes tested"
	case v.Both:
		v.VerdictLine = fmt.Sprintf("%s, each tested through EWS and Microsoft Graph · EWS: %s · Graph: %s",
			plural(v.Total, "address", "addresses"), words(ews, "", ", "), words(graph, "", ", "))
	default:
		v.VerdictLine = words(all, "mailboxes", " · ")
	}
	if v.Results > 0 {
		for _, s := range []seg{{Key: "pass", N: v.Pass, Legend: fmt.Sprintf("%d passed", v.Pass)}, {Key: "warn", N: v.Warn, Legend: plural(v.Warn, "warning", "warnings")},
			{Key: "fail", N: v.Fail, Legend: fmt.Sprintf("%d failed", v.Fail)}, {Key: "skip", N: v.Skip, Legend: fmt.Sprintf("%d not tested", v.Skip)}} {
			if s.N > 0 || s.Key != "skip" {
				v.Bar = append(v.Bar, s)
			}
		}
		v.BarLabel = fmt.Sprintf("%d passed, %d warnings, %d failed, %d not tested", v.Pass, v.Warn, v.Fail, v.Skip)
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
	if p.Protocol != "" {
		add("Protocol", protocolName(strings.ToLower(p.Protocol)))
	}
	add("Tenant", p.TenantID)
	add("App (client) ID", p.ClientID)
	add("Exchange version", r.Server.Version)
	add("Requests sent as", r.Server.RequestServerVersion)
	add("Tested", fmtTime(r.StartedAt))
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		add("Duration", fmtDuration(r.FinishedAt.Sub(r.StartedAt)))
	}
	if r.Summary.Requests > 0 {
		if v.HasGraph {
			add("HTTP requests", fmt.Sprint(r.Summary.Requests))
		} else {
			add("EWS requests", fmt.Sprint(r.Summary.Requests))
		}
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

	// Group by protocol and class: with both protocols, a Graph failure needs Graph's fix,
	// never the EWS one of the same class.
	type gkey struct {
		graph bool
		class result.Class
	}
	byKey := map[gkey]*group{}
	for _, m := range r.Mailboxes {
		if m.Status != result.Fail && m.Status != result.Warn {
			v.Passed = append(v.Passed, m)
			continue
		}
		k := gkey{m.Protocol == result.Graph, m.Class}
		g := byKey[k]
		if g == nil {
			g = newGroup(m, v.HasGraph)
			byKey[k] = g
		}
		if m.Status.Rank() > g.Status.Rank() {
			g.Status = m.Status
		}
		g.Mailboxes = append(g.Mailboxes, m)
	}
	for _, g := range byKey {
		sortMailboxes(g.Mailboxes)
		g.Fixes, g.MoreFixes = fixesOf(g.Mailboxes)
		v.Groups = append(v.Groups, *g)
	}
	order := map[result.Class]int{}
	for i, c := range result.Classes {
		order[c] = i
	}
	// Worst first; EWS before Graph (the order of the checks); then the biggest.
	sort.Slice(v.Groups, func(i, j int) bool {
		a, b := v.Groups[i], v.Groups[j]
		if a.Status != b.Status {
			return a.Status.Rank() > b.Status.Rank()
		}
		if a.Protocol != b.Protocol {
			return a.Protocol == "EWS"
		}
		if len(a.Mailboxes) != len(b.Mailboxes) {
			return len(a.Mailboxes) > len(b.Mailboxes)
		}
		if order[a.Class] != order[b.Class] {
			return order[a.Class] < order[b.Class]
		}
		return a.Class < b.Class
	})
	sort.SliceStable(v.Passed, func(i, j int) bool {
		a, b := strings.ToLower(v.Passed[i].Address), strings.ToLower(v.Passed[j].Address)
		if a != b {
			return a < b
		}
		return v.Passed[i].Protocol != result.Graph && v.Passed[j].Protocol == result.Graph
	})
	// What needs attention, worst first: failing checks that are not about individual
	// mailboxes, then the mailbox groups (the per-mailbox checks are summed up by those).
	for _, want := range []result.Status{result.Fail, result.Warn} {
		for _, c := range v.Checks {
			if c.Status != want || (len(v.Groups) > 0 && summaryCheck(c.ID)) {
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
				v.Attention = append(v.Attention, attention{g.Status, g.Title + " — " + plural(len(g.Mailboxes), "mailbox", "mailboxes")})
			}
		}
	}
	// A summary check (impersonation, write, rooms) lists the fix of every cause; the
	// mailbox groups below show the same fixes next to their mailboxes, so point there.
	if len(v.Groups) > 0 {
		for i, c := range v.Checks {
			if summaryCheck(c.ID) && len(c.Fix) > 0 && perCause.MatchString(c.Fix[0].Text) {
				v.Checks[i].Fix = []para{{Text: "Each cause's fix is shown with its mailboxes under “Mailboxes that failed” below."}}
			}
		}
	}
	const maxAttention = 6
	if len(v.Attention) > maxAttention {
		v.MoreCauses = len(v.Attention) - (maxAttention - 1)
		v.Attention = v.Attention[:maxAttention-1]
	}
	if r.Migration != nil {
		v.migration(r)
	}
	fillBar(v.Bar)
	for _, t := range r.Traces {
		t.Request, t.Response, t.URL = Redact(t.Request), Redact(t.Response), Redact(t.URL)
		v.Traces = append(v.Traces, t)
	}
	return v
}

// sortMailboxes puts the worst first, then by address.
func sortMailboxes(ms []result.Mailbox) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Status != b.Status {
			return a.Status.Rank() > b.Status.Rank()
		}
		return strings.ToLower(a.Address) < strings.ToLower(b.Address)
	})
}

// verdictKey is a migration verdict's CSS class and bar segment.
func verdictKey(v string) string {
	switch v {
	case result.VerdictBothReady, result.VerdictEWSOnly, result.VerdictGraphOnly,
		result.VerdictNeither, result.VerdictUntested:
		return v
	}
	return "untested"
}

// classText is one protocol's result for an address in the migration table.
func classText(c result.Class) (text, key string) {
	switch c {
	case "":
		return "not tested", "skip"
	case result.OK:
		return "OK", "pass"
	}
	return lowerFirst(setup.ClassTitle(c)), "fail"
}

// migration fills the migration section and, at the top, puts its counts in the
// summary's bar: for a run of both protocols the question is which addresses keep working.
func (v *view) migration(r *result.Result) {
	mg := r.Migration
	m := &migView{Counts: mg.Counts(), Addresses: len(mg.Addresses), Ready: mg.BothReady}
	graph := map[string]result.Mailbox{}
	kind := map[string]string{} // an address's kind from either protocol (untested has one row)
	for _, mb := range r.Mailboxes {
		k := strings.ToLower(mb.Address)
		if _, ok := kind[k]; !ok {
			kind[k] = mb.Kind
		}
		if mb.Protocol == result.Graph {
			if _, ok := graph[k]; !ok {
				graph[k] = mb
			}
		}
	}
	byClass := map[result.Class]*group{}
	var others [3][]migRow // neither, untested (and unknown), graph-only
	for _, a := range mg.Addresses {
		g, ok := graph[strings.ToLower(a.Address)]
		if a.Verdict == result.VerdictEWSOnly {
			m.BlockerN++
			if !ok {
				// A foreign result without the Graph row: the verdict still counts.
				g = result.Mailbox{Address: a.Address, Protocol: result.Graph, Status: result.Fail, Class: a.Graph}
			}
			b := byClass[g.Class]
			if b == nil {
				b = newGroup(g, true)
				byClass[g.Class] = b
			}
			if g.Status.Rank() > b.Status.Rank() {
				b.Status = g.Status
			}
			b.Mailboxes = append(b.Mailboxes, g)
			continue
		}
		row := migRow{Address: a.Address, Kind: kindText(kind[strings.ToLower(a.Address)]), Verdict: result.VerdictText(a.Verdict), VerdictKey: verdictKey(a.Verdict)}
		row.EWS, row.EWSKey = classText(a.EWS)
		row.Graph, row.GraphKey = classText(a.Graph)
		switch a.Verdict {
		case result.VerdictBothReady:
		case result.VerdictNeither:
			others[0] = append(others[0], row)
		case result.VerdictGraphOnly:
			others[2] = append(others[2], row)
		default:
			others[1] = append(others[1], row)
		}
	}
	for _, o := range others {
		m.Others = append(m.Others, o...)
	}
	shown := map[string]bool{}
	for _, b := range byClass {
		sortMailboxes(b.Mailboxes)
		b.Fixes, b.MoreFixes = fixesOf(b.Mailboxes)
		for _, f := range b.Fixes {
			shown[f.key] = true
		}
		m.Blockers = append(m.Blockers, *b)
	}
	sort.Slice(m.Blockers, func(i, j int) bool {
		a, b := m.Blockers[i], m.Blockers[j]
		if len(a.Mailboxes) != len(b.Mailboxes) {
			return len(a.Mailboxes) > len(b.Mailboxes)
		}
		return a.Class < b.Class
	})
	var causes []string
	for _, b := range m.Blockers {
		causes = append(causes, fmt.Sprintf("%d %s", len(b.Mailboxes), b.Cause))
	}
	m.Causes = strings.Join(causes, " · ")
	// The failing Graph groups below would repeat the blockers' fixes: point to them.
	for i := range v.Groups {
		for j := range v.Groups[i].Fixes {
			if f := &v.Groups[i].Fixes[j]; shown[f.key] {
				f.Above = true
			}
		}
	}
	v.Mig = m

	total := mg.BothReady + mg.GraphOnly + mg.EWSOnly + mg.Neither + mg.Untested
	if total == 0 {
		return
	}
	v.Bar = nil
	for _, s := range []seg{{Key: result.VerdictBothReady, N: mg.BothReady}, {Key: result.VerdictGraphOnly, N: mg.GraphOnly},
		{Key: result.VerdictEWSOnly, N: mg.EWSOnly}, {Key: result.VerdictNeither, N: mg.Neither}, {Key: result.VerdictUntested, N: mg.Untested}} {
		if s.N == 0 && s.Key == result.VerdictUntested {
			continue
		}
		s.Legend = result.VerdictText(s.Key)
		v.Bar = append(v.Bar, s)
	}
	v.BarLabel = "Migration to Microsoft Graph: " + m.Counts
}

// fillBar sizes the bar's segments.
func fillBar(bar []seg) {
	total := 0
	for _, s := range bar {
		total += s.N
	}
	for i := range bar {
		if total > 0 {
			bar[i].Frac = float64(bar[i].N) / float64(total)
		}
		bar[i].Pct = pct(bar[i].N, total)
	}
}

// perCause matches the "[class, code] fix" paragraphs a summary check joins together.
var perCause = regexp.MustCompile(`^\[[a-z-]+, [^\]\n]*\] `)

// command matches a line to set as code: a comment, a variable, a Verb-Noun cmdlet, or
// deputy-cli; an indented line continues the command above it.
var command = regexp.MustCompile(`^(#|\$|[A-Z][a-z]+-[A-Z][A-Za-z]*\b|deputy-cli )`)

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

// paragraphs splits a remediation into prose and commands, so reports set prose as text
// and commands as code: at blank lines, and where a run of command lines starts or ends
// (remediations often put the commands right under their sentence).
func paragraphs(s string) []para {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return nil
	}
	var out []para
	for _, p := range blankLine.Split(s, -1) {
		p = strings.Trim(p, "\n")
		if strings.TrimSpace(p) == "" {
			continue
		}
		start, prevCode := len(out), false
		for _, l := range strings.Split(p, "\n") {
			code := command.MatchString(l) || (prevCode && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")))
			prevCode = code
			if n := len(out); n > start && out[n-1].Code == code {
				out[n-1].Text += "\n" + l
				continue
			}
			out = append(out, para{Code: code, Text: l})
		}
		// Commands split only by a blank line stay one block.
		if start > 0 && out[start-1].Code && out[start].Code {
			out[start-1].Text += "\n\n" + out[start].Text
			out = append(out[:start], out[start+1:]...)
		}
	}
	return out
}
