package exchangesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Scenario is the directory and behaviour the simulated Exchange serves: accounts that
// can sign in, mailboxes (users and rooms) with a state each, room lists, and
// server-wide knobs. It is plain data with JSON tags so that it can live in a file
// (see LoadScenario). Do not modify a Scenario after passing it to Start or after the
// first call of Expect, ExpectClass, Targets or Rooms.
//
// File format (JSON, unknown fields rejected; the // notes below explain, they are not
// part of the format; testdata/scenario-example.json is a complete example):
//
//	{
//	  "name": "example",                 // free text
//	  "domain": "fabrikam.test",         // SMTP/UPN domain
//	  "netbios": "FABRIKAM",             // NetBIOS domain for DOMAIN\user sign-in
//	  "host": "mail.fabrikam.test",      // shown in Basic realm and the WSDL
//	  "authSchemes": ["NTLM", "Negotiate", "Basic"], // offered in WWW-Authenticate, in this order
//	  "maxConcurrency": 27,              // EWSMaxConcurrency per principal (0 = 27)
//	  "accounts": [{                     // the first account is the demo service account
//	    "user": "svc-deputy@fabrikam.test",  // UPN (also its primary SMTP address)
//	    "sam": "svc-deputy",                 // sAMAccountName for DOMAIN\sam
//	    "password": "…",
//	    "mailbox": true,                     // false: no mailbox (ErrorMissingEmailAddress)
//	    "impersonation": {                   // ApplicationImpersonation right
//	      "mode": "scope",                   // none | all | scope
//	      "departments": ["Sales"],          // scope: in scope if department listed …
//	      "excludeDepartments": ["Executive"], // … or not excluded (when set) …
//	      "addresses": ["a@fabrikam.test"],  // … or address listed
//	      "scopeName": "…", "scopeFilter": "…" // documentation only
//	    }
//	  }],
//	  "mailboxes": [{
//	    "address": "ann.lee@fabrikam.test", "name": "Ann Lee",
//	    "department": "Sales", "kind": "user",   // user | room
//	    "state": "ok",                           // see the State* constants: ok, missing,
//	                                             // no-mailbox, move-in-progress, store-unavailable,
//	                                             // access-denied, legacy-version, cas-denied,
//	                                             // impersonation-failed, invalid-smtp, schema,
//	                                             // internal, throttle-once, throttle-hard, html,
//	                                             // reset, stall, unavailable, malformed, huge
//	    "hidden": false                          // rooms: hidden from GAL (GetRooms omits it)
//	  }],
//	  "roomLists": [{"name": "HQ Rooms", "address": "rooms-hq@fabrikam.test",
//	                 "rooms": ["room-a@fabrikam.test"]}],
//	  "fault": "",                      // global fault for every POST (see Fault* constants)
//	  "faultEvery": 0,                  // >1: only every Nth POST gets the fault (flaky front end)
//	  "throttleOncePercent": 0,         // make this % of ok mailboxes throttle-once
//	  "throttleOnceBackOffMs": 1500, "throttleHardBackOffMs": 300000,
//	  "retryAfterSeconds": 2,           // Retry-After of the 503 fault
//	  "hugeBytes": 52428800             // size of the "huge" reply
//	}
type Scenario struct {
	Name           string     `json:"name,omitempty"`
	Domain         string     `json:"domain"`
	NetBIOS        string     `json:"netbios"`
	Host           string     `json:"host,omitempty"`
	AuthSchemes    []string   `json:"authSchemes,omitempty"`
	MaxConcurrency int        `json:"maxConcurrency,omitempty"`
	Accounts       []Account  `json:"accounts"`
	Mailboxes      []Mailbox  `json:"mailboxes"`
	RoomLists      []RoomList `json:"roomLists,omitempty"`

	Fault                 string  `json:"fault,omitempty"`
	FaultEvery            int     `json:"faultEvery,omitempty"`
	ThrottleOncePercent   float64 `json:"throttleOncePercent,omitempty"`
	ThrottleOnceBackOffMs int     `json:"throttleOnceBackOffMs,omitempty"`
	ThrottleHardBackOffMs int     `json:"throttleHardBackOffMs,omitempty"`
	RetryAfterSeconds     int     `json:"retryAfterSeconds,omitempty"`
	HugeBytes             int64   `json:"hugeBytes,omitempty"`

	once  sync.Once
	index map[string]int // lower-case address → index in Mailboxes
	state []string       // effective state per mailbox (ThrottleOncePercent applied)
}

// Account is a principal that can sign in (Basic or NTLM).
type Account struct {
	User          string        `json:"user"`
	Sam           string        `json:"sam,omitempty"`
	Password      string        `json:"password"`
	Mailbox       bool          `json:"mailbox"`
	Impersonation Impersonation `json:"impersonation"`
}

// Impersonation models the ApplicationImpersonation role assignment of an account.
type Impersonation struct {
	Mode               string   `json:"mode"` // none | all | scope
	Departments        []string `json:"departments,omitempty"`
	ExcludeDepartments []string `json:"excludeDepartments,omitempty"`
	Addresses          []string `json:"addresses,omitempty"`
	ScopeName          string   `json:"scopeName,omitempty"`
	ScopeFilter        string   `json:"scopeFilter,omitempty"`
}

// Mailbox is one recipient in the simulated directory.
type Mailbox struct {
	Address    string `json:"address"`
	Name       string `json:"name,omitempty"`
	Department string `json:"department,omitempty"`
	Kind       string `json:"kind,omitempty"` // user (default) | room
	State      string `json:"state,omitempty"`
	Hidden     bool   `json:"hidden,omitempty"`
}

// RoomList is a distribution group of rooms (GetRoomLists / GetRooms).
type RoomList struct {
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Rooms   []string `json:"rooms"`
}

// Impersonation modes.
const (
	ModeNone  = "none"
	ModeAll   = "all"
	ModeScope = "scope"
)

// Mailbox states. The EWS code each produces is documented with Expect.
const (
	StateOK                  = "ok"
	StateMissing             = "missing"              // ErrorNonExistentMailbox (fault)
	StateNoMailbox           = "no-mailbox"           // ErrorMissingEmailAddress (per item)
	StateMoveInProgress      = "move-in-progress"     // ErrorMailboxMoveInProgress (per item)
	StateStoreUnavailable    = "store-unavailable"    // ErrorMailboxStoreUnavailable (per item)
	StateAccessDenied        = "access-denied"        // ErrorAccessDenied (per item)
	StateLegacyVersion       = "legacy-version"       // ErrorInvalidSchemaVersionForMailboxVersion (fault) unless Exchange2007[_SP1]
	StateCASDenied           = "cas-denied"           // ErrorImpersonationDenied (fault) for this mailbox only
	StateImpersonationFailed = "impersonation-failed" // ErrorImpersonationFailed (fault)
	StateInvalidSMTP         = "invalid-smtp"         // ErrorInvalidSmtpAddress (fault)
	StateSchema              = "schema"               // ErrorSchemaValidation (fault)
	StateInternal            = "internal"             // ErrorInternalServerError (per item)
	StateThrottleOnce        = "throttle-once"        // first request ErrorServerBusy (fault), then OK
	StateThrottleHard        = "throttle-hard"        // always ErrorServerBusy, BackOffMilliseconds 300000
	StateHTML                = "html"                 // 200 text/html login page
	StateReset               = "reset"                // connection reset
	StateStall               = "stall"                // never answers
	StateUnavailable         = "unavailable"          // 503 + Retry-After
	StateMalformed           = "malformed"            // 200 text/xml, truncated XML
	StateHuge                = "huge"                 // 200 text/xml, HugeBytes of XML
)

// Global faults (Scenario.Fault): applied to every POST to the EWS endpoint before
// authentication, as a broken front end or reverse proxy would.
const (
	FaultReset       = StateReset
	FaultStall       = StateStall
	FaultUnavailable = StateUnavailable
	FaultHTML        = StateHTML
	FaultMalformed   = StateMalformed
	FaultHuge        = StateHuge
)

var validStates = []string{"", StateOK, StateMissing, StateNoMailbox, StateMoveInProgress,
	StateStoreUnavailable, StateAccessDenied, StateLegacyVersion, StateCASDenied,
	StateImpersonationFailed, StateInvalidSMTP, StateSchema, StateInternal, StateThrottleOnce,
	StateThrottleHard, StateHTML, StateReset, StateStall, StateUnavailable, StateMalformed, StateHuge}

// perItemStates answer inside the response message (HTTP 200), not as a fault.
var perItemStates = []string{StateNoMailbox, StateMoveInProgress, StateStoreUnavailable, StateAccessDenied, StateInternal}

var validFaults = []string{"", FaultReset, FaultStall, FaultUnavailable, FaultHTML, FaultMalformed, FaultHuge}

// LoadScenario reads and validates a scenario file (format: see Scenario).
func LoadScenario(path string) (*Scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return &sc, nil
}

// Validate reports the first inconsistency in the scenario, with where it is.
func (sc *Scenario) Validate() error {
	if sc.Domain == "" {
		return fmt.Errorf("domain is empty")
	}
	if len(sc.Accounts) == 0 {
		return fmt.Errorf("no accounts: at least one service account is needed")
	}
	for i, a := range sc.Accounts {
		if !strings.Contains(a.User, "@") {
			return fmt.Errorf("accounts[%d].user %q is not a UPN (user@domain)", i, a.User)
		}
		if a.Password == "" {
			return fmt.Errorf("accounts[%d] (%s): password is empty", i, a.User)
		}
		switch a.Impersonation.Mode {
		case ModeNone, ModeAll, ModeScope, "":
		default:
			return fmt.Errorf("accounts[%d] (%s): impersonation.mode %q is not none, all or scope", i, a.User, a.Impersonation.Mode)
		}
	}
	for _, s := range sc.AuthSchemes {
		switch s {
		case "NTLM", "Negotiate", "Basic":
		default:
			return fmt.Errorf("authSchemes: %q is not NTLM, Negotiate or Basic", s)
		}
	}
	if !slices.Contains(validFaults, sc.Fault) {
		return fmt.Errorf("fault %q is not one of %s", sc.Fault, strings.Join(validFaults[1:], ", "))
	}
	if sc.FaultEvery < 0 {
		return fmt.Errorf("faultEvery %d is negative", sc.FaultEvery)
	}
	if sc.ThrottleOncePercent < 0 || sc.ThrottleOncePercent > 100 {
		return fmt.Errorf("throttleOncePercent %v is outside 0..100", sc.ThrottleOncePercent)
	}
	seen := map[string]bool{}
	for i, m := range sc.Mailboxes {
		a := strings.ToLower(m.Address)
		if !strings.Contains(a, "@") {
			return fmt.Errorf("mailboxes[%d].address %q is not an SMTP address", i, m.Address)
		}
		if seen[a] {
			return fmt.Errorf("mailboxes[%d].address %q appears twice", i, m.Address)
		}
		seen[a] = true
		if m.Kind != "" && m.Kind != "user" && m.Kind != "room" {
			return fmt.Errorf("mailboxes[%d] (%s): kind %q is not user or room", i, m.Address, m.Kind)
		}
		if !slices.Contains(validStates, m.State) {
			return fmt.Errorf("mailboxes[%d] (%s): state %q is not one of %s", i, m.Address, m.State, strings.Join(validStates[1:], ", "))
		}
	}
	for i, rl := range sc.RoomLists {
		if !strings.Contains(rl.Address, "@") {
			return fmt.Errorf("roomLists[%d].address %q is not an SMTP address", i, rl.Address)
		}
		for _, r := range rl.Rooms {
			if !seen[strings.ToLower(r)] {
				return fmt.Errorf("roomLists[%d] (%s): room %q is not in mailboxes", i, rl.Name, r)
			}
		}
	}
	return nil
}

// prepare builds the lookup index and the effective states once.
func (sc *Scenario) prepare() {
	sc.once.Do(func() {
		sc.index = make(map[string]int, len(sc.Mailboxes))
		sc.state = make([]string, len(sc.Mailboxes))
		p := sc.ThrottleOncePercent
		okSeen := 0
		for i, m := range sc.Mailboxes {
			sc.index[strings.ToLower(m.Address)] = i
			st := m.State
			if st == "" {
				st = StateOK
			}
			if st == StateOK && p > 0 {
				// Spread evenly and deterministically: mailbox k of the ok ones is picked
				// when floor((k+1)·p/100) steps up.
				if int(float64(okSeen+1)*p/100) > int(float64(okSeen)*p/100) {
					st = StateThrottleOnce
				}
				okSeen++
			}
			sc.state[i] = st
		}
	})
}

// lookup returns the mailbox and its effective state.
func (sc *Scenario) lookup(addr string) (*Mailbox, string, bool) {
	sc.prepare()
	i, ok := sc.index[strings.ToLower(strings.TrimSpace(addr))]
	if !ok {
		return nil, "", false
	}
	return &sc.Mailboxes[i], sc.state[i], true
}

// account finds an account by UPN, DOMAIN\sam, domain\sam or sam.
func (sc *Scenario) account(name string) (*Account, bool) {
	name = strings.TrimSpace(name)
	if d, u, ok := strings.Cut(name, `\`); ok {
		if !strings.EqualFold(d, sc.NetBIOS) && !strings.EqualFold(d, sc.Domain) {
			return nil, false
		}
		name = u
	}
	for i := range sc.Accounts {
		a := &sc.Accounts[i]
		if strings.EqualFold(a.User, name) || (a.Sam != "" && strings.EqualFold(a.Sam, name)) {
			return a, true
		}
		if at := strings.IndexByte(a.User, '@'); a.Sam == "" && at > 0 && strings.EqualFold(a.User[:at], name) {
			return a, true
		}
	}
	return nil, false
}

// inScope reports whether the account's impersonation right covers the mailbox.
func (a *Account) inScope(m *Mailbox) bool {
	r := a.Impersonation
	switch r.Mode {
	case ModeAll:
		return true
	case ModeScope:
		for _, x := range r.Addresses {
			if strings.EqualFold(x, m.Address) {
				return true
			}
		}
		for _, d := range r.Departments {
			if strings.EqualFold(d, m.Department) {
				return true
			}
		}
		if len(r.ExcludeDepartments) > 0 {
			for _, d := range r.ExcludeDepartments {
				if strings.EqualFold(d, m.Department) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// Targets lists the user mailboxes a diagnosis should probe (rooms excluded, service
// accounts excluded), in scenario order.
func (sc *Scenario) Targets() []string {
	var out []string
	for _, m := range sc.Mailboxes {
		if m.Kind == "room" || sc.isAccount(m.Address) {
			continue
		}
		out = append(out, m.Address)
	}
	return out
}

// Rooms lists the room mailboxes in scenario order.
func (sc *Scenario) Rooms() []string {
	var out []string
	for _, m := range sc.Mailboxes {
		if m.Kind == "room" {
			out = append(out, m.Address)
		}
	}
	return out
}

func (sc *Scenario) isAccount(addr string) bool {
	for _, a := range sc.Accounts {
		if strings.EqualFold(a.User, addr) {
			return true
		}
	}
	return false
}

// Expect returns the EWS ResponseCode the simulator answers when the first account
// (the demo service account) impersonates address with GetFolder and a modern
// RequestServerVersion (Exchange2013_SP1), after retrying once-only throttling:
// "NoError" when it works, else the Exchange code ("ErrorImpersonateUserDenied",
// "ErrorNonExistentMailbox", …). States that produce no EWS reply at all (html, reset,
// stall, unavailable, malformed, huge) return "".
func (sc *Scenario) Expect(address string) string {
	code, _ := sc.expect(address)
	return code
}

// ExpectClass is Expect mapped onto the deputy.diagnostics/v1 class vocabulary
// ("ok", "impersonation-denied", …, "not-ews", "other").
func (sc *Scenario) ExpectClass(address string) string {
	_, class := sc.expect(address)
	return class
}

// ExpectAs is Expect for any account of the scenario (UPN or DOMAIN\sam), returning the
// code and the class. address "" means the account's own mailbox without impersonation
// (the service-mailbox check): "NoError", or ErrorMissingEmailAddress without a mailbox.
// An unknown account gets ("", "auth-failed").
func (sc *Scenario) ExpectAs(account, address string) (code, class string) {
	a, ok := sc.account(account)
	if !ok {
		return "", "auth-failed"
	}
	return sc.expectAs(a, address)
}

func (sc *Scenario) expect(address string) (code, class string) {
	if len(sc.Accounts) == 0 {
		return "ErrorAccessDenied", "access-denied"
	}
	return sc.expectAs(&sc.Accounts[0], address)
}

func (sc *Scenario) expectAs(acct *Account, address string) (code, class string) {
	if address == "" {
		if !acct.Mailbox {
			return "ErrorMissingEmailAddress", "no-mailbox"
		}
		// Without impersonation only the mailbox's own store states apply.
		if _, st, ok := sc.lookup(acct.User); ok && slices.Contains(perItemStates, st) {
			return stateCode(st)
		}
		return "NoError", "ok"
	}
	if acct.Impersonation.Mode == ModeNone || acct.Impersonation.Mode == "" {
		return "ErrorImpersonationDenied", "no-impersonation-right"
	}
	m, st, ok := sc.lookup(address)
	if !ok || st == StateMissing {
		return "ErrorNonExistentMailbox", "mailbox-not-found"
	}
	if st == StateInvalidSMTP {
		return "ErrorInvalidSmtpAddress", "header-invalid"
	}
	if st == StateCASDenied {
		return "ErrorImpersonationDenied", "no-impersonation-right"
	}
	if !acct.inScope(m) {
		return "ErrorImpersonateUserDenied", "impersonation-denied"
	}
	return stateCode(st)
}

// stateCode is what a mailbox in state st answers once it is reached and in scope.
func stateCode(st string) (code, class string) {
	switch st {
	case StateImpersonationFailed:
		return "ErrorImpersonationFailed", "auth-failed"
	case StateLegacyVersion:
		return "ErrorInvalidSchemaVersionForMailboxVersion", "version-error"
	case StateSchema:
		return "ErrorSchemaValidation", "schema-error"
	case StateThrottleHard:
		return "ErrorServerBusy", "throttled"
	case StateHTML, StateMalformed, StateHuge:
		return "", "not-ews"
	case StateReset, StateStall, StateUnavailable:
		return "", "transient"
	case StateNoMailbox:
		return "ErrorMissingEmailAddress", "no-mailbox"
	case StateMoveInProgress:
		return "ErrorMailboxMoveInProgress", "transient"
	case StateStoreUnavailable:
		return "ErrorMailboxStoreUnavailable", "transient"
	case StateAccessDenied:
		return "ErrorAccessDenied", "access-denied"
	case StateInternal:
		return "ErrorInternalServerError", "other"
	}
	return "NoError", "ok"
}

// State returns the effective state of a mailbox ("" if it is not in the directory).
func (sc *Scenario) State(address string) string {
	_, st, ok := sc.lookup(address)
	if !ok {
		return ""
	}
	return st
}

func (sc *Scenario) maxConcurrency() int {
	if sc.MaxConcurrency > 0 {
		return sc.MaxConcurrency
	}
	return 27
}

func (sc *Scenario) authSchemes() []string {
	if len(sc.AuthSchemes) > 0 {
		return sc.AuthSchemes
	}
	return []string{"NTLM", "Negotiate", "Basic"}
}

func (sc *Scenario) host() string {
	if sc.Host != "" {
		return sc.Host
	}
	return "mail." + sc.Domain
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}
