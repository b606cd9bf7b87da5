package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/transport"
)

var exoBoth struct {
	once sync.Once
	raw  []byte
	err  error
}

// exoBothResult is a real --protocol both diagnosis of the exo-demo (EWS and Graph
// tokens through MSAL from the simulator's Entra ID), with one room Graph's places
// directory lists but no EWS room list holds: an address only one protocol tested. The
// run happens once; every caller gets its own copy.
func exoBothResult(t *testing.T) *result.Result {
	t.Helper()
	exoBoth.once.Do(func() { exoBoth.raw, exoBoth.err = diagnoseEXOBoth() })
	if exoBoth.err != nil {
		t.Fatal(exoBoth.err)
	}
	var r result.Result
	if err := json.Unmarshal(exoBoth.raw, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func diagnoseEXOBoth() ([]byte, error) {
	x, err := exchangesim.EXODemo()
	if err != nil {
		return nil, err
	}
	graphsim.PrepareEXODemo(x)
	x.Mailboxes = append(x.Mailboxes, exchangesim.Mailbox{Address: "room-annex@" + x.Domain, Name: "Annex", Department: "Facilities", Kind: "room"})
	s, err := exchangesim.StartEXO(x, exchangesim.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := graphsim.MountEXO(s, 0); err != nil {
		return nil, err
	}
	hc, err := oauth.NewHTTPClient(transport.TLSOptions{PinSHA256: s.SHA256}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	src := map[string]*oauth.Source{}
	for _, res := range []string{oauth.ResourceEWS, oauth.ResourceGraph} {
		if src[res], err = oauth.NewSource(oauth.Config{Mode: oauth.ModeAppSecret, Authority: s.Authority, HTTPClient: hc, Tenant: s.Tenant,
			ClientID: x.ClientID, Secret: x.ClientSecret, Resource: res}); err != nil {
			return nil, err
		}
	}
	cfg := impersonation.Config{
		Profile: result.Profile{Name: "Fabrikam migration", Environment: result.EXO, Auth: oauth.ModeAppSecret, Protocol: impersonation.ProtocolBoth,
			TenantID: s.Tenant, ClientID: x.ClientID},
		Protocol:   impersonation.ProtocolBoth,
		URL:        s.URL,
		OAuth:      src[oauth.ResourceEWS],
		GraphURL:   s.Authority,
		GraphToken: src[oauth.ResourceGraph].Token,
		TLS:        transport.TLSOptions{PinSHA256: s.SHA256},
		Mailboxes:  x.Targets(),
		CheckRooms: true,
		Timeout:    5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

var (
	tags   = regexp.MustCompile(`<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
	// A mailbox group's heading, as both formats print it.
	groupHead = regexp.MustCompile(`(EWS|Microsoft Graph): [^—]{3,90} — \d+ mailbox(es)?`)
	// Where a group's text ends, short of the next group: the next part of the report.
	partEnd = regexp.MustCompile(`Mailboxes that (failed|passed)|Other addresses not ready|Checks|Profile |… and \d+ more causes|Blockers: `)
	// The sections' headings, with what follows them (the summary and the checks name them too).
	migHead    = "Migration to Microsoft Graph EWS in Exchange Online ends on 1 April 2027"
	failedHead = regexp.MustCompile(`Mailboxes that failed (FAIL |WARN )?(EWS|Microsoft Graph): `)
	passedHead = regexp.MustCompile(`Mailboxes that passed( or were not tested)? \(`)
)

// plain is a report as text: tags removed (HTML), whitespace collapsed (both), so the
// HTML and the PDF's extracted text are checked the same way.
func plain(doc string, isHTML bool) string {
	if isHTML {
		if i := strings.Index(doc, "<body>"); i >= 0 {
			doc = doc[i:]
		}
		doc = html.UnescapeString(tags.ReplaceAllString(doc, " "))
	}
	return spaces.ReplaceAllString(doc, " ")
}

// sections splits text at the mailbox group headings: heading → text up to the next.
func sections(text string) map[string][]string {
	out := map[string][]string{}
	idx := groupHead.FindAllStringIndex(text, -1)
	for i, m := range idx {
		end := len(text)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		body := text[m[1]:end]
		if e := partEnd.FindStringIndex(body); e != nil {
			body = body[:e[0]]
		}
		head := text[m[0]:m[1]]
		out[head] = append(out[head], body)
	}
	return out
}

// TestReportBothProtocols renders a real --protocol both result in every format and
// checks what the review found wrong: Graph causes with EWS fixes, no Protocol column,
// every address counted twice, an EWS-only title, the migration counts at the end.
func TestReportBothProtocols(t *testing.T) {
	r := exoBothResult(t)
	mg := r.Migration
	if mg == nil || mg.EWSOnly == 0 || mg.Untested == 0 || mg.GraphOnly == 0 {
		t.Fatalf("the exo-demo run lacks blockers, graph-only or untested addresses: %+v", mg)
	}
	addrs := map[string]bool{}
	for _, m := range r.Mailboxes {
		addrs[strings.ToLower(m.Address)] = true
	}
	if len(addrs) == len(r.Mailboxes) {
		t.Fatal("the result has one row per address: not a both-protocol result")
	}
	distinct := plural(len(addrs), "address", "addresses") + ", each tested through EWS and Microsoft Graph"
	twice := fmt.Sprintf(" of %d mailboxes", len(r.Mailboxes))

	render := map[string]func(*bytes.Buffer) (string, error){
		"html": func(b *bytes.Buffer) (string, error) {
			err := HTML(b, r, fixedNow)
			return b.String(), err
		},
		"pdf": func(b *bytes.Buffer) (string, error) {
			if err := PDF(b, r, fixedNow); err != nil {
				return "", err
			}
			return pdfText(t, b.Bytes()), nil
		},
	}
	for _, tt := range []struct {
		format   string
		protoCol *regexp.Regexp // the Protocol column in the passed table's header
		graphRow string         // a passed row that names its protocol
	}{
		{"html", regexp.MustCompile(`<th>#</th><th>Mailbox</th><th>Protocol</th><th>Kind</th><th>Status</th>`),
			`<td class="addr">anna.berg@fabrikam.test</td><td>Graph</td>`},
		{"pdf", regexp.MustCompile(`#\s+Mailbox\s+Protocol\s+Kind\s+Status\s+Read\s+Write`), ""},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			raw, err := render[tt.format](&b)
			if err != nil {
				t.Fatal(err)
			}
			text := plain(raw, tt.format == "html")
			if !strings.Contains(text, "EWS to Microsoft Graph migration report") || strings.Contains(text, "EWS impersonation report") {
				t.Error("title does not say migration (or still says EWS impersonation)")
			}
			// Counts are distinct addresses, and the report says each has two results.
			if !strings.Contains(text, distinct) {
				t.Errorf("lacks %q", distinct)
			}
			if strings.Contains(text, twice) {
				t.Errorf("counts every address twice: %q", twice)
			}
			// The migration counts, untested included, are in the summary: before the
			// migration section, which comes before the failed and passed mailboxes.
			counts := mg.Counts()
			i, k := strings.Index(text, counts), strings.Index(text, migHead)
			j := len(text)
			if loc := failedHead.FindStringIndex(text); loc != nil {
				j = loc[0]
			}
			p := passedHead.FindStringIndex(text)
			if i < 0 || k < 0 || j == len(text) || p == nil || !(i < k && k < j && j < p[0]) {
				t.Fatalf("counts at %d, migration section at %d, failed mailboxes at %d, passed at %v: want them in that order\n%q", i, k, j, p, counts)
			}
			if !strings.Contains(counts, "1 not tested on both") || !strings.Contains(text, "room-annex@fabrikam.test") {
				t.Error("the untested address is neither counted nor listed")
			}
			// Every blocker is listed with its Graph fix, ahead of the failed mailboxes.
			mig := text[k:j]
			for _, a := range mg.Addresses {
				if a.Verdict == impersonation.VerdictEWSOnly && !strings.Contains(mig, a.Address) {
					t.Errorf("blocker %s not in the migration section", a.Address)
				}
			}
			// Graph causes carry Graph's fix, EWS causes EWS's: never the other's.
			secs := sections(text)
			var graphFix, ewsFix bool
			for head, bodies := range secs {
				for _, body := range bodies {
					switch {
					case strings.HasPrefix(head, "Microsoft Graph: "):
						if strings.Contains(body, "EWS.AccessAsApp") {
							t.Errorf("%s carries the EWS fix", head)
						}
						if strings.HasPrefix(head, "Microsoft Graph: outside the app's scope") && strings.Contains(body, "'Application Calendars.ReadWrite'") {
							graphFix = true
						}
					case strings.HasPrefix(head, "EWS: "):
						if strings.Contains(body, "Calendars.ReadWrite") {
							t.Errorf("%s carries the Graph fix", head)
						}
						if strings.HasPrefix(head, "EWS: outside the impersonation scope") && strings.Contains(body, "'Application EWS.AccessAsApp'") {
							ewsFix = true
						}
					}
				}
			}
			if !graphFix || !ewsFix {
				t.Errorf("Graph scope fix shown: %v, EWS scope fix shown: %v (sections: %d)", graphFix, ewsFix, len(secs))
			}
			// One cause, two fixes: the RBAC scope and the Application Access Policy.
			for _, w := range []string{"HOW TO FIX — for luca.rossi@fabrikam.test", "Test-ApplicationAccessPolicy -Identity 'luca.rossi@fabrikam.test'",
				"HOW TO FIX — for mia.wong@fabrikam.test", "as under “Migration to Microsoft Graph” above"} {
				if !strings.Contains(text, w) {
					t.Errorf("lacks %q", w)
				}
			}
			if !tt.protoCol.MatchString(raw) {
				t.Errorf("no Protocol column (%s)", tt.protoCol)
			}
			if tt.graphRow != "" && !strings.Contains(raw, tt.graphRow) {
				t.Errorf("no Graph row %q", tt.graphRow)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := JSON(&b, r); err != nil {
			t.Fatal(err)
		}
		var back result.Result
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.Migration == nil || back.Migration.Counts() != mg.Counts() || len(back.Migration.Addresses) != len(addrs) {
			t.Errorf("migration lost: %+v", back.Migration)
		}
		if !strings.Contains(b.String(), `"untested": 1`) || !strings.Contains(b.String(), `"verdict": "untested"`) {
			t.Error("JSON lacks the untested count or verdict")
		}
		n := map[string]int{}
		for _, m := range back.Mailboxes {
			n[m.Protocol]++
		}
		if n[result.EWS] == 0 || n[result.Graph] == 0 || n[result.EWS]+n[result.Graph] != len(back.Mailboxes) {
			t.Errorf("protocol per mailbox: %v of %d", n, len(back.Mailboxes))
		}
	})
}

// TestViewProtocol: title, counting and the Protocol column follow what the result holds.
func TestViewProtocol(t *testing.T) {
	both := exoBothResult(t)
	graphOnly := exoBothResult(t)
	graphOnly.Profile.Protocol, graphOnly.Migration = impersonation.ProtocolGraph, nil
	var rows []result.Mailbox
	for _, m := range graphOnly.Mailboxes {
		if m.Protocol == result.Graph {
			rows = append(rows, m)
		}
	}
	graphOnly.Mailboxes = rows
	// A result from before the protocol field: no profile protocol, rows say both.
	unlabelled := exoBothResult(t)
	unlabelled.Profile.Protocol = ""

	for _, tt := range []struct {
		name     string
		r        *result.Result
		heading  string
		total    int
		hasGraph bool
		bar      string // first bar segment
	}{
		{"ews", demoResult(), "EWS impersonation report", 120, false, "pass"},
		{"graph", graphOnly, "Microsoft Graph readiness report", len(rows), true, "pass"},
		{"both", both, "EWS to Microsoft Graph migration report", len(both.Migration.Addresses), true, impersonation.VerdictBothReady},
		{"both, unlabelled", unlabelled, "EWS to Microsoft Graph migration report", len(both.Migration.Addresses), true, impersonation.VerdictBothReady},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newView(tt.r, Options{})
			if v.Heading != tt.heading || v.Total != tt.total || v.HasGraph != tt.hasGraph || len(v.Bar) == 0 || v.Bar[0].Key != tt.bar {
				t.Errorf("heading %q, total %d, graph %v, bar %+v; want %q, %d, %v, %s", v.Heading, v.Total, v.HasGraph, v.Bar, tt.heading, tt.total, tt.hasGraph, tt.bar)
			}
			for _, g := range v.Groups {
				if g.ProtoCol != tt.hasGraph || (tt.hasGraph && !strings.HasPrefix(g.Title, "EWS: ") && !strings.HasPrefix(g.Title, "Microsoft Graph: ")) {
					t.Errorf("group %q: protocol column %v", g.Title, g.ProtoCol)
				}
				for _, m := range g.Mailboxes {
					if protoText(m) != g.Protocol {
						t.Errorf("group %q holds a %s row (%s)", g.Title, protoText(m), m.Address)
					}
				}
			}
			var b bytes.Buffer
			if err := HTML(&b, tt.r, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), "<th>Protocol</th>"); got != tt.hasGraph {
				t.Errorf("Protocol column shown: %v", got)
			}
			if err := wellFormed(b.String()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFixesOf(t *testing.T) {
	mb := func(addr, rem string) result.Mailbox {
		return result.Mailbox{Address: addr, Protocol: result.Graph, Remediation: rem}
	}
	scope := func(a string) string {
		return "Add " + a + " to the scope.\nAdd-DistributionGroupMember -Member '" + a + "'"
	}
	policy := func(a string) string {
		return "A policy keeps the app out of " + a + ".\nTest-ApplicationAccessPolicy -Identity '" + a + "'"
	}
	for _, tt := range []struct {
		name  string
		ms    []result.Mailbox
		notes []string
		more  int
	}{
		{"one mailbox", []result.Mailbox{mb("a@x", scope("a@x"))}, []string{""}, 0},
		{"same fix", []result.Mailbox{mb("a@x", scope("a@x")), mb("B@x", scope("b@x")), mb("c@x", "")}, []string{"shown for a@x; the same for the others"}, 0},
		{"two fixes", []result.Mailbox{mb("a@x", scope("a@x")), mb("b@x", policy("b@x")), mb("c@x", scope("c@x"))}, []string{"for a@x and c@x", "for b@x"}, 0},
		{"many", []result.Mailbox{mb("a@x", policy("a@x")), mb("b@x", policy("b@x")), mb("c@x", policy("c@x")), mb("d@x", policy("d@x")), mb("e@x", scope("e@x"))},
			[]string{"shown for a@x; the same for b@x, c@x and 1 more", "for e@x"}, 0},
		{"capped", []result.Mailbox{mb("a@x", "1"), mb("b@x", "2"), mb("c@x", "3"), mb("d@x", "4"), mb("e@x", "5"), mb("f@x", "6"), mb("g@x", "7")},
			[]string{"for a@x", "for b@x", "for c@x", "for d@x", "for e@x"}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fixes, more := fixesOf(tt.ms)
			var notes []string
			for _, f := range fixes {
				notes = append(notes, f.Note)
			}
			if strings.Join(notes, "|") != strings.Join(tt.notes, "|") || more != tt.more {
				t.Errorf("notes %q, more %d; want %q, %d", notes, more, tt.notes, tt.more)
			}
		})
	}
}

// TestMigrationRowKindWithoutGraphRow: an address the run never reached through Graph
// (cancelled) keeps its kind from the EWS row — a room stays a room.
func TestMigrationRowKindWithoutGraphRow(t *testing.T) {
	r := &result.Result{Profile: result.Profile{Protocol: result.Both},
		Mailboxes: []result.Mailbox{
			{Address: "a@x.test", Kind: result.KindUser, Protocol: result.EWS, Status: result.Pass, Class: result.OK},
			{Address: "a@x.test", Kind: result.KindUser, Protocol: result.Graph, Status: result.Pass, Class: result.OK},
			{Address: "room.b@x.test", Kind: result.KindRoom, Protocol: result.EWS, Status: result.Pass, Class: result.OK},
		}}
	r.Migration = &result.Migration{Untested: 1, BothReady: 1, Addresses: []result.MigrationAddress{
		{Address: "a@x.test", EWS: result.OK, Graph: result.OK, Verdict: result.VerdictBothReady},
		{Address: "room.b@x.test", EWS: result.OK, Verdict: result.VerdictUntested}}}
	r.Tally()
	v := newView(r, Options{})
	if v.Mig == nil || len(v.Mig.Others) != 1 {
		t.Fatalf("migration rows: %+v", v.Mig)
	}
	if row := v.Mig.Others[0]; row.Address != "room.b@x.test" || row.Kind != result.KindRoom {
		t.Errorf("untested row = %+v, want the room's kind", row)
	}
}
