package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"deputy/internal/result"
)

// Column of the mailbox table.
type Column int

const (
	ColStatus Column = iota
	ColAddress
	ColKind
	ColClass
	ColCode
	ColLatency
	ColAttempts
	numColumns
)

// Columns shown only for Exchange Online runs that prove Microsoft Graph: beyond
// numColumns so tables built for the seven fixed columns keep working. Columns() says
// which to show.
const (
	ColProtocol  Column = numColumns + iota // ews | graph
	ColMigration                            // the address's verdict (protocol both)
)

var columnTitles = [numColumns]string{"Status", "Mailbox", "Kind", "Class", "Code", "Latency", "Tries"}

// Title is the column's header text.
func (c Column) Title() string {
	switch c {
	case ColProtocol:
		return "Protocol"
	case ColMigration:
		return "Migration"
	}
	if c < 0 || c >= numColumns {
		return ""
	}
	return columnTitles[c]
}

// Filter selects the rows the table shows. Zero values match everything.
type Filter struct {
	Status result.Status
	Class  result.Class
	// Verdict is a migration verdict (both-ready, ews-only, graph-only, neither).
	Verdict string
	Search  string // case-insensitive substring of address, code or message
}

// MailboxModel holds the mailbox results and the sorted, filtered view the table shows.
// Sorting and filtering happen here, on indices, so the widget only ever asks for the
// handful of visible cells — 10,000 rows stay smooth.
type MailboxModel struct {
	rows   []result.Mailbox
	view   []int
	sort   Column
	desc   bool
	filter Filter
	search string // lower-cased filter.Search

	graph   bool              // some row is a Graph row
	verdict map[string]string // lower-cased address → migration verdict
}

// SetMigration records the per-address migration verdicts (result.Migration, protocol
// both); nil clears them.
func (m *MailboxModel) SetMigration(mg *result.Migration) {
	m.verdict = nil
	if mg != nil {
		m.verdict = make(map[string]string, len(mg.Addresses))
		for _, a := range mg.Addresses {
			m.verdict[strings.ToLower(a.Address)] = a.Verdict
		}
	}
	m.apply()
}

// Verdict is the migration verdict of an address ("" without a migration view).
func (m *MailboxModel) Verdict(address string) string { return m.verdict[strings.ToLower(address)] }

// ColumnAt is the i-th shown column (Columns).
func (m *MailboxModel) ColumnAt(i int) (Column, bool) {
	cols := m.Columns()
	if i < 0 || i >= len(cols) {
		return 0, false
	}
	return cols[i], true
}

// AllVerdicts is the migration filter's "no filter" choice; VerdictChoices the others.
const AllVerdicts = "All verdicts"

// VerdictChoices are the migration verdicts, in the order a migration plan reads them.
var VerdictChoices = []string{result.VerdictEWSOnly, result.VerdictNeither, result.VerdictGraphOnly, result.VerdictBothReady, result.VerdictUntested}

// Columns are the columns to show: the fixed ones, with Protocol (when the result has
// Graph rows) and Migration (when it has verdicts) right after the address — "mailbox,
// protocol, verdict" is how a migration plan reads, and they stay in view however
// narrow the window.
func (m *MailboxModel) Columns() []Column {
	cols := make([]Column, 0, numColumns+2)
	cols = append(cols, ColStatus, ColAddress)
	if m.graph {
		cols = append(cols, ColProtocol)
	}
	if len(m.verdict) > 0 {
		cols = append(cols, ColMigration)
	}
	for c := ColAddress + 1; c < numColumns; c++ {
		cols = append(cols, c)
	}
	return cols
}

// NewMailboxModel returns an empty model sorted by status, worst first.
func NewMailboxModel() *MailboxModel { return &MailboxModel{sort: ColStatus, desc: true} }

// Set replaces all rows.
func (m *MailboxModel) Set(rows []result.Mailbox) {
	m.rows = slices.Clone(rows)
	m.verdict = nil // a new result: SetMigration brings its verdicts
	m.apply()
}

// Append adds rows (from a running diagnosis).
func (m *MailboxModel) Append(rows ...result.Mailbox) {
	m.rows = append(m.rows, rows...)
	m.apply()
}

// Total is the number of rows before filtering.
func (m *MailboxModel) Total() int { return len(m.rows) }

// Len is the number of rows the view shows.
func (m *MailboxModel) Len() int { return len(m.view) }

// Row returns the i-th visible row.
func (m *MailboxModel) Row(i int) (result.Mailbox, bool) {
	if i < 0 || i >= len(m.view) {
		return result.Mailbox{}, false
	}
	return m.rows[m.view[i]], true
}

// Index returns the visible position of address, or -1.
func (m *MailboxModel) Index(address string) int {
	for i, j := range m.view {
		if strings.EqualFold(m.rows[j].Address, address) {
			return i
		}
	}
	return -1
}

// Sort returns the current sort column and direction.
func (m *MailboxModel) Sort() (Column, bool) { return m.sort, m.desc }

// SetSort sorts by col; desc puts the largest (or worst) first.
func (m *MailboxModel) SetSort(col Column, desc bool) {
	if col < 0 || (col >= numColumns && col != ColProtocol && col != ColMigration) {
		return
	}
	m.sort, m.desc = col, desc
	m.apply()
}

// ToggleSort sorts by col, flipping the direction if col is already the sort column.
// Status starts worst-first; other columns start ascending.
func (m *MailboxModel) ToggleSort(col Column) {
	if col == m.sort {
		m.SetSort(col, !m.desc)
		return
	}
	m.SetSort(col, col == ColStatus || col == ColLatency || col == ColAttempts)
}

// Filter returns the current filter.
func (m *MailboxModel) Filter() Filter { return m.filter }

// SetFilter changes which rows are visible.
func (m *MailboxModel) SetFilter(f Filter) {
	m.filter = f
	m.search = strings.ToLower(strings.TrimSpace(f.Search))
	m.apply()
}

func (m *MailboxModel) match(r *result.Mailbox) bool {
	if m.filter.Status != "" && r.Status != m.filter.Status {
		return false
	}
	if m.filter.Class != "" && r.Class != m.filter.Class {
		return false
	}
	if m.filter.Verdict != "" && m.Verdict(r.Address) != m.filter.Verdict {
		return false
	}
	if m.search == "" {
		return true
	}
	return containsFold(r.Address, m.search) || containsFold(r.Code, m.search) ||
		containsFold(r.Message, m.search) || containsFold(string(r.Class), m.search)
}

// containsFold reports whether s contains lower (already lower-case), ASCII-fast.
func containsFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	return strings.Contains(strings.ToLower(s), lower)
}

func (m *MailboxModel) apply() {
	m.view = m.view[:0]
	m.graph = false
	for i := range m.rows {
		if m.rows[i].Protocol == result.Graph {
			m.graph = true
		}
	}
	for i := range m.rows {
		if m.match(&m.rows[i]) {
			m.view = append(m.view, i)
		}
	}
	cmpCol := m.comparer()
	slices.SortStableFunc(m.view, func(a, b int) int {
		ra, rb := &m.rows[a], &m.rows[b]
		c := cmpCol(ra, rb)
		if m.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		// Ties always read in address order, whatever the direction.
		return cmp.Compare(strings.ToLower(ra.Address), strings.ToLower(rb.Address))
	})
}

func (m *MailboxModel) comparer() func(a, b *result.Mailbox) int {
	switch m.sort {
	case ColAddress:
		return func(a, b *result.Mailbox) int {
			return cmp.Compare(strings.ToLower(a.Address), strings.ToLower(b.Address))
		}
	case ColKind:
		return func(a, b *result.Mailbox) int { return cmp.Compare(a.Kind, b.Kind) }
	case ColClass:
		return func(a, b *result.Mailbox) int { return cmp.Compare(classRank(a.Class), classRank(b.Class)) }
	case ColCode:
		return func(a, b *result.Mailbox) int { return cmp.Compare(a.Code, b.Code) }
	case ColLatency:
		return func(a, b *result.Mailbox) int { return cmp.Compare(a.LatencyMs, b.LatencyMs) }
	case ColAttempts:
		return func(a, b *result.Mailbox) int { return cmp.Compare(a.Attempts, b.Attempts) }
	case ColProtocol:
		return func(a, b *result.Mailbox) int { return cmp.Compare(protocolOf(a), protocolOf(b)) }
	case ColMigration:
		return func(a, b *result.Mailbox) int { return cmp.Compare(m.Verdict(a.Address), m.Verdict(b.Address)) }
	}
	return func(a, b *result.Mailbox) int { return cmp.Compare(a.Status.Rank(), b.Status.Rank()) }
}

func classRank(c result.Class) int {
	if i := slices.Index(result.Classes, c); i >= 0 {
		return i
	}
	return len(result.Classes)
}

// Cell is the text of one visible cell.
func (m *MailboxModel) Cell(row int, col Column) string {
	r, ok := m.Row(row)
	if !ok {
		return ""
	}
	switch col {
	case ColProtocol:
		return protocolOf(&r)
	case ColMigration:
		return m.Verdict(r.Address)
	}
	return mailboxCell(&r, col)
}

func protocolOf(r *result.Mailbox) string {
	if r.Protocol == "" {
		return result.EWS
	}
	return r.Protocol
}

// MigrationDetail is the detail pane's migration part for an address: both protocols'
// outcome and the verdict ("" when the result has no migration view).
func MigrationDetail(r *result.Result, address string) string {
	return migrationDetail(r, address, "")
}

// migrationDetail is MigrationDetail without the fix of protocol shown (ews | graph),
// which the pane shows below it with that row's detail.
func migrationDetail(r *result.Result, address, shown string) string {
	if r == nil || r.Migration == nil {
		return ""
	}
	var b strings.Builder
	for _, a := range r.Migration.Addresses {
		if strings.EqualFold(a.Address, address) {
			fmt.Fprintf(&b, "Migration to Microsoft Graph: %s", verdictText(a.Verdict))
			break
		}
	}
	for _, mb := range r.Mailboxes {
		if !strings.EqualFold(mb.Address, address) {
			continue
		}
		name := "EWS"
		if mb.Protocol == result.Graph {
			name = "Graph"
		}
		fmt.Fprintf(&b, "\n%s: %s", name, statusLabel(mb.Status))
		if mb.Class != "" {
			fmt.Fprintf(&b, " — %s", mb.Class)
		}
		if mb.Code != "" {
			fmt.Fprintf(&b, " (%s)", mb.Code)
		}
		if mb.Status != result.Pass && mb.Remediation != "" && protocolOf(&mb) != shown {
			fmt.Fprintf(&b, "\n  Fix: %s", mb.Remediation)
		}
	}
	return strings.TrimSpace(b.String())
}

func verdictText(v string) string {
	switch v {
	case result.VerdictEWSOnly:
		return "EWS only — a migration blocker: works today, not through Graph"
	case result.VerdictUntested:
		return result.VerdictText(v) + " (the run was cancelled, or only one protocol found this address)"
	}
	return result.VerdictText(v)
}

func mailboxCell(r *result.Mailbox, col Column) string {
	switch col {
	case ColStatus:
		return statusLabel(r.Status)
	case ColAddress:
		return r.Address
	case ColKind:
		return r.Kind
	case ColClass:
		return string(r.Class)
	case ColCode:
		return r.Code
	case ColLatency:
		if r.LatencyMs == 0 && r.Status == result.Skip {
			return ""
		}
		return fmt.Sprintf("%d ms", r.LatencyMs)
	case ColAttempts:
		if r.Attempts == 0 {
			return ""
		}
		return strconv.Itoa(r.Attempts)
	}
	return ""
}

// statusLabel is a status in words: the table never relies on colour alone.
func statusLabel(s result.Status) string {
	switch s {
	case result.Pass:
		return "Pass"
	case result.Warn:
		return "Warning"
	case result.Fail:
		return "Fail"
	case result.Skip:
		return "Skipped"
	}
	return string(s)
}

// MailboxDetail is the text of the detail pane for one mailbox.
func MailboxDetail(r result.Mailbox) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) — %s", r.Address, r.Kind, statusLabel(r.Status))
	if r.Class != "" {
		fmt.Fprintf(&b, " — class %s", r.Class)
	}
	if r.Code != "" {
		fmt.Fprintf(&b, " — code %s", r.Code)
	}
	fmt.Fprintf(&b, "\nRead: %s · Write: %s · Attempts: %d · Latency: %d ms",
		statusLabel(r.Read), statusLabel(r.Write), r.Attempts, r.LatencyMs)
	if r.BackoffMs > 0 {
		fmt.Fprintf(&b, " · Server back-off: %d ms", r.BackoffMs)
	}
	if r.Message != "" {
		fmt.Fprintf(&b, "\nServer said: %s", r.Message)
	}
	if r.Remediation != "" {
		fmt.Fprintf(&b, "\nFix: %s", r.Remediation)
	}
	return b.String()
}
