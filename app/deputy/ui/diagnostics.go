package ui

import (
	"fmt"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"deputy/internal/result"
)

var columnWidths = [numColumns]float32{88, 240, 56, 180, 230, 76, 52}

// compactWidths are the widths when the Protocol (and Migration) column shows: all nine
// fit the table of a 1200-pixel window. Address, class and code give up what usual
// values do not need; a longer one ends in "…" and the detail pane has it in full.
var compactWidths = map[Column]float32{
	ColStatus: 88, ColAddress: 200, ColProtocol: 74, ColMigration: 90, ColKind: 48,
	ColClass: 164, ColCode: 172, ColLatency: 62, ColAttempts: 42,
}

// columnWidth is a mailbox column's width, compact (beside the Graph columns) or not.
func columnWidth(c Column, compact bool) float32 {
	if c >= 0 && c < numColumns && !compact {
		return columnWidths[c]
	}
	return compactWidths[c]
}

// statusIcon pairs every status with its own shape, not only a colour.
func statusIcon(s result.Status) fyne.Resource {
	switch s {
	case result.Pass:
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case result.Warn:
		return theme.NewWarningThemedResource(theme.WarningIcon())
	case result.Fail:
		return theme.NewErrorThemedResource(theme.CancelIcon())
	case result.Skip:
		return theme.NewDisabledResource(theme.MediaSkipNextIcon())
	}
	return theme.NewThemedResource(theme.MoreHorizontalIcon()) // running
}

// Status filter choices, in Select order.
var statusFilters = []struct {
	Label  string
	Status result.Status
}{
	{"All statuses", ""}, {"Failed", result.Fail}, {"Warnings", result.Warn},
	{"Passed", result.Pass}, {"Skipped", result.Skip},
}

const allClasses = "All classes"

// DiagnosticsView is the Diagnostics tab: run controls, progress, checks, mailboxes.
type DiagnosticsView struct {
	Run, Cancel, Export *widget.Button
	bar                 *widget.ProgressBar
	progress            *widget.Label
	verdict             *widget.Label
	verdictIcon         *widget.Icon

	checks      []result.Check
	checkList   *widget.List
	checkSel    int
	checkTitle  *widget.Label
	checkIcon   *widget.Icon
	checkText   *widget.Label
	evidence    *widget.Label
	remediation *widget.Label
	copyRem     *widget.Button
	Trust       *widget.Button

	Model     *MailboxModel
	table     *widget.Table
	statusSel *widget.Select
	classSel  *widget.Select
	// verdictSel filters by migration verdict; shown only for a result with a migration view.
	verdictSel *widget.Select
	search     *widget.Entry
	count      *widget.Label
	detail     *widget.Label
	copyDet    *widget.Button
	sized      []Column // the columns the widths were set for
	selected   string   // address of the selected mailbox
	reselect   bool     // refreshTable is restoring the selection, not the user choosing

	// The pane beside the checks shows what was clicked last: a check or a mailbox.
	checkPane, mailboxPane fyne.CanvasObject

	running  bool
	started  time.Time
	Result   *result.Result
	content  fyne.CanvasObject
	clipSink func(string)

	// OnRun, OnCancel, OnExport are wired by the window; OnTrust gets the certificate
	// of a failed tls check.
	OnRun, OnCancel, OnExport func()
	OnTrust                   func(*result.CertInfo)
}

// NewDiagnosticsView builds the tab; copy puts text on the clipboard.
func NewDiagnosticsView(copy func(string)) *DiagnosticsView {
	d := &DiagnosticsView{Model: NewMailboxModel(), checkSel: -1, clipSink: copy}
	call := func(f *func()) func() {
		return func() {
			if *f != nil {
				(*f)()
			}
		}
	}
	d.Run = widget.NewButtonWithIcon("Run", theme.MediaPlayIcon(), call(&d.OnRun))
	d.Run.Importance = widget.HighImportance
	d.Cancel = widget.NewButtonWithIcon("Cancel", theme.MediaStopIcon(), call(&d.OnCancel))
	d.Cancel.Disable()
	d.Export = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), call(&d.OnExport))
	d.Export.Disable()
	d.bar = widget.NewProgressBar()
	d.bar.TextFormatter = func() string { return fmt.Sprintf("%.0f%%", d.bar.Value*100) }
	d.progress = widget.NewLabel("Run: Enter or Ctrl+R. Esc cancels.")
	d.progress.Truncation = fyne.TextTruncateEllipsis
	d.verdict = widget.NewLabel("")
	d.verdict.TextStyle.Bold = true
	d.verdict.Wrapping = fyne.TextWrapWord
	d.verdictIcon = widget.NewIcon(nil)

	d.checkList = widget.NewList(
		func() int { return len(d.checks) },
		func() fyne.CanvasObject {
			title := widget.NewLabel("Service mailbox reachable")
			title.TextStyle.Bold = true
			title.Truncation = fyne.TextTruncateEllipsis
			sum := widget.NewLabel("summary")
			sum.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, widget.NewIcon(statusIcon(result.Pass)), nil,
				container.New(layout.NewCustomPaddedVBoxLayout(0), title, sum))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(d.checks) {
				return
			}
			c := d.checks[i]
			row := o.(*fyne.Container)
			row.Objects[1].(*widget.Icon).SetResource(statusIcon(c.Status))
			inner := row.Objects[0].(*fyne.Container)
			inner.Objects[0].(*widget.Label).SetText(c.Title)
			inner.Objects[1].(*widget.Label).SetText(shown(c.Summary))
		})
	d.checkList.OnSelected = func(i widget.ListItemID) { d.checkSel = i; d.showCheck(); d.showPane(false) }

	d.checkTitle = widget.NewLabel("Select a check to see its evidence and the fix.")
	d.checkTitle.TextStyle.Bold = true
	d.checkTitle.Wrapping = fyne.TextWrapWord
	d.checkIcon = widget.NewIcon(nil)
	d.checkText = widget.NewLabel("")
	d.checkText.Wrapping = fyne.TextWrapWord
	d.evidence = mono()
	d.remediation = mono()
	d.copyRem = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		d.copy(d.remediation.Text)
	})
	d.copyRem.Hide()
	d.Trust = widget.NewButtonWithIcon("Trust this certificate…", theme.ConfirmIcon(), func() {
		if c := d.selectedCheck(); c != nil && c.Cert != nil && d.OnTrust != nil {
			d.OnTrust(c.Cert)
		}
	})
	d.Trust.Importance = widget.WarningImportance
	d.Trust.Hide()

	d.table = widget.NewTableWithHeaders(
		func() (int, int) { return d.Model.Len(), len(d.Model.Columns()) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("mailbox@contoso.com")
			l.Truncation = fyne.TextTruncateEllipsis
			bg := canvas.NewRectangle(color.Transparent)
			return container.NewStack(bg, container.NewBorder(nil, nil, widget.NewIcon(nil), nil, l))
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			cell := o.(*fyne.Container)
			bg := cell.Objects[0].(*canvas.Rectangle)
			c := cell.Objects[1].(*fyne.Container)
			l, icon := c.Objects[0].(*widget.Label), c.Objects[1].(*widget.Icon)
			col, ok := d.Model.ColumnAt(id.Col)
			if !ok {
				l.SetText("")
				icon.Hide()
				return
			}
			l.SetText(d.Model.Cell(id.Row, col))
			r, _ := d.Model.Row(id.Row)
			// The whole selected row is tinted, not only the clicked cell.
			want := color.Color(color.Transparent)
			if d.selected != "" && r.Address == d.selected {
				want = theme.Color(theme.ColorNameSelection)
			}
			if bg.FillColor != want {
				bg.FillColor = want
				bg.Refresh()
			}
			if col == ColStatus {
				icon.SetResource(statusIcon(r.Status))
				icon.Show()
			} else {
				icon.Hide()
			}
		})
	d.table.ShowHeaderColumn = false
	d.table.CreateHeader = func() fyne.CanvasObject {
		b := widget.NewButton("", nil)
		b.Importance = widget.LowImportance
		b.Alignment = widget.ButtonAlignLeading
		return b
	}
	d.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		b := o.(*widget.Button)
		col, ok := d.Model.ColumnAt(id.Col)
		if !ok {
			b.SetText("")
			return
		}
		b.SetText(d.HeaderText(col))
		b.OnTapped = func() { d.SortBy(col) }
	}
	d.sizeColumns()
	d.table.OnSelected = func(id widget.TableCellID) {
		if r, ok := d.Model.Row(id.Row); ok {
			changed := d.selected != r.Address
			d.selected = r.Address
			d.showMailbox(r)
			if !d.reselect {
				d.showPane(true)
			}
			if changed {
				d.table.Refresh() // re-tint the rows
			}
		}
	}

	d.statusSel = widget.NewSelect(nil, func(string) { d.applyFilter() })
	for _, s := range statusFilters {
		d.statusSel.Options = append(d.statusSel.Options, s.Label)
	}
	d.statusSel.SetSelected(statusFilters[0].Label)
	d.classSel = widget.NewSelect(nil, func(string) { d.applyFilter() })
	d.classSel.Options = append(d.classSel.Options, allClasses)
	for _, c := range result.Classes {
		d.classSel.Options = append(d.classSel.Options, string(c))
	}
	d.classSel.SetSelected(allClasses)
	d.verdictSel = widget.NewSelect(append([]string{AllVerdicts}, VerdictChoices...), func(string) { d.applyFilter() })
	d.verdictSel.SetSelected(AllVerdicts)
	d.verdictSel.Hide()
	d.search = widget.NewEntry()
	d.search.SetPlaceHolder("Search mailbox, code, message")
	d.search.OnChanged = func(string) { d.applyFilter() }
	d.count = widget.NewLabel("")
	d.detail = widget.NewLabel("Select a mailbox to see the server's answer and the fix.")
	d.detail.Wrapping = fyne.TextWrapWord
	d.detail.Selectable = true
	d.copyDet = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { d.copy(d.detail.Text) })
	d.copyDet.Hide()

	d.content = d.layout()
	d.updateCount()
	return d
}

// shown is text as a proportional label can draw it. Fyne 2.8 draws a symbol taken from
// its fallback font and followed by a space as "→�" (fyne-io/fyne#6216); the core's
// portal paths read "Entra admin center → App registrations → …". "›" is in the primary
// font. Monospace labels (evidence, fixes) have the arrow in their own font.
func shown(s string) string { return arrowFix.Replace(s) }

var arrowFix = strings.NewReplacer("→ ", "› ")

func mono() *widget.Label {
	l := widget.NewLabel("")
	l.TextStyle.Monospace = true
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	return l
}

func heading(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.TextStyle.Bold = true
	return l
}

func (d *DiagnosticsView) layout() fyne.CanvasObject {
	// One row of controls with the bar beside them; the numbers and the verdict below.
	// The progress text shares the row, so the table below gets the height.
	controls := container.NewBorder(nil, nil, container.NewHBox(d.Run, d.Cancel, d.Export), nil,
		container.NewGridWithColumns(2, container.NewVBox(layout.NewSpacer(), d.bar, layout.NewSpacer()), d.progress))
	top := container.NewVBox(controls, container.NewBorder(nil, nil, d.verdictIcon, nil, d.verdict))

	checkDetail := container.NewVBox(
		container.NewBorder(nil, nil, d.checkIcon, nil, d.checkTitle), d.checkText,
		heading("Evidence"), d.evidence,
		container.NewBorder(nil, nil, heading("Remediation"), d.copyRem), d.remediation,
		container.NewHBox(d.Trust),
	)
	d.checkPane = container.NewVScroll(checkDetail)
	// The mailbox detail shares the pane beside the checks, so the table below keeps the
	// full width (every column fits) and most of the height.
	d.mailboxPane = container.NewBorder(container.NewBorder(nil, nil, heading("Mailbox"), d.copyDet), nil, nil, nil,
		container.NewVScroll(d.detail))
	d.mailboxPane.Hide()
	checks := container.NewHSplit(
		container.NewBorder(heading("Checks"), nil, nil, nil, d.checkList),
		container.NewStack(d.checkPane, d.mailboxPane))
	checks.Offset = 0.36

	filters := container.NewBorder(nil, nil, container.NewHBox(heading("Mailboxes"), d.statusSel, d.classSel, d.verdictSel),
		d.count, d.search)
	body := container.NewVSplit(checks, container.NewBorder(filters, nil, nil, nil, d.table))
	body.Offset = 0.34
	return container.NewBorder(top, nil, nil, nil, body)
}

// showMigration shows the verdict filter and sizes the Protocol/Migration columns.
func (d *DiagnosticsView) showMigration(on bool) {
	if on {
		d.verdictSel.Show()
	} else {
		d.verdictSel.SetSelected(AllVerdicts)
		d.verdictSel.Hide()
	}
}

// sizeColumns sets the shown columns' widths when the columns change (the first Graph
// row of a run brings Protocol, which shifts the columns after the address).
func (d *DiagnosticsView) sizeColumns() {
	cols := d.Model.Columns()
	if slices.Equal(cols, d.sized) {
		return
	}
	d.sized = cols
	for i, c := range cols {
		d.table.SetColumnWidth(i, columnWidth(c, len(cols) > int(numColumns)))
	}
}

// showPane shows the mailbox detail (true) or the check detail beside the checks.
func (d *DiagnosticsView) showPane(mailbox bool) {
	if d.checkPane == nil {
		return
	}
	if mailbox {
		d.checkPane.Hide()
		d.mailboxPane.Show()
	} else {
		d.mailboxPane.Hide()
		d.checkPane.Show()
	}
}

// MailboxPaneVisible reports whether the pane beside the checks shows a mailbox.
func (d *DiagnosticsView) MailboxPaneVisible() bool {
	return d.mailboxPane != nil && d.mailboxPane.Visible()
}

// Content is the tab's root.
func (d *DiagnosticsView) Content() fyne.CanvasObject { return d.content }

func (d *DiagnosticsView) copy(s string) {
	if d.clipSink != nil && s != "" {
		d.clipSink(s)
	}
}

// HeaderText is a column header with its sort arrow.
func (d *DiagnosticsView) HeaderText(col Column) string {
	s := col.Title()
	if c, desc := d.Model.Sort(); c == col {
		if desc {
			s += " ▼"
		} else {
			s += " ▲"
		}
	}
	return s
}

// SortBy sorts the table by col (again: the other way round).
func (d *DiagnosticsView) SortBy(col Column) {
	d.Model.ToggleSort(col)
	d.refreshTable()
}

// SetFilter selects rows by status label (statusFilters), class and search text.
func (d *DiagnosticsView) SetFilter(status, class, search string) {
	d.statusSel.SetSelected(status)
	d.classSel.SetSelected(class)
	d.search.SetText(search)
	d.applyFilter()
}

func (d *DiagnosticsView) applyFilter() {
	if d.table == nil || d.search == nil {
		return
	}
	f := Filter{Search: d.search.Text}
	for _, s := range statusFilters {
		if s.Label == d.statusSel.Selected {
			f.Status = s.Status
		}
	}
	if d.classSel.Selected != allClasses {
		f.Class = result.Class(d.classSel.Selected)
	}
	if d.verdictSel != nil && d.verdictSel.Visible() && d.verdictSel.Selected != AllVerdicts {
		f.Verdict = d.verdictSel.Selected
	}
	if f != d.Model.Filter() {
		d.Model.SetFilter(f)
		d.refreshTable()
	}
}

func (d *DiagnosticsView) refreshTable() {
	d.sizeColumns()
	d.table.Refresh()
	d.updateCount()
	// Keep the selection on the same mailbox across sorting and filtering.
	d.reselect = true
	defer func() { d.reselect = false }()
	d.table.UnselectAll()
	if i := d.Model.Index(d.selected); i >= 0 && d.selected != "" {
		d.table.Select(widget.TableCellID{Row: i, Col: int(ColAddress)})
	}
}

func (d *DiagnosticsView) updateCount() {
	if d.Model.Len() == d.Model.Total() {
		noun := "mailboxes"
		if len(d.Model.verdict) > 0 { // a row per address and protocol: the verdict line counts the mailboxes
			noun = "results"
		}
		d.count.SetText(fmt.Sprintf("%s %s", thousands(d.Model.Total()), noun))
	} else {
		d.count.SetText(fmt.Sprintf("%s of %s", thousands(d.Model.Len()), thousands(d.Model.Total())))
	}
}

// CountText is the label beside the filters ("12 of 10,000").
func (d *DiagnosticsView) CountText() string { return d.count.Text }

func (d *DiagnosticsView) showMailbox(r result.Mailbox) {
	text := MailboxDetail(r)
	// In the migration view the verdict comes first — it is why the admin clicked — then
	// this row's answer and fix, under the protocol it came through.
	if m := migrationDetail(d.Result, r.Address, protocolOf(&r)); m != "" {
		through := "EWS"
		if r.Protocol == result.Graph {
			through = "Microsoft Graph"
		}
		text = m + "\n\nThrough " + through + ": " + text
	}
	d.detail.SetText(shown(text))
	d.copyDet.Show()
}

// MailboxDetailText is what the detail pane shows.
func (d *DiagnosticsView) MailboxDetailText() string { return d.detail.Text }

// SelectMailbox selects the visible row at i, as a click would.
func (d *DiagnosticsView) SelectMailbox(i int) {
	d.table.Select(widget.TableCellID{Row: i, Col: int(ColAddress)})
}

func (d *DiagnosticsView) selectedCheck() *result.Check {
	if d.checkSel < 0 || d.checkSel >= len(d.checks) {
		return nil
	}
	return &d.checks[d.checkSel]
}

// SelectCheck shows check i's detail.
func (d *DiagnosticsView) SelectCheck(i int) { d.checkList.Select(i) }

// Checks are the checks shown.
func (d *DiagnosticsView) Checks() []result.Check { return d.checks }

func (d *DiagnosticsView) showCheck() {
	c := d.selectedCheck()
	if c == nil {
		d.checkTitle.SetText("Select a check to see its evidence and the fix.")
		d.checkIcon.SetResource(nil)
		d.checkText.SetText("")
		d.evidence.SetText("")
		d.remediation.SetText("")
		d.copyRem.Hide()
		d.Trust.Hide()
		return
	}
	d.checkIcon.SetResource(statusIcon(c.Status))
	title := fmt.Sprintf("%s — %s", c.Title, statusLabel(c.Status))
	if c.Status == "" {
		title = c.Title + " — running"
	}
	d.checkTitle.SetText(title)
	text := c.Summary
	if c.Class != "" && c.Class != result.OK {
		text += fmt.Sprintf("\nClass: %s", c.Class)
		if c.Code != "" {
			text += "   Code: " + c.Code
		}
	}
	d.checkText.SetText(shown(text))
	ev := strings.Join(c.Evidence, "\n")
	if ev == "" {
		ev = "—"
	}
	if c.Cert != nil {
		ev += "\n\n" + CertText(c.Cert)
	}
	d.evidence.SetText(ev)
	if c.Remediation != "" {
		d.remediation.SetText(c.Remediation)
		d.copyRem.Show()
	} else {
		d.remediation.SetText("Nothing to fix.")
		d.copyRem.Hide()
	}
	if CanTrust(c) {
		d.Trust.Show()
	} else {
		d.Trust.Hide()
	}
}

// CanTrust reports whether a check offers "Trust this certificate…": a failed tls check
// that saw a certificate the system does not trust.
func CanTrust(c *result.Check) bool {
	return c.ID == result.CheckTLS && c.Status == result.Fail && c.Cert != nil && !c.Cert.Trusted
}

// CertText describes a certificate for evidence and the trust dialog.
func CertText(c *result.CertInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject:  %s\nIssuer:   %s\n", c.Subject, c.Issuer)
	fmt.Fprintf(&b, "Valid:    %s to %s", c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"))
	if !c.NotAfter.IsZero() && time.Now().After(c.NotAfter) {
		b.WriteString("  (EXPIRED)")
	}
	b.WriteString("\n")
	if len(c.DNSNames) > 0 {
		fmt.Fprintf(&b, "Names:    %s\n", strings.Join(c.DNSNames, ", "))
	}
	fmt.Fprintf(&b, "SHA-256:  %s", FormatFingerprint(c.SHA256))
	return b.String()
}

// FormatFingerprint groups a hex fingerprint in colon-separated byte pairs, as Windows'
// certificate dialog shows thumbprints.
func FormatFingerprint(h string) string {
	var parts []string
	for i := 0; i+2 <= len(h); i += 2 {
		parts = append(parts, strings.ToUpper(h[i:i+2]))
	}
	return strings.Join(parts, ":")
}

// Start resets the view for a new run.
func (d *DiagnosticsView) Start(now time.Time) {
	d.running = true
	d.started = now
	d.Result = nil
	d.checks = nil
	d.checkSel = -1
	d.checkList.UnselectAll()
	d.checkList.Refresh()
	d.showCheck()
	d.Model.Set(nil)
	d.Model.SetMigration(nil)
	d.showMigration(false)
	d.selected = ""
	d.detail.SetText("")
	d.copyDet.Hide()
	d.showPane(false)
	d.refreshTable()
	d.bar.SetValue(0)
	d.progress.SetText("Starting…")
	d.verdict.SetText("")
	d.verdictIcon.SetResource(nil)
	d.Run.Disable()
	d.Cancel.Enable()
	d.Export.Disable()
}

// Running reports whether a run is in progress.
func (d *DiagnosticsView) Running() bool { return d.running }

// Apply takes in one coalesced batch of progress.
func (d *DiagnosticsView) Apply(u RunUpdate) {
	for _, c := range u.Checks {
		found := false
		for i := range d.checks {
			if d.checks[i].ID == c.ID {
				d.checks[i] = c
				found = true
			}
		}
		if !found {
			d.checks = append(d.checks, c)
		}
	}
	if len(u.Checks) > 0 {
		d.checkList.Refresh()
		d.showCheck()
	}
	if len(u.Mailboxes) > 0 {
		d.Model.Append(u.Mailboxes...)
		d.refreshTable()
	}
	if u.Progress.Total > 0 {
		d.bar.SetValue(u.Progress.Fraction())
	}
	d.progress.SetText(u.Progress.Text())
}

// ProgressText is the line under the progress bar.
func (d *DiagnosticsView) ProgressText() string { return d.progress.Text }

// Finish shows a finished (or cancelled) run's result; err is a run that could not start.
func (d *DiagnosticsView) Finish(r *result.Result, err error, now time.Time) {
	d.running = false
	d.Run.Enable()
	d.Cancel.Disable()
	if err != nil && r == nil {
		d.progress.SetText("")
		d.verdict.SetText(shown("Could not run: " + err.Error()))
		d.verdictIcon.SetResource(statusIcon(result.Fail))
		return
	}
	d.SetResult(r)
	took := now.Sub(d.started).Round(100 * time.Millisecond)
	if r.Cancelled {
		d.progress.SetText(fmt.Sprintf("Cancelled after %s", took))
	} else {
		d.bar.SetValue(1)
		d.progress.SetText(fmt.Sprintf("Finished in %s", took))
	}
}

// SetResult shows a complete result (a finished run, or one opened from a file).
func (d *DiagnosticsView) SetResult(r *result.Result) {
	d.Result = r
	d.checks = append([]result.Check(nil), r.Checks...)
	d.checkList.UnselectAll()
	d.checkSel = -1
	d.checkList.Refresh()
	d.Model.Set(r.Mailboxes)
	d.Model.SetMigration(r.Migration)
	d.showMigration(r.Migration != nil)
	d.refreshTable()
	if d.selected == "" || d.Model.Index(d.selected) < 0 {
		d.detail.SetText("Select a mailbox to see the server's answer and the fix.")
		d.copyDet.Hide()
	}
	d.verdict.SetText(shown(VerdictText(r)))
	d.verdictIcon.SetResource(statusIcon(r.Verdict))
	d.Export.Enable()
	// Open the first problem, so the fix is on screen without a click.
	for i, c := range d.checks {
		if c.Status == result.Fail || c.Status == result.Warn {
			d.checkList.Select(i)
			return
		}
	}
	if len(d.checks) > 0 {
		d.checkList.Select(len(d.checks) - 1)
	}
}

// VerdictText is the one-line summary of a result.
func VerdictText(r *result.Result) string {
	s := r.Summary
	var b strings.Builder
	switch {
	case r.Cancelled:
		b.WriteString("Cancelled — partial result. ")
	case r.Verdict == result.Pass:
		b.WriteString("Ready: the service account can act as every mailbox tested. ")
	case r.Verdict == result.Warn:
		b.WriteString("Works, with warnings. ")
	default:
		b.WriteString("Not ready. ")
	}
	switch {
	case s.Mailboxes > 0 && r.Migration != nil:
		b.WriteString(bothCounts(r))
	case s.Mailboxes > 0:
		fmt.Fprintf(&b, "%s of %s mailboxes%s passed%s.", thousands(s.Passed), thousands(s.Mailboxes), r.KindSplit(), notPassed(s))
	default:
		var failed []string
		for _, c := range r.Checks {
			if c.Status == result.Fail {
				failed = append(failed, c.Title)
			}
		}
		if len(failed) > 0 {
			b.WriteString("Failed: " + strings.Join(failed, ", ") + ".")
		}
	}
	if r.Server.Version != "" {
		b.WriteString("  Server: " + r.Server.Version)
	}
	if r.Migration != nil { // the line the migration is signed off by: its own
		b.WriteString("\nMigration to Graph: " + r.Migration.Counts() + ".")
	}
	return b.String()
}

// notPassed is ", 3 failed, 1 with warnings, 2 skipped" (only what occurred).
func notPassed(s result.Summary) string {
	var b strings.Builder
	if s.Failed > 0 {
		fmt.Fprintf(&b, ", %s failed", thousands(s.Failed))
	}
	if s.Warned > 0 {
		fmt.Fprintf(&b, ", %s with warnings", thousands(s.Warned))
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %s skipped", thousands(s.Skipped))
	}
	return b.String()
}

// bothCounts is the verdict's numbers for protocol both: every address has a row per
// protocol, so the summary's row counts would double them; count each mailbox once and
// say how each protocol fared.
func bothCounts(r *result.Result) string {
	n, kinds, ews, graph := r.Addresses()
	return fmt.Sprintf("%s mailboxes%s, each through EWS and Graph — EWS: %s passed%s; Graph: %s passed%s.",
		thousands(n), kinds, thousands(ews.Passed), notPassed(ews), thousands(graph.Passed), notPassed(graph))
}

// VerdictLine is what the verdict label shows.
func (d *DiagnosticsView) VerdictLine() string { return d.verdict.Text }
