package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"

	"deputy/internal/result"
)

// A4 portrait in millimetres.
const (
	pageW   = 210.0
	pageH   = 297.0
	margin  = 15.0
	bottom  = 17.0
	contW   = pageW - 2*margin
	sans    = "go"
	mono    = "gomono"
	nbAlias = "{nb}"
)

type rgb struct{ r, g, b int }

var (
	colPass  = rgb{26, 127, 55}
	colWarn  = rgb{154, 103, 0}
	colWarnB = rgb{212, 167, 44}
	colFail  = rgb{207, 34, 46}
	colSkip  = rgb{140, 149, 159}
	colInk   = rgb{31, 35, 40}
	colMuted = rgb{89, 99, 110}
	colLine  = rgb{209, 217, 224}
	colCode  = rgb{246, 248, 250}
	colHead  = rgb{238, 241, 244}
	colZebra = rgb{250, 251, 252}
)

// segColor is the colour of a summary bar segment (the same as the HTML's).
func segColor(key string) rgb {
	switch key {
	case "pass", result.VerdictBothReady:
		return colPass
	case "warn":
		return colWarnB
	case "fail", result.VerdictEWSOnly:
		return colFail
	case result.VerdictGraphOnly:
		return rgb{111, 221, 139}
	case result.VerdictNeither:
		return rgb{87, 96, 106}
	case result.VerdictUntested:
		return rgb{208, 215, 222}
	}
	return colSkip
}

func statusColor(s result.Status) rgb {
	switch s {
	case result.Pass:
		return colPass
	case result.Warn:
		return colWarn
	case result.Fail:
		return colFail
	}
	return colSkip
}

type column struct {
	title string
	w     float64
	align string
}

type pdfDoc struct {
	*fpdf.Fpdf
	v     *view
	table []column // when set, every new page starts with this table's header
}

// PDF writes the report as an A4 PDF: a title page an admin reads in ten seconds, then
// the checks with their fixes, the mailbox tables (headers repeated on every page), the
// setup script and the traces. Every page carries "Page N of M".
func PDF(w io.Writer, r *result.Result, o Options) error {
	if r == nil {
		return fmt.Errorf("report: no result")
	}
	v := newView(r, o)
	f := fpdf.New("P", "mm", "A4", "")
	d := &pdfDoc{Fpdf: f, v: v}
	f.SetTitle(v.Title, true)
	f.SetCreator("Deputy", true)
	f.SetAuthor(strings.TrimSpace(r.Tool.Name+" "+r.Tool.Version), true)
	f.AddUTF8FontFromBytes(sans, "", goregular.TTF)
	f.AddUTF8FontFromBytes(sans, "B", gobold.TTF)
	f.AddUTF8FontFromBytes(mono, "", gomono.TTF)
	f.AddUTF8FontFromBytes(mono, "B", gomonobold.TTF)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, bottom)
	f.AliasNbPages(nbAlias)
	f.SetHeaderFunc(d.header)
	f.SetFooterFunc(d.footer)

	d.titlePage()
	d.checks()
	d.migration()
	d.mailboxes()
	d.script()
	d.traces()

	if err := f.Error(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := f.Output(bw); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	return bw.Flush()
}

func (d *pdfDoc) color(c rgb)                     { d.SetTextColor(c.r, c.g, c.b) }
func (d *pdfDoc) fill(c rgb)                      { d.SetFillColor(c.r, c.g, c.b) }
func (d *pdfDoc) draw(c rgb)                      { d.SetDrawColor(c.r, c.g, c.b) }
func (d *pdfDoc) font(style string, size float64) { d.SetFont(sans, style, size) }

// line cleans a value for a one-line cell: no control characters.
func line(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// block cleans text for MultiCell: keeps line breaks, expands tabs, drops other controls.
func block(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\t", "    ")
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// fit shortens s with an ellipsis until it fits width w (current font).
func (d *pdfDoc) fit(s string, w float64) string {
	s = line(s)
	avail := w - 2*d.GetCellMargin()
	if d.GetStringWidth(s) <= avail {
		return s
	}
	rs := []rune(s)
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.GetStringWidth(string(rs[:mid])+"…") <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(rs[:lo]) + "…"
}

func (d *pdfDoc) header() {
	if d.PageNo() > 1 {
		d.font("", 8)
		d.color(colMuted)
		d.SetXY(margin, 8)
		d.CellFormat(contW, 4, d.fit(d.v.Title, contW), "", 0, "L", false, 0, "")
		d.draw(colLine)
		d.SetLineWidth(0.2)
		d.Line(margin, 12.5, pageW-margin, 12.5)
		d.SetY(margin)
	}
	if d.table != nil {
		d.tableHeader()
	}
	d.color(colInk)
}

func (d *pdfDoc) footer() {
	d.SetY(-12)
	d.font("", 8)
	d.color(colMuted)
	d.CellFormat(contW-32, 5, d.fit(d.v.Footer, contW-32), "", 0, "L", false, 0, "")
	// Left-aligned in a fixed cell: the page-count alias is replaced after layout, so a
	// right-aligned cell would be measured with the alias, not the number.
	d.SetX(pageW - margin - 28)
	d.CellFormat(28, 5, "Page "+strconv.Itoa(d.PageNo())+" of "+nbAlias, "", 0, "L", false, 0, "")
}

func (d *pdfDoc) heading(s string) {
	d.table = nil
	if d.GetY() > pageH-bottom-30 {
		d.AddPage()
	}
	d.Ln(3)
	d.font("B", 14)
	d.color(colInk)
	d.CellFormat(contW, 8, d.fit(s, contW), "", 1, "L", false, 0, "")
	d.draw(colLine)
	d.SetLineWidth(0.3)
	y := d.GetY()
	d.Line(margin, y, pageW-margin, y)
	d.Ln(3)
}

// badge draws a status pill at the current position and moves right of it.
func (d *pdfDoc) badge(s result.Status, h float64) {
	x, y := d.GetXY()
	d.fill(statusColor(s))
	d.RoundedRect(x, y+(h-4.6)/2, 13, 4.6, 0.8, "1234", "F")
	d.SetFont(sans, "B", 7.5)
	d.SetTextColor(255, 255, 255)
	d.SetXY(x, y)
	d.CellFormat(13, h, statusText(s), "", 0, "C", false, 0, "")
	d.SetXY(x+15, y)
	d.color(colInk)
}

func (d *pdfDoc) titlePage() {
	v := d.v
	d.AddPage()
	d.font("B", 10)
	d.color(colMuted)
	d.CellFormat(contW, 5, "DEPUTY", "", 1, "L", false, 0, "")
	d.font("B", 22)
	d.color(colInk)
	d.MultiCell(contW, 10, block(v.Heading), "", "L", false)
	if name := d.v.Facts; len(name) > 0 && name[0].K == "Profile" {
		d.font("", 13)
		d.color(colMuted)
		d.MultiCell(contW, 6.5, block(name[0].V), "", "L", false)
	}
	d.Ln(6)

	// Verdict band.
	y := d.GetY()
	c := statusColor(v.Verdict)
	d.fill(c)
	d.Rect(margin, y, contW, 16, "F")
	d.SetXY(margin+6, y)
	d.SetFont(sans, "B", 20)
	d.SetTextColor(255, 255, 255)
	d.CellFormat(contW-12, 16, d.fit(v.VerdictText, contW-12), "", 1, "L", false, 0, "")
	d.SetY(y + 19)
	d.font("", 11.5)
	d.color(colInk)
	d.MultiCell(contW, 6, block(v.VerdictLine+" · "+v.ChecksLine), "", "L", false)
	d.Ln(2)

	if v.Mig != nil {
		d.font("B", 11.5)
		lw := d.GetStringWidth("Migration to Microsoft Graph: ") + 1
		d.CellFormat(lw, 6, "Migration to Microsoft Graph:", "", 0, "L", false, 0, "")
		d.font("", 11.5)
		d.MultiCell(contW-lw, 6, block(v.Mig.Counts), "", "L", false)
		if v.Mig.Causes != "" {
			d.font("", 9.5)
			d.MultiCell(contW, 5, block("Why the blockers fail through Microsoft Graph: "+v.Mig.Causes+" — the fixes are under “Migration to Microsoft Graph”."), "", "L", false)
		}
		d.Ln(1)
	}
	if len(v.Bar) > 0 {
		y = d.GetY()
		d.fill(colHead)
		d.Rect(margin, y, contW, 6, "F")
		x := margin
		for _, s := range v.Bar {
			if s.N == 0 {
				continue
			}
			w := contW * s.Frac
			d.fill(segColor(s.Key))
			d.Rect(x, y, w, 6, "F")
			x += w
		}
		d.SetY(y + 8)
		d.font("", 9)
		// The legend: a swatch before each label.
		for _, s := range v.Bar {
			if d.GetX() > pageW-margin-40 {
				d.Ln(5)
			}
			x, y := d.GetXY()
			d.fill(segColor(s.Key))
			d.Rect(x, y+1.5, 2.6, 2.6, "F")
			d.SetX(x + 3.6)
			d.color(colMuted)
			d.CellFormat(d.GetStringWidth(s.Legend)+6, 5, s.Legend, "", 0, "L", false, 0, "")
		}
		d.Ln(5)
	}
	d.Ln(5)

	// Facts: set tighter when there are many (Exchange Online adds tenant, app, protocol),
	// so the causes still fit on the first page.
	lh := 5.5
	if len(v.Facts) > 10 {
		lh = 4.8
	}
	for _, f := range v.Facts {
		d.font("", 9.5)
		d.color(colMuted)
		d.CellFormat(40, lh, f.K, "", 0, "L", false, 0, "")
		d.color(colInk)
		d.MultiCell(contW-40, lh, block(f.V), "", "L", false)
	}
	if v.Generated != "" {
		d.font("", 9.5)
		d.color(colMuted)
		d.CellFormat(40, lh, "Report generated", "", 0, "L", false, 0, "")
		d.color(colInk)
		d.CellFormat(contW-40, lh, v.Generated, "", 1, "L", false, 0, "")
	}

	// Checks at a glance.
	d.Ln(6)
	d.font("B", 12)
	d.color(colInk)
	d.CellFormat(contW, 7, "Checks at a glance", "", 1, "L", false, 0, "")
	// When every check and the causes do not fit (a run of both protocols has twice the
	// checks), the checks that passed or were skipped give way: what failed matters more
	// on the first page, and the full list follows.
	checks, others := v.Checks, 0
	causes := 0.0
	if len(v.Groups) > 0 {
		causes = 11 + 6*float64(min(len(v.Groups), 4))
	}
	if d.GetY()+6*float64(len(checks))+causes > pageH-bottom {
		checks = nil
		for _, c := range v.Checks {
			if c.Status == result.Fail || c.Status == result.Warn {
				checks = append(checks, c)
			} else {
				others++
			}
		}
	}
	for _, c := range checks {
		if d.GetY() > pageH-bottom-8 {
			break // the full list follows on the next pages
		}
		d.badge(c.Status, 6)
		d.font("B", 9.5)
		title := c.Title
		if title == "" {
			title = c.ID
		}
		tw := d.GetStringWidth(title) + 3
		if tw > 60 {
			tw = 60
		}
		d.CellFormat(tw, 6, d.fit(title, tw), "", 0, "L", false, 0, "")
		d.font("", 9.5)
		d.color(colMuted)
		rest := contW - 15 - tw
		d.CellFormat(rest, 6, d.fit(c.Summary, rest), "", 1, "L", false, 0, "")
		d.color(colInk)
	}
	if others > 0 {
		d.font("", 9.5)
		d.color(colMuted)
		d.CellFormat(contW, 6, fmt.Sprintf("… and %s: see “Checks”.", plural(others, "more check passed or was skipped", "more checks passed or were skipped")), "", 1, "L", false, 0, "")
		d.color(colInk)
	}
	if len(v.Groups) > 0 && d.GetY() < pageH-bottom-20 {
		d.Ln(4)
		d.font("B", 12)
		d.CellFormat(contW, 7, "Why mailboxes failed", "", 1, "L", false, 0, "")
		for i, g := range v.Groups {
			// Room for this line and, if more follow, the "… and N more" line.
			if left := len(v.Groups) - i; left > 1 && d.GetY() > pageH-bottom-14 {
				d.font("", 9.5)
				d.color(colMuted)
				d.CellFormat(contW, 6, fmt.Sprintf("… and %d more causes: see “Mailboxes that failed”.", left), "", 1, "L", false, 0, "")
				d.color(colInk)
				break
			}
			d.badge(g.Status, 6)
			d.font("", 9.5)
			d.CellFormat(contW-15, 6, d.fit(fmt.Sprintf("%s — %s", g.Title, plural(len(g.Mailboxes), "mailbox", "mailboxes")), contW-15), "", 1, "L", false, 0, "")
		}
	}
}

// code writes text in monospace on a light background (commands, scripts, traces).
func (d *pdfDoc) code(s string, size float64) {
	d.SetFont(mono, "", size)
	d.color(colInk)
	d.fill(colCode)
	d.draw(colLine)
	h := size * 0.45
	d.MultiCell(contW, h, block(s), "", "L", true)
}

// fix writes a remediation: "HOW TO FIX" (+ note), then its prose and its commands (in a
// code box), in order.
func (d *pdfDoc) fix(ps []para, note string, w float64) {
	d.Ln(1.5)
	x := d.GetX()
	d.font("B", 8)
	d.color(colMuted)
	lw := d.GetStringWidth("HOW TO FIX") + 2
	d.CellFormat(lw, 5, "HOW TO FIX", "", 0, "L", false, 0, "")
	if note != "" {
		d.font("", 8)
		d.CellFormat(w-lw, 5, d.fit("— "+note, w-lw), "", 0, "L", false, 0, "")
	}
	d.Ln(5)
	d.color(colInk)
	for i, p := range ps {
		if i > 0 {
			d.Ln(1.2)
		}
		d.SetX(x)
		if p.Code {
			d.SetFont(mono, "", 7.6)
			d.fill(colCode)
			d.MultiCell(w, 3.8, block(p.Text), "", "L", true)
		} else {
			d.font("", 9)
			d.MultiCell(w, 4.6, block(p.Text), "", "L", false)
		}
	}
}

func (d *pdfDoc) checks() {
	d.AddPage()
	d.heading("Checks")
	if len(d.v.Checks) == 0 {
		d.font("", 10)
		d.MultiCell(contW, 5, "No checks were run.", "", "L", false)
	}
	for _, c := range d.v.Checks {
		// Keep a check's title with at least its first lines.
		if d.GetY() > pageH-bottom-22 {
			d.AddPage()
		}
		y0 := d.GetY()
		d.SetLeftMargin(margin + 3)
		d.SetX(margin + 3)
		d.badge(c.Status, 6.5)
		d.font("B", 11)
		title := c.Title
		if title == "" {
			title = c.ID
		}
		d.CellFormat(contW-18, 6.5, d.fit(title, contW-18), "", 1, "L", false, 0, "")
		if c.Summary != "" {
			d.font("", 9.5)
			d.MultiCell(contW-3, 5, block(c.Summary), "", "L", false)
		}
		var meta []string
		if c.ClassText != "" {
			meta = append(meta, c.ClassText)
		}
		if c.Code != "" {
			meta = append(meta, "server code "+c.Code)
		}
		if c.Duration != "" {
			meta = append(meta, c.Duration)
		}
		if len(meta) > 0 {
			d.font("", 8.5)
			d.color(colMuted)
			d.MultiCell(contW-3, 4.5, block(strings.Join(meta, " · ")), "", "L", false)
			d.color(colInk)
		}
		var ev []string
		if ct := c.Cert; ct != nil && c.ShowCert {
			trust := "NOT trusted"
			if ct.Trusted {
				trust = "trusted"
			}
			ev = append(ev, fmt.Sprintf("Certificate: %s, issued by %s, valid %s to %s (%s)", ct.Subject, ct.Issuer, fmtTime(ct.NotBefore), fmtTime(ct.NotAfter), trust),
				"SHA-256 "+ct.SHA256)
		}
		ev = append(ev, c.Evidence...)
		for _, e := range ev {
			d.font("", 8.5)
			d.color(colMuted)
			d.SetX(margin + 3)
			d.CellFormat(4, 4.5, "•", "", 0, "L", false, 0, "")
			d.SetLeftMargin(margin + 7)
			d.color(colInk)
			d.MultiCell(contW-7, 4.5, block(e), "", "L", false)
			d.SetLeftMargin(margin + 3)
		}
		if len(c.Fix) > 0 {
			d.fix(c.Fix, "", contW-3)
		}
		d.SetLeftMargin(margin)
		// Status stripe down the left edge of the check (same page only).
		if y1 := d.GetY(); y1 > y0 {
			d.fill(statusColor(c.Status))
			d.Rect(margin, y0, 1.2, y1-y0, "F")
		}
		d.Ln(4)
	}
}

func (d *pdfDoc) tableHeader() {
	d.font("B", 8)
	d.color(colInk)
	d.fill(colHead)
	d.draw(colLine)
	for _, c := range d.table {
		d.CellFormat(c.w, 5.5, c.title, "B", 0, c.align, true, 0, "")
	}
	d.Ln(-1)
}

func (d *pdfDoc) startTable(cols []column) {
	if d.GetY() > pageH-bottom-15 {
		d.AddPage()
	}
	d.table = cols
	d.tableHeader()
}

// row writes one table row; statuses get their colour.
func (d *pdfDoc) row(i int, cells []string, colors map[int]rgb) {
	const h = 4.8
	if d.GetY()+h > pageH-bottom {
		d.AddPage() // the header func redraws the column header
	}
	d.font("", 7.8)
	zebra := i%2 == 1
	if zebra {
		d.fill(colZebra)
	}
	for j, c := range d.table {
		if col, ok := colors[j]; ok {
			d.color(col)
		} else {
			d.color(colInk)
		}
		d.CellFormat(c.w, h, d.fit(cells[j], c.w), "", 0, c.align, zebra, 0, "")
	}
	d.Ln(-1)
}

func st(s result.Status) string {
	if s == "" {
		return ""
	}
	return statusText(s)
}

func kindText(k string) string {
	if k == result.KindUser {
		return ""
	}
	return k
}

// group writes one cause: its title, its fixes (or where they are), its mailboxes.
func (d *pdfDoc) group(g group) {
	if d.GetY() > pageH-bottom-40 {
		d.AddPage()
	}
	d.badge(g.Status, 7)
	d.font("B", 11)
	d.MultiCell(contW-15, 7, block(fmt.Sprintf("%s — %s", g.Title, plural(len(g.Mailboxes), "mailbox", "mailboxes"))), "", "L", false)
	for _, f := range g.Fixes {
		if f.Above {
			d.font("B", 8)
			d.color(colMuted)
			lw := d.GetStringWidth("HOW TO FIX") + 2
			d.CellFormat(lw, 5, "HOW TO FIX", "", 0, "L", false, 0, "")
			d.font("", 8)
			note := "as under “Migration to Microsoft Graph” above"
			if f.For != "" {
				note = line(f.For) + ": " + note
			}
			d.MultiCell(contW-lw, 5, block("— "+note), "", "L", false)
			d.color(colInk)
			continue
		}
		d.fix(f.Fix, line(f.Note), contW)
		d.Ln(2)
	}
	if g.MoreFixes > 0 {
		d.font("", 8.5)
		d.color(colMuted)
		d.MultiCell(contW, 4.5, plural(g.MoreFixes, "more mailbox has", "more mailboxes have")+" another fix: each mailbox's own is in the JSON report.", "", "L", false)
		d.color(colInk)
	}
	d.Ln(1)
	cols := []column{{"#", 10, "R"}, {"Mailbox", 60, "L"}, {"Kind", 12, "L"}, {"Server code", 40, "L"}, {"Message", 46, "L"}, {"ms", 12, "R"}}
	if g.ProtoCol {
		cols = []column{{"#", 8, "R"}, {"Mailbox", 54, "L"}, {"Protocol", 13, "L"}, {"Kind", 10, "L"}, {"Server code", 44, "L"}, {"Message", 41, "L"}, {"ms", 10, "R"}}
	}
	d.startTable(cols)
	for i, m := range g.Mailboxes {
		cells, _ := withProtocol(g.ProtoCol, m, strconv.Itoa(i+1), m.Address, kindText(m.Kind), m.Code, m.Message, strconv.FormatInt(m.LatencyMs, 10))
		d.row(i, cells, nil)
	}
	d.table = nil
	d.Ln(5)
}

// withProtocol is a mailbox row's cells (number and address first), with the Protocol
// cell after the address when on; o is how far the later cells moved (0 or 1).
func withProtocol(on bool, m result.Mailbox, num, addr string, rest ...string) (cells []string, o int) {
	cells = []string{num, addr}
	if on {
		cells, o = append(cells, protoText(m)), 1
	}
	return append(cells, rest...), o
}

func (d *pdfDoc) mailboxes() {
	v := d.v
	if len(v.Groups) > 0 {
		d.AddPage()
		d.heading("Mailboxes that failed")
		for _, g := range v.Groups {
			d.group(g)
		}
	}
	if len(v.Passed) > 0 {
		if len(v.Groups) == 0 {
			d.AddPage()
		}
		n := strconv.Itoa(len(v.Passed))
		if v.Both {
			n += " results, one per address and protocol"
		}
		title := "Mailboxes that passed (" + n + ")"
		if v.Skip > 0 {
			title = "Mailboxes that passed or were not tested (" + n + ")"
		}
		d.heading(title)
		cols := []column{{"#", 12, "R"}, {"Mailbox", 86, "L"}, {"Kind", 14, "L"}, {"Status", 16, "L"}, {"Read", 14, "L"}, {"Write", 14, "L"}, {"ms", 14, "R"}, {"Tries", 10, "R"}}
		if v.HasGraph {
			cols = []column{{"#", 12, "R"}, {"Mailbox", 72, "L"}, {"Protocol", 14, "L"}, {"Kind", 14, "L"}, {"Status", 16, "L"}, {"Read", 14, "L"}, {"Write", 14, "L"}, {"ms", 14, "R"}, {"Tries", 10, "R"}}
		}
		d.startTable(cols)
		for i, m := range v.Passed {
			cells, o := withProtocol(v.HasGraph, m, strconv.Itoa(i+1), m.Address, kindText(m.Kind), statusText(m.Status), st(m.Read), st(m.Write),
				strconv.FormatInt(m.LatencyMs, 10), strconv.Itoa(m.Attempts))
			d.row(i, cells, map[int]rgb{3 + o: statusColor(m.Status), 4 + o: statusColor(m.Read), 5 + o: statusColor(m.Write)})
		}
		d.table = nil
	}
}

// migration writes the migration section (protocol both): the blockers by Graph cause
// with their fixes, then the other addresses not ready on both.
func (d *pdfDoc) migration() {
	m := d.v.Mig
	if m == nil {
		return
	}
	d.AddPage()
	d.heading("Migration to Microsoft Graph")
	d.font("", 9.5)
	d.MultiCell(contW, 5, block(fmt.Sprintf("EWS in Exchange Online ends on 1 April 2027. Of %d addresses: %s.", m.Addresses, m.Counts)), "", "L", false)
	d.Ln(3)
	if len(m.Blockers) > 0 {
		d.font("B", 11.5)
		d.MultiCell(contW, 6, block(fmt.Sprintf("Blockers: %s through EWS today but not through Microsoft Graph", plural(m.BlockerN, "address works", "addresses work"))), "", "L", false)
		d.Ln(2)
		for _, g := range m.Blockers {
			d.group(g)
		}
	} else {
		d.badge(result.Pass, 6)
		d.font("", 9.5)
		d.MultiCell(contW-15, 6, "No address depends on EWS alone: every address that works through EWS today also works through Microsoft Graph.", "", "L", false)
		d.Ln(3)
	}
	if len(m.Others) > 0 {
		if d.GetY() > pageH-bottom-30 {
			d.AddPage()
		}
		d.font("B", 11.5)
		d.color(colInk)
		d.CellFormat(contW, 6, fmt.Sprintf("Other addresses not ready on both (%d)", len(m.Others)), "", 1, "L", false, 0, "")
		d.font("", 8.5)
		d.color(colMuted)
		d.CellFormat(contW, 5, "Their fixes are under “Mailboxes that failed”.", "", 1, "L", false, 0, "")
		d.color(colInk)
		d.startTable([]column{{"Mailbox", 58, "L"}, {"Kind", 10, "L"}, {"EWS today", 44, "L"}, {"Microsoft Graph", 44, "L"}, {"Verdict", 24, "L"}})
		for i, a := range m.Others {
			d.row(i, []string{a.Address, a.Kind, a.EWS, a.Graph, a.Verdict},
				map[int]rgb{2: keyColor(a.EWSKey), 3: keyColor(a.GraphKey), 4: keyColor(a.VerdictKey)})
		}
		d.table = nil
		d.Ln(3)
	}
	if m.Ready > 0 {
		d.font("", 9.5)
		d.color(colInk)
		d.MultiCell(contW, 5, plural(m.Ready, "address is", "addresses are")+" ready on both; listed under “Mailboxes that passed”.", "", "L", false)
	}
}

// keyColor colours a migration table cell by its status or verdict key (text, not bars:
// the pale greys of the bar are too faint for text).
func keyColor(key string) rgb {
	switch key {
	case "pass", result.VerdictGraphOnly, result.VerdictBothReady:
		return colPass
	case "fail", result.VerdictEWSOnly:
		return colFail
	case result.VerdictNeither:
		return rgb{87, 96, 106}
	}
	return colMuted
}

func (d *pdfDoc) script() {
	if d.v.Script == "" {
		return
	}
	d.AddPage()
	d.heading("Setup script")
	d.font("", 9.5)
	d.MultiCell(contW, 5, "Run it in the Exchange Management Shell (or Exchange Online PowerShell) once with -WhatIf, then without.", "", "L", false)
	d.Ln(2)
	d.code(d.v.Script, 7)
}

func (d *pdfDoc) traces() {
	if len(d.v.Traces) == 0 {
		return
	}
	d.AddPage()
	d.heading(fmt.Sprintf("Request traces (%d)", len(d.v.Traces)))
	d.font("", 8.5)
	d.color(colMuted)
	d.MultiCell(contW, 4.5, "Credentials, tokens, NTLM blobs and cookies are removed.", "", "L", false)
	d.Ln(2)
	for _, t := range d.v.Traces {
		if d.GetY() > pageH-bottom-25 {
			d.AddPage()
		}
		head := t.Step
		if t.Mailbox != "" {
			head += " · " + t.Mailbox
		}
		head += fmt.Sprintf(" — %s %s -> %d (%d ms)", t.Method, t.URL, t.Status, t.DurationMs)
		d.font("B", 8.5)
		d.color(colInk)
		d.MultiCell(contW, 4.5, block(head), "", "L", false)
		d.code(t.Request, 6.5)
		d.Ln(1)
		d.code(t.Response, 6.5)
		d.Ln(4)
	}
}
