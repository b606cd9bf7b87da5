package impersonation_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/graph"
	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/transport"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

const (
	gTenant = "8f0e6c5a-3b1d-4e2f-9a7b-1c2d3e4f5a6b"
	gApp    = "0c5d7e9f-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
	gSecret = "graph-plan-test-secret-0123456789"
)

// graphEnv is one simulated Exchange (EWS) with the fake Entra ID and the simulated Graph
// mounted on it, Graph's view derived from the scenario (graphsim.FromScenario).
type graphEnv struct {
	srv    *exchangesim.Server
	sim    *graphsim.Sim
	base   string
	tokens func(context.Context) (string, error)
}

func startGraph(t testing.TB, sc *exchangesim.Scenario, roles []string, mod func(*graphsim.Config)) *graphEnv {
	t.Helper()
	srv, err := exchangesim.Start(sc, exchangesim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e, err := entra.New(entra.Config{Tenants: []entra.Tenant{{ID: gTenant, Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam",
		Apps: []entra.App{{ClientID: gApp, Name: "Scheduler", Secrets: []entra.Secret{{Value: gSecret}},
			AppRoles: map[string][]string{entra.ResourceGraph: roles}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.Mount(srv.Mux())
	cfg := graphsim.FromScenario(sc, gApp)
	cfg.Key, cfg.Tenant = e.PublicKey(), gTenant
	if mod != nil {
		mod(&cfg)
	}
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim.Mount(srv.Mux())
	base := strings.TrimSuffix(srv.URL, "/EWS/Exchange.asmx")
	hc, err := transport.NewClient(transport.Options{TLS: transport.TLSOptions{PinSHA256: srv.SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := confidential.NewCredFromSecret(gSecret)
	app, err := confidential.New(base+"/"+gTenant, gApp, cred, confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tokens := func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		r, err := app.AcquireTokenByCredential(ctx, []string{graph.Scope})
		return r.AccessToken, err
	}
	return &graphEnv{srv: srv, sim: sim, base: base, tokens: tokens}
}

func (g *graphEnv) config(protocol string) impersonation.Config {
	return impersonation.Config{
		Profile:    result.Profile{Name: "Scheduler", TenantID: gTenant, ClientID: gApp},
		Protocol:   protocol,
		URL:        g.srv.URL,
		Auth:       transport.Auth{Scheme: "basic", User: g.srv.User, Password: g.srv.Password},
		TLS:        transport.TLSOptions{PinSHA256: g.srv.SHA256},
		GraphURL:   g.base,
		GraphToken: g.tokens,
		Mailboxes:  g.srv.Scenario().Targets(),
		Timeout:    5 * time.Second,
	}
}

func byAddr(r *result.Result, protocol string) map[string]result.Mailbox {
	m := map[string]result.Mailbox{}
	for _, mb := range r.Mailboxes {
		if mb.Protocol == protocol {
			m[mb.Address] = mb
		}
	}
	return m
}

// graphWant is how each demo mailbox must come out through Graph (FromScenario's story).
var graphWant = map[string]struct {
	class result.Class
	code  string
}{
	"anna.berg@fabrikam.test":        {result.OK, ""},
	"ceo@fabrikam.test":              {result.OK, ""},
	"paul.quinn@fabrikam.test":       {result.ImpersonationDenied, "ErrorAccessDenied"}, // outside the RBAC scope
	"uma.varga@fabrikam.test":        {result.ImpersonationDenied, "ErrorAccessDenied"}, // [RAOP]
	"wendy.xu@fabrikam.test":         {result.NoMailbox, "MailboxNotEnabledForRESTAPI"},
	"contractor.kim@fabrikam.test":   {result.NoMailbox, "MailboxNotEnabledForRESTAPI"},
	"jon.smiht@fabrikam.test":        {result.MailboxNotFound, "ErrorInvalidUser"},
	"proxy.address@fabrikam.test":    {result.MailboxNotFound, "ErrorInvalidUser"},
	"yara.zimmer@fabrikam.test":      {result.OK, ""}, // throttled once, Retry-After honoured
	"room.boardroom@fabrikam.test":   {result.OK, ""},
	"room.exec-huddle@fabrikam.test": {result.OK, ""},
}

// TestGraphPlan: a Graph-only diagnosis through MSAL tokens: every class, the write test
// leaves nothing, rooms come from the places directory, per-item Retry-After is honoured,
// 20 mailboxes per HTTP request.
func TestGraphPlan(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RolePlaceReadAll}, nil)
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.URL, cfg.Auth = "", transport.Auth{} // Graph needs nothing of EWS
	cfg.WriteTest, cfg.CheckRooms, cfg.Trace = true, true, true
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range r.Checks {
		ids = append(ids, c.ID+":"+string(c.Status))
	}
	if got := strings.Join(ids, " "); got != "token:warn impersonation:fail write:pass rooms:pass" {
		t.Errorf("checks %s", got)
	}
	tok := check(t, r, result.CheckToken)
	if tok.Code != "no-calendar-role" || !strings.Contains(tok.Summary, "RBAC for Applications") {
		t.Errorf("token check %+v", tok)
	}
	got := byAddr(r, result.Graph)
	for a, w := range graphWant {
		m, ok := got[a]
		if !ok {
			t.Errorf("%s not proved through Graph", a)
			continue
		}
		if m.Class != w.class || m.Code != w.code {
			t.Errorf("%s: %s %q (%s), want %s %q", a, m.Class, m.Code, m.Message, w.class, w.code)
		}
		if m.Class == result.OK && m.Write != result.Pass {
			t.Errorf("%s: write %s", a, m.Write)
		}
		if m.Class != result.OK && m.Remediation == "" {
			t.Errorf("%s: no remediation", a)
		}
	}
	if y := got["yara.zimmer@fabrikam.test"]; y.Attempts != 2 || y.BackoffMs != 1000 {
		t.Errorf("throttle-once mailbox: %d attempts, %d ms back-off; want 2 and Retry-After's 1000", y.Attempts, y.BackoffMs)
	}
	if !strings.Contains(got["uma.varga@fabrikam.test"].Remediation, "Test-ApplicationAccessPolicy -Identity 'uma.varga@fabrikam.test' -AppId '"+gApp+"'") {
		t.Errorf("AAP remediation: %s", got["uma.varga@fabrikam.test"].Remediation)
	}
	if !strings.Contains(got["paul.quinn@fabrikam.test"].Remediation, "Test-ServicePrincipalAuthorization -Identity '"+gApp+"' -Resource 'paul.quinn@fabrikam.test'") {
		t.Errorf("RBAC remediation: %s", got["paul.quinn@fabrikam.test"].Remediation)
	}
	n := g.sim.Counters()
	if left := g.sim.LeftEvents(); left != 0 || n.Invitations != 0 || n.EventsCreated == 0 || n.EventsCreated != n.EventsDeleted {
		t.Errorf("write test: created %d, deleted %d, left %d, invitations %d", n.EventsCreated, n.EventsDeleted, left, n.Invitations)
	}
	// Exactly: 20 mailboxes per $batch (Graph's limit), each batch read, then one create
	// and one delete batch for it (every batch here has a readable mailbox); the retried
	// mailboxes form batches of their own; plus the one places listing for the rooms.
	perBatch := func(n int) int { return (n + 19) / 20 }
	var users, rooms, retried int
	for _, m := range r.Mailboxes {
		if m.Kind == result.KindRoom {
			rooms++
		} else {
			users++
		}
		if m.Attempts > 1 {
			retried++
		}
	}
	want := 3*(perBatch(users)+perBatch(retried)+perBatch(rooms)) + 1
	if users == 0 || rooms == 0 || retried == 0 || r.Summary.Requests != want || n.Requests != int64(want) {
		t.Errorf("%d requests counted, %d received by Graph, for %d mailboxes, %d rooms, %d retried: want %d (20 per batch)",
			r.Summary.Requests, n.Requests, users, rooms, retried, want)
	}
	// No token in any output: the result with its traces, marshalled.
	bearer, _ := g.tokens(context.Background())
	js, _ := json.Marshal(r)
	if len(r.Traces) == 0 || strings.Contains(string(js), bearer) || strings.Contains(string(js), bearer[strings.LastIndexByte(bearer, '.')+1:]) {
		t.Errorf("traces %d; token present: %v", len(r.Traces), strings.Contains(string(js), bearer))
	}
}

// TestGraphWrongAudience: an EWS token offered to Graph fails the token check; nothing
// else runs.
func TestGraphWrongAudience(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RoleCalendarsReadWrite}, nil)
	cfg := g.config(impersonation.ProtocolGraph)
	inner := g.tokens
	hc, _ := transport.NewClient(transport.Options{TLS: transport.TLSOptions{PinSHA256: g.srv.SHA256}})
	cred, _ := confidential.NewCredFromSecret(gSecret)
	app, _ := confidential.New(g.base+"/"+gTenant, gApp, cred, confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(false))
	_ = inner
	cfg.GraphToken = func(ctx context.Context) (string, error) {
		r, err := app.AcquireTokenByCredential(ctx, []string{"https://outlook.office365.com/.default"})
		return r.AccessToken, err
	}
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := check(t, r, result.CheckToken)
	if tok.Status != result.Fail || tok.Code != "wrong-audience" || check(t, r, result.CheckImpersonation).Status != result.Skip {
		t.Errorf("token %+v", tok)
	}
	if g.sim.Counters().Requests != 0 {
		t.Errorf("Graph was called with a token for another audience")
	}
}

// TestMigrationBoth: EWS and Graph side by side, one entry per address and protocol, and
// the migration verdicts.
func TestMigrationBoth(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RolePlaceReadAll}, nil)
	cfg := g.config(impersonation.ProtocolBoth)
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ews, gr := byAddr(r, result.EWS), byAddr(r, result.Graph)
	if len(ews) != len(cfg.Mailboxes) || len(gr) != len(cfg.Mailboxes) {
		t.Fatalf("%d EWS and %d Graph entries for %d mailboxes", len(ews), len(gr), len(cfg.Mailboxes))
	}
	for _, id := range []string{impersonation.CheckGraphToken, impersonation.CheckGraphImpersonation, result.CheckImpersonation} {
		check(t, r, id)
	}
	mg := r.Migration
	if mg == nil || len(mg.Addresses) != len(cfg.Mailboxes) {
		t.Fatalf("migration %+v", mg)
	}
	counts := map[string]int{}
	for _, a := range mg.Addresses {
		e, g := ews[a.Address].Class == result.OK, gr[a.Address].Class == result.OK
		want := map[[2]bool]string{{true, true}: "both-ready", {true, false}: "ews-only", {false, true}: "graph-only", {false, false}: "neither"}[[2]bool{e, g}]
		if a.Verdict != want || a.EWS != ews[a.Address].Class || a.Graph != gr[a.Address].Class {
			t.Errorf("%s: %+v, want verdict %s", a.Address, a, want)
		}
		counts[a.Verdict]++
	}
	if counts["both-ready"] != mg.BothReady || counts["ews-only"] != mg.EWSOnly || counts["graph-only"] != mg.GraphOnly || counts["neither"] != mg.Neither {
		t.Errorf("counts %+v vs %v", mg, counts)
	}
	// The demo's stories: executives are outside the EWS scope but inside Graph's;
	// Marketing is EWS-only (a migration blocker).
	for a, v := range map[string]string{"ceo@fabrikam.test": "graph-only", "paul.quinn@fabrikam.test": "ews-only", "anna.berg@fabrikam.test": "both-ready", "jon.smiht@fabrikam.test": "neither"} {
		for _, x := range mg.Addresses {
			if x.Address == a && x.Verdict != v {
				t.Errorf("%s: %s, want %s", a, x.Verdict, v)
			}
		}
	}
	if mg.BothReady == 0 || mg.EWSOnly == 0 || mg.GraphOnly == 0 || mg.Neither == 0 {
		t.Errorf("the demo should show every verdict: %+v", mg)
	}
}

func TestGraphConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*impersonation.Config)
		field string
	}{
		{"unknown protocol", func(c *impersonation.Config) { c.Protocol = "rest" }, "protocol"},
		{"no token source", func(c *impersonation.Config) { c.Protocol, c.GraphToken = "graph", nil }, "auth"},
		{"http graph", func(c *impersonation.Config) { c.Protocol, c.GraphURL = "both", "http://graph.example" }, "graph-url"},
		{"bad graph url", func(c *impersonation.Config) { c.Protocol, c.GraphURL = "graph", "::" }, "graph-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := impersonation.Config{URL: "https://mail.example/EWS/Exchange.asmx", Auth: transport.Auth{Scheme: "basic", User: "u", Password: "p"},
				GraphToken: func(context.Context) (string, error) { return "", nil }}
			tc.mod(&cfg)
			_, err := impersonation.Diagnose(context.Background(), cfg, nil)
			var ce *impersonation.ConfigError
			if !asConfigError(err, &ce) || ce.Field != tc.field {
				t.Errorf("got %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
}

func asConfigError(err error, ce **impersonation.ConfigError) bool {
	c, ok := err.(*impersonation.ConfigError)
	*ce = c
	return ok
}

func TestMigrate(t *testing.T) {
	mb := func(a, p string, c result.Class, st result.Status) result.Mailbox {
		return result.Mailbox{Address: a, Protocol: p, Class: c, Status: st}
	}
	mg := impersonation.Migrate([]result.Mailbox{
		mb("A@x.test", "ews", result.OK, result.Pass), mb("b@x.test", "ews", result.OK, result.Pass),
		mb("c@x.test", "ews", result.ImpersonationDenied, result.Fail), mb("d@x.test", "ews", result.Throttled, result.Warn),
		mb("a@x.test", "graph", result.OK, result.Pass), mb("b@x.test", "graph", result.NoMailbox, result.Fail),
		mb("c@x.test", "graph", result.OK, result.Pass), mb("d@x.test", "graph", result.OK, result.Skip),
		mb("e@x.test", "graph", result.OK, result.Pass), mb("e@x.test", "graph", result.NoMailbox, result.Fail),
		mb("f@x.test", "ews", result.Throttled, result.Warn), mb("f@x.test", "graph", result.NoMailbox, result.Fail),
	})
	want := []string{"A@x.test both-ready", "b@x.test ews-only", "c@x.test graph-only", "d@x.test untested", "e@x.test untested", "f@x.test neither"}
	var got []string
	for _, a := range mg.Addresses {
		got = append(got, a.Address+" "+a.Verdict)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || mg.BothReady != 1 || mg.EWSOnly != 1 || mg.GraphOnly != 1 || mg.Neither != 1 || mg.Untested != 2 {
		t.Errorf("got %v %+v", got, mg)
	}
	if mg.Addresses[3].Graph != "" {
		t.Errorf("a skipped (cancelled) mailbox counts as not checked, got %q", mg.Addresses[3].Graph)
	}
}

// TestGraphThrottledBatches: the app's budget answers 429 for whole batches and for the
// items over it; the runner waits as long as Retry-After says and every mailbox passes.
func TestGraphThrottledBatches(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(60), []string{graph.RoleCalendarsRead}, func(c *graphsim.Config) {
		c.Budget, c.BudgetWindow = 30, time.Second
	})
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.Concurrency = 3
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Passed != len(cfg.Mailboxes) {
		t.Fatalf("%d of %d passed: %s", r.Summary.Passed, len(cfg.Mailboxes), check(t, r, result.CheckImpersonation).Summary)
	}
	var retried int
	for _, m := range r.Mailboxes {
		if m.Attempts > 1 {
			retried++
			if m.BackoffMs < 1000 {
				t.Errorf("%s: retried after %d ms, Retry-After said at least 1 s", m.Address, m.BackoffMs)
			}
		}
	}
	n := g.sim.Counters()
	if retried == 0 || n.Throttled == 0 {
		t.Errorf("no throttling happened (%d retried, %d 429s): the test proves nothing", retried, n.Throttled)
	}
}

// TestGraphWriteTestCancelled: a run cancelled between creating the test events and
// deleting them still deletes them.
func TestGraphWriteTestCancelled(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RoleCalendarsReadWrite}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.Mailboxes, cfg.WriteTest, cfg.Concurrency = cfg.Mailboxes[:5], true, 1
	var calls int
	var mu sync.Mutex
	cfg.GraphToken = func(c context.Context) (string, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 4 { // token check, read batch, create batch, then the delete batch
			cancel()
		}
		return g.tokens(c)
	}
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := g.sim.Counters()
	if !r.Cancelled || n.EventsCreated == 0 || g.sim.LeftEvents() != 0 {
		t.Errorf("cancelled %v, created %d, left %d: the deletes must outlive the cancel", r.Cancelled, n.EventsCreated, g.sim.LeftEvents())
	}
}

// TestGraphWriteTestCancelledMidCreate: a cancel while the create batch is in flight (the
// events exist, their IDs are on the way) still ends with every event deleted.
func TestGraphWriteTestCancelledMidCreate(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RoleCalendarsReadWrite}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.Mailboxes, cfg.WriteTest, cfg.Concurrency = []string{"anna.berg@fabrikam.test", "ceo@fabrikam.test"}, true, 1
	fired := cancelMidCreate(&cfg, func() bool { return g.sim.Counters().EventsCreated > 0 }, cancel)
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := g.sim.Counters()
	if !fired.Load() || !r.Cancelled || n.EventsCreated == 0 || g.sim.LeftEvents() != 0 {
		t.Errorf("cancel fired %v, cancelled %v, created %d, left %d: the creates must be seen through and deleted",
			fired.Load(), r.Cancelled, n.EventsCreated, g.sim.LeftEvents())
	}
}

// TestGraphReadOnlyRBAC: with a read-only RBAC for Applications role the token shows
// nothing; canEdit false tells, per mailbox, and the write test fails with the fix.
func TestGraphReadOnlyRBAC(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), nil, func(c *graphsim.Config) { c.Apps[0].RBACRole = graphsim.RBACRead })
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.Mailboxes = []string{"anna.berg@fabrikam.test"}
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Mailboxes[0]
	if m.Status != result.Pass || !strings.Contains(m.Message, "canEdit false") {
		t.Errorf("read-only grant: %s %q", m.Status, m.Message)
	}
	cfg.WriteTest = true
	if r, err = impersonation.Diagnose(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	m = r.Mailboxes[0]
	if m.Read != result.Pass || m.Write != result.Fail || m.Class != result.AccessDenied || !strings.Contains(m.Remediation, "read-only grant") {
		t.Errorf("write test with a read-only grant: read %s write %s %s\n%s", m.Read, m.Write, m.Class, m.Remediation)
	}
	if c := check(t, r, result.CheckWrite); c.Status != result.Fail {
		t.Errorf("write check %s", c.Status)
	}
}

// TestGraphTransient: 503 and 504 items are retried, then reported as transient (warn).
func TestGraphTransient(t *testing.T) {
	g := startGraph(t, exchangesim.Demo(0), []string{graph.RoleCalendarsReadWrite}, func(c *graphsim.Config) {
		for i := range c.Mailboxes {
			switch c.Mailboxes[i].Address {
			case "anna.berg@fabrikam.test":
				c.Mailboxes[i].State = graphsim.StateUnavailable
			case "ben.carter@fabrikam.test":
				c.Mailboxes[i].State = graphsim.StateTimeout
			}
		}
	})
	cfg := g.config(impersonation.ProtocolGraph)
	cfg.Mailboxes, cfg.Retries = []string{"anna.berg@fabrikam.test", "ben.carter@fabrikam.test", "david.ek@fabrikam.test"}, 1
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byAddr(r, result.Graph)
	for a, code := range map[string]string{"anna.berg@fabrikam.test": "ServiceUnavailable", "ben.carter@fabrikam.test": "GatewayTimeout"} {
		if m := got[a]; m.Class != result.Transient || m.Status != result.Warn || m.Code != code || m.Attempts != 2 {
			t.Errorf("%s: %s %s %q after %d attempts", a, m.Status, m.Class, m.Code, m.Attempts)
		}
	}
	if m := got["david.ek@fabrikam.test"]; m.Status != result.Pass || m.Attempts != 1 {
		t.Errorf("healthy mailbox in the same batch: %s after %d attempts", m.Status, m.Attempts)
	}
}
