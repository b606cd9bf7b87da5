// Package result is the deputy.diagnostics/v1 model: what a diagnosis found, in the one
// shape the CLI's --json, the window and every report read. It is a leaf package: data
// and vocabulary only, no I/O, so every other package may import it.
package result

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Schema is the value of Result.Schema. Readers ignore unknown fields, so fields may be
// added in v1; renaming or removing one needs v2.
const Schema = "deputy.diagnostics/v1"

// Status of a check, a mailbox or the whole run.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Rank orders statuses by severity (skip < pass < warn < fail) for verdicts and sorting.
func (s Status) Rank() int {
	switch s {
	case Pass:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return 0
}

// Class is the diagnosis of one mailbox (or of a failed check): why it passed or failed.
type Class string

const (
	OK                   Class = "ok"
	ImpersonationDenied  Class = "impersonation-denied"   // right exists, mailbox outside its scope
	NoImpersonationRight Class = "no-impersonation-right" // the account has no impersonation right at all
	MailboxNotFound      Class = "mailbox-not-found"
	AccessDenied         Class = "access-denied"
	NoMailbox            Class = "no-mailbox" // account exists but has no mailbox (or not reachable by this protocol)
	Throttled            Class = "throttled"
	Transient            Class = "transient" // move in progress, store unavailable, 503, timeouts
	AuthFailed           Class = "auth-failed"
	VersionError         Class = "version-error"
	SchemaError          Class = "schema-error"
	HeaderInvalid        Class = "header-invalid"
	NotEWS               Class = "not-ews" // HTML, login page, non-XML
	Other                Class = "other"
)

// Classes lists the vocabulary in display order.
var Classes = []Class{OK, ImpersonationDenied, NoImpersonationRight, MailboxNotFound, AccessDenied,
	NoMailbox, Throttled, Transient, AuthFailed, VersionError, SchemaError, HeaderInvalid, NotEWS, Other}

// Retryable reports whether a class is worth another attempt.
func (c Class) Retryable() bool { return c == Throttled || c == Transient }

// Check ids, stable: scripts and reports key on them.
const (
	CheckAutodiscover   = "autodiscover"
	CheckEndpoint       = "endpoint"
	CheckTLS            = "tls"
	CheckToken          = "token"
	CheckAuth           = "auth"
	CheckEXOPolicy      = "exo-policy"
	CheckEXOTimeline    = "exo-timeline"
	CheckServiceMailbox = "service-mailbox"
	CheckImpersonation  = "impersonation"
	CheckWrite          = "write"
	CheckRooms          = "rooms"

	// The Graph checks of a run that proves both protocols. A Graph-only run uses the
	// plain ids (token, impersonation, write, rooms): an id names one protocol per run,
	// and Mailbox.Protocol says which.
	CheckGraphToken         = "graph-token"
	CheckGraphImpersonation = "graph-impersonation"
	CheckGraphWrite         = "graph-write"
	CheckGraphRooms         = "graph-rooms"
)

// Result is one diagnosis.
type Result struct {
	Schema     string     `json:"schema"`
	Tool       Tool       `json:"tool"`
	Profile    Profile    `json:"profile"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt time.Time  `json:"finishedAt"`
	Server     Server     `json:"server"`
	Checks     []Check    `json:"checks"`
	Mailboxes  []Mailbox  `json:"mailboxes"`
	Summary    Summary    `json:"summary"`
	Verdict    Status     `json:"verdict"`
	Migration  *Migration `json:"migration,omitempty"`
	Traces     []Trace    `json:"traces,omitempty"`
	Cancelled  bool       `json:"cancelled,omitempty"`
}

type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Profile describes what was tested. Never a secret.
type Profile struct {
	Name           string `json:"name"`
	Environment    string `json:"environment"` // "onprem" | "exo"
	EWSURL         string `json:"ewsUrl"`
	Auth           string `json:"auth"` // basic | ntlm | oauth-app-secret | oauth-app-cert | oauth-delegated
	ServiceAccount string `json:"serviceAccount"`
	Protocol       string `json:"protocol,omitempty"` // ews | graph | both (Exchange Online)
	TenantID       string `json:"tenant,omitempty"`
	ClientID       string `json:"clientId,omitempty"`
}

type Server struct {
	Version              string `json:"version"`              // e.g. "15.2.1544.4 (Exchange2016)"
	RequestServerVersion string `json:"requestServerVersion"` // what Deputy finally sent
}

// Environments.
const (
	OnPrem = "onprem"
	EXO    = "exo"
)

type Check struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Status      Status    `json:"status"`
	Summary     string    `json:"summary"`
	Remediation string    `json:"remediation"` // "" when there is nothing to fix
	Evidence    []string  `json:"evidence"`    // never null in JSON (see MarshalJSON)
	Class       Class     `json:"class,omitempty"`
	Code        string    `json:"code,omitempty"`
	DurationMs  int64     `json:"durationMs,omitempty"`
	Cert        *CertInfo `json:"cert,omitempty"` // tls check: the certificate the server showed
}

// MarshalJSON writes evidence as [] when there is none: the schema promises an array.
func (c Check) MarshalJSON() ([]byte, error) {
	type plain Check // no methods: no recursion
	p := plain(c)
	if p.Evidence == nil {
		p.Evidence = []string{}
	}
	return json.Marshal(p)
}

// CertInfo is what the window's "Trust this certificate" dialog shows.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	SHA256    string    `json:"sha256"` // hex, lower case, no colons
	DNSNames  []string  `json:"dnsNames,omitempty"`
	Trusted   bool      `json:"trusted"` // chain verified or pinned
}

// Mailbox kinds.
const (
	KindUser    = "user"
	KindRoom    = "room"
	KindService = "service"
)

// Protocols: a Mailbox's is EWS or Graph; a Profile's may be Both.
const (
	EWS   = "ews"
	Graph = "graph"
	Both  = "both"
)

type Mailbox struct {
	Address     string `json:"address"`
	Kind        string `json:"kind"`
	Protocol    string `json:"protocol,omitempty"`
	Status      Status `json:"status"`
	Class       Class  `json:"class"`
	Code        string `json:"code"` // the server's own code, verbatim (EWS ResponseCode, Graph error.code, HTTP status)
	Message     string `json:"message"`
	Read        Status `json:"read"`
	Write       Status `json:"write"`
	LatencyMs   int64  `json:"latencyMs"`
	Attempts    int    `json:"attempts"`
	BackoffMs   int64  `json:"backoffMs"`
	Remediation string `json:"remediation,omitempty"`
}

type Summary struct {
	Mailboxes int `json:"mailboxes"`
	Passed    int `json:"passed"`
	Warned    int `json:"warned"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped,omitempty"`
	Requests  int `json:"requests"`
}

// Migration compares EWS and Graph per address (protocol "both").
type Migration struct {
	BothReady int                `json:"bothReady"`
	EWSOnly   int                `json:"ewsOnly"`
	GraphOnly int                `json:"graphOnly"`
	Neither   int                `json:"neither"`
	Untested  int                `json:"untested,omitempty"` // one protocol did not check the address
	Addresses []MigrationAddress `json:"addresses"`
}

// KindSplit words how the mailbox results divide into users and rooms — " (40 users,
// 7 rooms)" — or "" when there are no rooms: the impersonation and rooms checks count
// them apart, the summary together.
func (r *Result) KindSplit() string {
	rooms := 0
	for _, m := range r.Mailboxes {
		if m.Kind == KindRoom {
			rooms++
		}
	}
	if rooms == 0 {
		return ""
	}
	users := len(r.Mailboxes) - rooms
	return fmt.Sprintf(" (%d %s, %d %s)", users, plural(users, "user", "users"), rooms, plural(rooms, "room", "rooms"))
}

// Counts is the verdict counts in words, for the CLI, the window and the reports.
func (m *Migration) Counts() string {
	s := fmt.Sprintf("%d ready on both, %d EWS only (blockers), %d Graph only, %d neither", m.BothReady, m.EWSOnly, m.GraphOnly, m.Neither)
	if m.Untested > 0 {
		s += fmt.Sprintf(", %d not tested on both (cancelled, or found by one protocol only)", m.Untested)
	}
	return s
}

// Migration verdicts (MigrationAddress.Verdict).
const (
	VerdictBothReady = "both-ready"
	VerdictEWSOnly   = "ews-only" // a migration blocker: works today, not after EWS ends
	VerdictGraphOnly = "graph-only"
	VerdictNeither   = "neither"
	// VerdictUntested: one protocol did not check the address (the run was cancelled, or
	// only one protocol found it, e.g. a room in Graph's places directory but in no EWS
	// room list). No verdict on readiness: it is outside the four counts.
	VerdictUntested = "untested"
)

// VerdictText is a migration verdict in a few words, for tables, filters and reports.
func VerdictText(v string) string {
	switch v {
	case VerdictBothReady:
		return "ready on both"
	case VerdictEWSOnly:
		return "EWS only (blocker)"
	case VerdictGraphOnly:
		return "Graph only"
	case VerdictNeither:
		return "neither"
	case VerdictUntested:
		return "not tested on both"
	}
	return v
}

type MigrationAddress struct {
	Address string `json:"address"`
	EWS     Class  `json:"ews"`
	Graph   Class  `json:"graph"`
	Verdict string `json:"verdict"` // both-ready | ews-only | graph-only | neither | untested
}

// Trace is one redacted HTTP exchange (only with --trace).
type Trace struct {
	Step       string `json:"step"`
	Mailbox    string `json:"mailbox,omitempty"`
	Method     string `json:"method"`
	URL        string `json:"url"`
	Status     int    `json:"status"`
	DurationMs int64  `json:"durationMs"`
	Request    string `json:"request"`  // headers + body, redacted
	Response   string `json:"response"` // headers + body, redacted, truncated
}

// Addresses counts a result by address rather than by row: with both protocols every
// address has a row per protocol, so Summary's row counts double it. It returns the
// distinct addresses, how they divide into users and rooms (KindSplit's words), and a
// Summary per protocol (Mailboxes = rows of that protocol).
func (r *Result) Addresses() (n int, kinds string, ews, graph Summary) {
	seen := map[string]bool{}
	var distinct []Mailbox
	for _, m := range r.Mailboxes {
		t := &ews
		if m.Protocol == Graph {
			t = &graph
		}
		t.count(m.Status)
		if k := strings.ToLower(m.Address); !seen[k] {
			seen[k] = true
			distinct = append(distinct, m)
		}
	}
	return len(distinct), (&Result{Mailboxes: distinct}).KindSplit(), ews, graph
}

// Plus is s and o together (the mailbox counts; Requests as well).
func (s Summary) Plus(o Summary) Summary {
	s.Mailboxes += o.Mailboxes
	s.Passed += o.Passed
	s.Warned += o.Warned
	s.Failed += o.Failed
	s.Skipped += o.Skipped
	s.Requests += o.Requests
	return s
}

// count adds one mailbox row with status st.
func (s *Summary) count(st Status) {
	s.Mailboxes++
	switch st {
	case Pass:
		s.Passed++
	case Warn:
		s.Warned++
	case Fail:
		s.Failed++
	default:
		s.Skipped++
	}
}

// Tally recomputes Summary and Verdict from Checks and Mailboxes.
func (r *Result) Tally() {
	s := Summary{Requests: r.Summary.Requests}
	for _, m := range r.Mailboxes {
		s.count(m.Status)
	}
	r.Summary = s
	v := Pass
	for _, c := range r.Checks {
		if c.Status.Rank() > v.Rank() {
			v = c.Status
		}
	}
	if s.Failed > 0 {
		v = Fail
	} else if s.Warned > 0 && v == Pass {
		v = Warn
	}
	r.Verdict = v
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
