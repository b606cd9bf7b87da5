package report

import (
	"bufio"
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"

	"deputy/internal/result"
)

var htmlFuncs = template.FuncMap{
	"lower":      statusClass,
	"status":     statusText,
	"time":       fmtTime,
	"failedRows": failedRows,
	"passedRows": passedRows,
}

// statusClass maps a status to a CSS class from a fixed set (a result read from a file
// may carry any string).
func statusClass(s result.Status) string {
	switch s {
	case result.Pass, result.Warn, result.Fail:
		return string(s)
	}
	return "skip"
}

// The mailbox tables are the bulk of a large report; rendering their rows directly (every
// value through html.EscapeString) keeps 10,000 mailboxes well under a second.
// With Graph in the result (proto), a row says which protocol it is about.
func failedRows(ms []result.Mailbox, proto bool) template.HTML {
	var b strings.Builder
	b.Grow(len(ms) * 400)
	for i, m := range ms {
		fmt.Fprintf(&b, "<tr><td class=\"num\">%d</td><td class=\"addr\">%s</td>%s<td>%s</td><td><code>%s</code></td><td class=\"msg\">%s</td>"+
			"<td class=\"s-%s\">%s</td><td class=\"s-%s\">%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td></tr>\n",
			i+1, esc(m.Address), protoCell(m, proto), esc(kindText(m.Kind)), esc(m.Code), esc(m.Message),
			statusClass(m.Read), esc(st(m.Read)), statusClass(m.Write), esc(st(m.Write)), m.LatencyMs, m.Attempts)
	}
	return template.HTML(b.String())
}

func passedRows(ms []result.Mailbox, proto bool) template.HTML {
	var b strings.Builder
	b.Grow(len(ms) * 300)
	for i, m := range ms {
		fmt.Fprintf(&b, "<tr><td class=\"num\">%d</td><td class=\"addr\">%s</td>%s<td>%s</td><td class=\"s-%s\">%s</td>"+
			"<td class=\"s-%s\">%s</td><td class=\"s-%s\">%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td></tr>\n",
			i+1, esc(m.Address), protoCell(m, proto), esc(kindText(m.Kind)), statusClass(m.Status), esc(statusText(m.Status)),
			statusClass(m.Read), esc(st(m.Read)), statusClass(m.Write), esc(st(m.Write)), m.LatencyMs, m.Attempts)
	}
	return template.HTML(b.String())
}

func protoCell(m result.Mailbox, proto bool) string {
	if !proto {
		return ""
	}
	return "<td>" + protoText(m) + "</td>"
}

func esc(s string) string { return html.EscapeString(line(s)) }

var htmlTmpl = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlSource))

// HTML writes the report as one self-contained HTML file: inline CSS, no scripts, no
// external resources, readable on screen and on paper.
func HTML(w io.Writer, r *result.Result, o Options) error {
	if r == nil {
		return fmt.Errorf("report: no result")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTmpl.Execute(bw, newView(r, o)); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return bw.Flush()
}

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Deputy">
<title>{{.Title}}</title>
<style>
:root { --pass:#1a7f37; --warn:#9a6700; --fail:#cf222e; --skip:#8c959f; --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --code:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 "Segoe UI", system-ui, -apple-system, "Helvetica Neue", Arial, sans-serif; color:var(--ink); background:#fff; }
main { max-width:1120px; margin:0 auto; padding:24px 28px 48px; }
h1 { font-size:22px; margin:0 0 2px; font-weight:600; }
h2 { font-size:17px; margin:34px 0 10px; padding-bottom:5px; border-bottom:1px solid var(--line); font-weight:600; }
h3 { font-size:15px; margin:0; font-weight:600; }
h3.part { margin:18px 0 8px; }
.sub { color:var(--muted); margin:0 0 18px; }
.summary { border:1px solid var(--line); border-left:8px solid var(--skip); border-radius:6px; padding:16px 20px; }
.summary.pass { border-left-color:var(--pass); } .summary.warn { border-left-color:var(--warn); } .summary.fail { border-left-color:var(--fail); }
.verdict { font-size:26px; font-weight:700; margin:0; }
.pass .verdict { color:var(--pass); } .warn .verdict { color:var(--warn); } .fail .verdict { color:var(--fail); }
.counts { font-size:15px; margin:4px 0 12px; }
.bar { display:flex; height:16px; border-radius:4px; overflow:hidden; background:#eaeef2; margin:0 0 6px; }
.bar span { display:block; height:100%; }
.bar .pass, .legend .pass { background:var(--pass); } .bar .warn, .legend .warn { background:#d4a72c; } .bar .fail, .legend .fail { background:var(--fail); } .bar .skip, .legend .skip { background:var(--skip); }
.bar .both-ready, .legend .both-ready { background:var(--pass); } .bar .graph-only, .legend .graph-only { background:#6fdd8b; }
.bar .ews-only, .legend .ews-only { background:var(--fail); } .bar .neither, .legend .neither { background:#57606a; } .bar .untested, .legend .untested { background:#d0d7de; }
.migline { font-size:15px; margin:0 0 4px; } .migcauses { margin:0 0 8px; color:#31373d; } .migcauses a { color:inherit; }
.legend { font-size:12px; color:var(--muted); margin:0 0 14px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin:0 4px 0 12px; vertical-align:-1px; }
.legend i:first-child { margin-left:0; }
.facts { display:grid; grid-template-columns:max-content 1fr max-content 1fr; gap:3px 14px; margin:0; font-size:13px; }
.facts dt { color:var(--muted); } .facts dd { margin:0; overflow-wrap:anywhere; }
.badge { display:inline-block; min-width:44px; text-align:center; font-size:11px; font-weight:700; letter-spacing:.04em; color:#fff; border-radius:3px; padding:1px 6px; background:var(--skip); vertical-align:1px; }
.badge.pass { background:var(--pass); } .badge.warn { background:var(--warn); } .badge.fail { background:var(--fail); }
.check { border:1px solid var(--line); border-left:4px solid var(--skip); border-radius:5px; padding:10px 14px; margin:0 0 10px; break-inside:avoid; }
.check.pass { border-left-color:var(--pass); } .check.warn { border-left-color:var(--warn); } .check.fail { border-left-color:var(--fail); }
.check p { margin:4px 0 0; }
.meta { color:var(--muted); font-size:12px; }
ul.evidence { margin:6px 0 0; padding-left:18px; font-size:13px; color:#31373d; }
ul.evidence li { overflow-wrap:anywhere; }
pre, code { font-family:"Cascadia Mono", Consolas, "DejaVu Sans Mono", Menlo, monospace; font-size:12px; }
pre { background:var(--code); border:1px solid var(--line); border-radius:4px; padding:8px 10px; margin:8px 0 0; white-space:pre-wrap; overflow-wrap:anywhere; }
.fix { font-size:11.5px; font-weight:700; color:var(--muted); margin:10px 0 0; letter-spacing:.05em; }
.fix .for { font-weight:400; letter-spacing:0; } .fix a { color:inherit; }
p.why { margin:3px 0 0; }
ul.attention { list-style:none; margin:0 0 14px; padding:0; }
ul.attention li { margin:0 0 4px; }
table { border-collapse:collapse; width:100%; font-size:12.5px; margin:8px 0 0; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #eaeef2; vertical-align:top; }
th { background:#f6f8fa; border-bottom:1px solid var(--line); font-weight:600; position:sticky; top:0; }
td.addr { white-space:nowrap; }
table.failed code { font-size:11.5px; } td.num { text-align:right; font-variant-numeric:tabular-nums; }
td.msg { color:#31373d; overflow-wrap:anywhere; }
tbody tr:nth-child(even) td { background:#fbfcfd; }
.group { margin:0 0 22px; }
.group h3 .n { color:var(--muted); font-weight:400; }
.v-ews-only { color:var(--fail); font-weight:600; } .v-neither { color:#57606a; font-weight:600; } .v-graph-only { color:var(--pass); } .v-untested { color:var(--muted); }
.s-pass { color:var(--pass); font-weight:600; } .s-warn { color:var(--warn); font-weight:600; } .s-fail { color:var(--fail); font-weight:600; } .s-skip { color:var(--muted); }
.trace { margin:0 0 16px; break-inside:avoid-page; }
footer { margin-top:40px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); padding-top:8px; }
@media (max-width:760px) { .facts { grid-template-columns:max-content 1fr; } main { padding:16px; } }
@media print {
  @page { size:A4; margin:14mm 12mm; }
  body { font-size:10.5pt; }
  main { max-width:none; padding:0; }
  * { -webkit-print-color-adjust:exact; print-color-adjust:exact; }
  th { position:static; }
  thead { display:table-header-group; }
  tr { break-inside:avoid; }
  h2 { break-after:avoid; }
  .group h3, .fix { break-after:avoid; }
  pre { font-size:8.5pt; }
  /* Paper is narrow: fixed columns so long addresses and codes wrap instead of crushing the message. */
  table.failed { table-layout:fixed; font-size:8.5pt; }
  table.failed td.addr, table.failed code { white-space:normal; overflow-wrap:anywhere; }
  .w-n { width:4%; } .w-proto { width:6%; } .w-addr { width:25%; } .w-kind { width:6%; } .w-code { width:19%; } .w-msg { width:24%; } .w-st { width:6.5%; } .w-ms { width:5%; } .w-tries { width:4%; }
}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="sub">{{.Intro}}{{if .Generated}} Report generated {{.Generated}}.{{end}}</p>

<section class="summary {{lower .Verdict}}" aria-label="Summary">
<p class="verdict">{{.VerdictText}}</p>
<p class="counts">{{.VerdictLine}} · {{.ChecksLine}}</p>
{{- with .Mig}}
<p class="migline"><strong>Migration to Microsoft Graph:</strong> {{.Counts}}</p>
{{- if .Causes}}
<p class="migcauses">Why the blockers fail through Microsoft Graph: {{.Causes}} — the fixes are under <a href="#migration">“Migration to Microsoft Graph”</a>.</p>
{{- end}}
{{- end}}
{{- if .Bar}}
<div class="bar" role="img" aria-label="{{.BarLabel}}">
{{- range .Bar}}{{if .N}}<span class="{{.Key}}" style="width: {{.Pct}}%"></span>{{end}}{{end -}}
</div>
<p class="legend">{{range .Bar}}<i class="{{.Key}}"></i>{{.Legend}}{{end}}</p>
{{- end}}
{{- if .Attention}}
<ul class="attention">
{{- range .Attention}}
<li><span class="badge {{lower .Status}}">{{status .Status}}</span> {{.Text}}</li>
{{- end}}
{{- if .MoreCauses}}<li class="meta">… and {{.MoreCauses}} more causes, listed below</li>{{end}}
</ul>
{{- end}}
<dl class="facts">
{{- range .Facts}}
<dt>{{.K}}</dt><dd>{{.V}}</dd>
{{- end}}
</dl>
</section>

<h2>Checks</h2>
{{- range .Checks}}
<div class="check {{lower .Status}}">
<h3><span class="badge {{lower .Status}}">{{.StatusText}}</span> {{.Title}}{{if not .Title}}{{.ID}}{{end}}</h3>
{{- if .Summary}}<p>{{.Summary}}</p>{{end}}
{{- if or .ClassText .Code .Duration}}<p class="meta">{{if .ClassText}}{{.ClassText}}{{end}}{{if .Code}}{{if .ClassText}} · {{end}}server code <code>{{.Code}}</code>{{end}}{{if .Duration}}{{if or .ClassText .Code}} · {{end}}{{.Duration}}{{end}}</p>{{end}}
{{- if .ShowCert}}{{with .Cert}}
<ul class="evidence"><li>Certificate: {{.Subject}}, issued by {{.Issuer}}, valid {{time .NotBefore}} to {{time .NotAfter}}{{if .Trusted}} (trusted){{else}} (NOT trusted){{end}}</li><li>SHA-256 <code>{{.SHA256}}</code></li></ul>
{{- end}}{{end}}
{{- if .Evidence}}
<ul class="evidence">
{{- range .Evidence}}<li>{{.}}</li>{{end}}
</ul>
{{- end}}
{{- if .Fix}}
<p class="fix">HOW TO FIX</p>
{{- template "fix" .Fix}}
{{- end}}
</div>
{{- else}}
<p>No checks were run.</p>
{{- end}}

{{- with .Mig}}
<h2 id="migration">Migration to Microsoft Graph</h2>
<p>EWS in Exchange Online ends on 1 April 2027. Of {{.Addresses}} addresses: {{.Counts}}.</p>
{{- if .Blockers}}
<h3 class="part">Blockers: {{.BlockerN}} address{{if ne .BlockerN 1}}es{{end}} work{{if eq .BlockerN 1}}s{{end}} through EWS today but not through Microsoft Graph</h3>
{{- range .Blockers}}{{template "group" .}}{{end}}
{{- else}}
<p><span class="badge pass">PASS</span> No address depends on EWS alone: every address that works through EWS today also works through Microsoft Graph.</p>
{{- end}}
{{- if .Others}}
<h3 class="part">Other addresses not ready on both ({{len .Others}})</h3>
<p class="meta">Their fixes are under “Mailboxes that failed” below.</p>
<table>
<thead><tr><th>Mailbox</th><th>Kind</th><th>EWS today</th><th>Microsoft Graph</th><th>Verdict</th></tr></thead>
<tbody>
{{- range .Others}}
<tr><td class="addr">{{.Address}}</td><td>{{.Kind}}</td><td class="s-{{.EWSKey}}">{{.EWS}}</td><td class="s-{{.GraphKey}}">{{.Graph}}</td><td class="v-{{.VerdictKey}}">{{.Verdict}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Ready}}
<p>{{.Ready}} address{{if ne .Ready 1}}es are{{else}} is{{end}} ready on both; listed under “Mailboxes that passed”.</p>
{{- end}}
{{- end}}

{{- if .Groups}}
<h2>Mailboxes that failed</h2>
{{- range .Groups}}{{template "group" .}}{{end}}
{{- end}}

{{- if .Passed}}
<h2>Mailboxes that passed{{if .Skip}} or were not tested{{end}} ({{len .Passed}}{{if .Both}} results, one per address and protocol{{end}})</h2>
<table>
<thead><tr><th>#</th><th>Mailbox</th>{{if .HasGraph}}<th>Protocol</th>{{end}}<th>Kind</th><th>Status</th><th>Read</th><th>Write</th><th class="num">ms</th><th class="num">Tries</th></tr></thead>
<tbody>
{{passedRows .Passed .HasGraph}}
</tbody>
</table>
{{- end}}

{{- if .Script}}
<h2>Setup script</h2>
<p>Run it in the Exchange Management Shell (or Exchange Online PowerShell) once with <code>-WhatIf</code>, then without.</p>
<pre>{{.Script}}</pre>
{{- end}}

{{- if .Traces}}
<h2>Request traces ({{len .Traces}})</h2>
<p class="meta">Credentials, tokens, NTLM blobs and cookies are removed.</p>
{{- range .Traces}}
<div class="trace">
<h3>{{.Step}}{{if .Mailbox}} · {{.Mailbox}}{{end}} — {{.Method}} {{.URL}} → {{.Status}} <span class="meta">({{.DurationMs}} ms)</span></h3>
<pre>{{.Request}}</pre>
<pre>{{.Response}}</pre>
</div>
{{- end}}
{{- end}}

<footer>{{.Footer}}{{if .Generated}} · generated {{.Generated}}{{end}}</footer>
</main>
</body>
</html>
{{- define "group"}}
<div class="group">
<h3><span class="badge {{lower .Status}}">{{status .Status}}</span> {{.Title}} <span class="n">— {{len .Mailboxes}} mailbox{{if ne (len .Mailboxes) 1}}es{{end}}</span></h3>
{{- range .Fixes}}
{{- if .Above}}
<p class="fix">HOW TO FIX <span class="for">— {{if .For}}{{.For}}: {{end}}as under <a href="#migration">“Migration to Microsoft Graph”</a> above</span></p>
{{- else}}
<p class="fix">HOW TO FIX{{if .Note}} <span class="for">— {{.Note}}</span>{{end}}</p>
{{- template "fix" .Fix}}
{{- end}}
{{- end}}
{{- if .MoreFixes}}
<p class="meta">{{.MoreFixes}} more mailbox{{if ne .MoreFixes 1}}es have{{else}} has{{end}} another fix: each mailbox's own is in the JSON report.</p>
{{- end}}
<table class="failed">
<thead><tr><th class="w-n">#</th><th class="w-addr">Mailbox</th>{{if .ProtoCol}}<th class="w-proto">Protocol</th>{{end}}<th class="w-kind">Kind</th><th class="w-code">Server code</th><th class="w-msg">Message</th><th class="w-st">Read</th><th class="w-st">Write</th><th class="num w-ms">ms</th><th class="num w-tries">Tries</th></tr></thead>
<tbody>
{{failedRows .Mailboxes .ProtoCol}}
</tbody>
</table>
</div>
{{- end}}
{{- define "fix"}}
{{- range .}}
{{- if .Code}}
<pre>{{.Text}}</pre>
{{- else}}
<p class="why">{{.Text}}</p>
{{- end}}
{{- end}}
{{- end}}
`
