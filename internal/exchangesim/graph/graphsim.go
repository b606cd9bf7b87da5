// Package graphsim is a simulated Microsoft Graph (v1.0) for the calendar endpoints Deputy
// proves: JSON batching, a user's calendar, events created and deleted, the room
// directory. It verifies Bearer JWTs for real (RS256 with the fake Entra ID's key, exp,
// nbf, audience, tenant), authorises per mailbox the way Exchange Online does for app-only
// calls (Entra consent in the token's roles, RBAC for Applications scopes, Application
// Access Policies), answers mailboxes on-premises in a hybrid with
// MailboxNotEnabledForRESTAPI, throttles per app with 429 + Retry-After (whole batches
// and single items), and writes errors in Graph's JSON shape. It shares no code with
// Deputy's client side (internal/graph) on purpose.
package graphsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Audiences Graph accepts.
const (
	AudienceURI   = "https://graph.microsoft.com"
	AudienceAppID = "00000003-0000-0000-c000-000000000000"
)

// Application permissions (token roles) and RBAC for Applications roles.
const (
	RoleReadBasic = "Calendars.ReadBasic"
	RoleRead      = "Calendars.Read"
	RoleReadWrite = "Calendars.ReadWrite"
	RolePlaces    = "Place.Read.All"

	RBACReadBasic = "Application Calendars.ReadBasic"
	RBACRead      = "Application Calendars.Read"
	RBACReadWrite = "Application Calendars.ReadWrite"
)

// Mailbox states.
const (
	StateOK           = ""
	StateOnPrem       = "onprem"        // on-premises in a hybrid: 404 MailboxNotEnabledForRESTAPI
	StateNoLicence    = "no-licence"    // no Exchange Online licence: the same 404
	StateThrottleOnce = "throttle-once" // first calendar read: 429 with Retry-After, then fine
	StateUnavailable  = "unavailable"   // 503 ServiceUnavailable
	StateTimeout      = "timeout"       // 504 GatewayTimeout
)

// Mailbox is one recipient as Graph sees it.
type Mailbox struct {
	Address string
	Name    string
	Kind    string // "user" (default) | "room"
	State   string
	Hidden  bool // rooms: hidden from the address list (not in /places)
}

// App is an app registration's Exchange-side authorisation. Its Entra consents travel
// in the token (roles); RBAC for Applications and Application Access Policies live in
// Exchange Online, here.
type App struct {
	ClientID string
	// RBACRole is the RBAC for Applications role assigned (RBAC* constants; "" = none),
	// scoped to RBACScope (addresses) or to every mailbox with RBACAll.
	RBACRole  string
	RBACScope []string
	RBACAll   bool
	// AccessPolicy is a legacy Application Access Policy (nil = none).
	AccessPolicy *AccessPolicy
}

// AccessPolicy is New-ApplicationAccessPolicy: RestrictAccess (only the group's members)
// or DenyAccess (all but the group's members).
type AccessPolicy struct {
	AccessRight string // "RestrictAccess" | "DenyAccess"
	Mailboxes   []string
}

// Config is what the simulated Graph serves.
type Config struct {
	// Key verifies the tokens' RS256 signatures (the fake Entra ID's public key).
	Key *rsa.PublicKey
	// Tenant, if set, is the only tid accepted.
	Tenant    string
	Mailboxes []Mailbox
	Apps      []App
	// Latency is added to every HTTP request (cancellable).
	Latency time.Duration
	// Budget is how many requests (batch items count one each) an app may make per
	// BudgetWindow before 429; 0 = unlimited.
	Budget       int
	BudgetWindow time.Duration // default 1 s
	// RetryAfter is the Retry-After (seconds) of throttle-once mailboxes; default 1.
	RetryAfter int
	// PageSize is the number of rooms per /places page; default 100.
	PageSize int
	Now      func() time.Time
}

// Counters are what a test can observe.
type Counters struct {
	Requests      int64 // HTTP requests under /v1.0
	Batches       int64 // $batch requests
	BatchItems    int64 // requests inside batches
	Throttled     int64 // 429 answers (whole requests and items)
	EventsCreated int64
	EventsDeleted int64
	Invitations   int64 // events created with attendees (Deputy must never send one)
	Rejected401   int64
}

// Sim is a running simulated Graph; mount it with Mount.
type Sim struct {
	cfg     Config
	boxes   map[string]*Mailbox // lower-case address → mailbox
	rooms   []*Mailbox
	apps    map[string]*App
	inScope map[string]map[string]bool // client id → lower-case address → RBAC scope member
	policy  map[string]map[string]bool // client id → policy group members

	requests, batches, items, throttled, created, deleted, invites, rejected atomic.Int64

	mu        sync.Mutex
	events    map[string]map[string]bool // mailbox → event ids
	throttle1 map[string]bool            // throttle-once mailboxes already throttled
	budget    map[string]*window         // client id → budget window
}

type window struct {
	start time.Time
	used  int
}

// New validates cfg and returns the simulated Graph.
func New(cfg Config) (*Sim, error) {
	if cfg.Key == nil {
		return nil, errors.New("graphsim: no token verification key")
	}
	if cfg.BudgetWindow <= 0 {
		cfg.BudgetWindow = time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 1
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sim{cfg: cfg, boxes: map[string]*Mailbox{}, apps: map[string]*App{}, inScope: map[string]map[string]bool{},
		policy: map[string]map[string]bool{}, events: map[string]map[string]bool{}, throttle1: map[string]bool{}, budget: map[string]*window{}}
	valid := []string{StateOK, StateOnPrem, StateNoLicence, StateThrottleOnce, StateUnavailable, StateTimeout}
	for i := range cfg.Mailboxes {
		m := cfg.Mailboxes[i]
		k := strings.ToLower(m.Address)
		if k == "" || !strings.Contains(k, "@") {
			return nil, fmt.Errorf("graphsim: mailbox %d: %q is not an address", i, m.Address)
		}
		if !slices.Contains(valid, m.State) {
			return nil, fmt.Errorf("graphsim: mailbox %s: unknown state %q", m.Address, m.State)
		}
		if _, dup := s.boxes[k]; dup {
			return nil, fmt.Errorf("graphsim: mailbox %s listed twice", m.Address)
		}
		s.boxes[k] = &m
		if m.Kind == "room" {
			s.rooms = append(s.rooms, &m)
		}
	}
	for i := range cfg.Apps {
		a := cfg.Apps[i]
		if a.ClientID == "" {
			return nil, fmt.Errorf("graphsim: app %d has no client id", i)
		}
		switch a.RBACRole {
		case "", RBACReadBasic, RBACRead, RBACReadWrite:
		default:
			return nil, fmt.Errorf("graphsim: app %s: unknown RBAC role %q", a.ClientID, a.RBACRole)
		}
		if p := a.AccessPolicy; p != nil && p.AccessRight != "RestrictAccess" && p.AccessRight != "DenyAccess" {
			return nil, fmt.Errorf("graphsim: app %s: access right must be RestrictAccess or DenyAccess", a.ClientID)
		}
		k := strings.ToLower(a.ClientID)
		s.apps[k] = &a
		s.inScope[k] = set(a.RBACScope)
		if a.AccessPolicy != nil {
			s.policy[k] = set(a.AccessPolicy.Mailboxes)
		}
	}
	return s, nil
}

func set(addrs []string) map[string]bool {
	m := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		m[strings.ToLower(a)] = true
	}
	return m
}

// Mount serves the simulated Graph endpoints on mux, next to the fake Entra ID (whose
// /{tenant}/… patterns rule out a /v1.0/ catch-all):
//
//	POST   /v1.0/$batch
//	GET    /v1.0/users/{id}/calendar
//	POST   /v1.0/users/{id}/events
//	DELETE /v1.0/users/{id}/events/{eventId}
//	GET    /v1.0/places/microsoft.graph.room
func (s *Sim) Mount(mux *http.ServeMux) {
	for _, p := range []string{"/v1.0/$batch", "/v1.0/users/{id}/calendar", "/v1.0/users/{id}/events",
		"/v1.0/users/{id}/events/{eventId}", "/v1.0/places/microsoft.graph.room"} {
		mux.Handle(p, s)
	}
}

// Counters returns a snapshot.
func (s *Sim) Counters() Counters {
	return Counters{Requests: s.requests.Load(), Batches: s.batches.Load(), BatchItems: s.items.Load(), Throttled: s.throttled.Load(),
		EventsCreated: s.created.Load(), EventsDeleted: s.deleted.Load(), Invitations: s.invites.Load(), Rejected401: s.rejected.Load()}
}

// LeftEvents is the number of events created and not deleted, over all mailboxes.
func (s *Sim) LeftEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.events {
		n += len(ev)
	}
	return n
}

// take charges n requests to an app's budget and returns how many were granted and, when
// some were not, the seconds until the window refills.
func (s *Sim) take(client string, n int) (int, int) {
	if s.cfg.Budget <= 0 {
		return n, 0
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.budget[client]
	if w == nil || now.Sub(w.start) >= s.cfg.BudgetWindow {
		w = &window{start: now}
		s.budget[client] = w
	}
	got := min(n, max(0, s.cfg.Budget-w.used))
	w.used += got
	wait := int((s.cfg.BudgetWindow - now.Sub(w.start) + time.Second - 1) / time.Second)
	return got, max(1, wait)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
