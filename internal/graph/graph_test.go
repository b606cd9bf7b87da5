package graph_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/graph"
	"deputy/internal/result"
)

// classCase is one mailbox of the classification table.
type classCase struct {
	mailbox graphsim.Mailbox
	inScope bool // in the app's RBAC for Applications scope
	known   bool // exists in the directory
	class   result.Class
	code    string
	msg     string // substring of the message
}

func classTable() []classCase {
	mb := func(local, state string) graphsim.Mailbox {
		return graphsim.Mailbox{Address: addr(local), Name: local, State: state}
	}
	return []classCase{
		{mb("anna.berg", ""), true, true, result.OK, "", ""},
		{mb("o'brien+cal", ""), true, true, result.OK, "", ""},
		{mb("ops.onprem", graphsim.StateOnPrem), true, true, result.NoMailbox, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported"},
		{mb("kiosk.nolicence", graphsim.StateNoLicence), true, true, result.NoMailbox, "MailboxNotEnabledForRESTAPI", "REST API"},
		{mb("legal.counsel", ""), true, true, result.ImpersonationDenied, "ErrorAccessDenied", "[RAOP]"},
		{mb("mkt.outside", ""), false, true, result.AccessDenied, "ErrorAccessDenied", "Access is denied"},
		{mb("db3.user", graphsim.StateUnavailable), true, true, result.Transient, "ServiceUnavailable", ""},
		{mb("gw.timeout", graphsim.StateTimeout), true, true, result.Transient, "GatewayTimeout", ""},
		{mb("yara.zimmer", graphsim.StateThrottleOnce), true, true, result.Throttled, "ApplicationThrottled", ""},
		{mb("jon.smiht", ""), true, false, result.MailboxNotFound, "ErrorInvalidUser", "is invalid"},
	}
}

func classConfig(cases []classCase) graphsim.Config {
	app := graphsim.App{ClientID: appID, RBACRole: graphsim.RBACReadWrite, AccessPolicy: &graphsim.AccessPolicy{AccessRight: "DenyAccess"}}
	cfg := graphsim.Config{RetryAfter: 2}
	for _, c := range cases {
		if c.known {
			cfg.Mailboxes = append(cfg.Mailboxes, c.mailbox)
		}
		if c.inScope {
			app.RBACScope = append(app.RBACScope, c.mailbox.Address)
		}
		if strings.HasPrefix(c.mailbox.Address, "legal.") {
			app.AccessPolicy.Mailboxes = append(app.AccessPolicy.Mailboxes, c.mailbox.Address)
		}
	}
	cfg.Apps = []graphsim.App{app}
	return cfg
}

// TestBatchClassifiesEachItem: one $batch whose items fail individually, each classified
// with Graph's code verbatim; the throttled item carries its own Retry-After; a second
// batch finds the throttle-once mailbox readable.
func TestBatchClassifiesEachItem(t *testing.T) {
	cases := classTable()
	f := newFixture(t, classConfig(cases), nil) // no Entra consent: access only via RBAC for Apps
	c, _ := f.client(t, graph.Scope)
	var reqs []graph.Request
	for i, cc := range cases {
		reqs = append(reqs, graph.CalendarRequest(fmt.Sprint(i+1), cc.mailbox.Address))
	}
	resps, err := c.Batch(ctxT(t), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != len(cases) {
		t.Fatalf("%d responses for %d requests", len(resps), len(cases))
	}
	for i, cc := range cases {
		t.Run(cc.mailbox.Address, func(t *testing.T) {
			r := resps[i]
			if r.ID != fmt.Sprint(i+1) {
				t.Fatalf("response %d has id %q: not matched to its request", i, r.ID)
			}
			cal, err := graph.ParseCalendar(r)
			if cc.class == result.OK {
				if err != nil {
					t.Fatalf("want a calendar, got %v", err)
				}
				if !strings.EqualFold(cal.Owner.Address, cc.mailbox.Address) || !cal.CanEdit {
					t.Errorf("calendar %+v: want owner %s, canEdit", cal, cc.mailbox.Address)
				}
				return
			}
			var ge *graph.Error
			if !errors.As(err, &ge) {
				t.Fatalf("want *graph.Error, got %v", err)
			}
			if ge.Class != cc.class || ge.Code != cc.code || !strings.Contains(ge.Message, cc.msg) {
				t.Errorf("got %s %q %q, want %s %q containing %q", ge.Class, ge.Code, ge.Message, cc.class, cc.code, cc.msg)
			}
			if ge.RequestID == "" || ge.Date == "" {
				t.Errorf("innerError ids missing: %+v", ge)
			}
			if cc.class == result.Throttled && ge.RetryAfter != 2*time.Second {
				t.Errorf("per-item Retry-After = %s, want 2s", ge.RetryAfter)
			}
		})
	}
	again, err := c.Batch(ctxT(t), []graph.Request{graph.CalendarRequest("a", addr("yara.zimmer"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.ParseCalendar(again[0]); err != nil {
		t.Errorf("throttle-once mailbox still failing: %v", err)
	}
	if n := f.sim.Counters(); n.Batches != 2 || n.Requests != 2 || n.BatchItems != int64(len(cases)+1) {
		t.Errorf("counters %+v: want 2 HTTP requests carrying %d items", n, len(cases)+1)
	}
}

// TestTokenRejected: a token for the wrong audience (EWS) and a forged one are refused
// for the whole batch with 401 InvalidAuthenticationToken → auth-failed.
func TestTokenRejected(t *testing.T) {
	f := newFixture(t, graphsim.Config{Mailboxes: []graphsim.Mailbox{{Address: addr("anna.berg")}}}, []string{graph.RoleCalendarsReadWrite})
	wrongAud, _ := f.client(t, "https://outlook.office365.com/.default")
	_, err := wrongAud.Batch(ctxT(t), []graph.Request{graph.CalendarRequest("1", addr("anna.berg"))})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != graph.CodeInvalidAuthToken || ge.Class != result.AuthFailed || !strings.Contains(ge.Message, "Invalid audience") {
		t.Fatalf("wrong audience: got %v", err)
	}
	if _, err := wrongAud.Calendar(ctxT(t), addr("anna.berg")); !errors.As(err, &ge) || ge.Class != result.AuthFailed {
		t.Fatalf("wrong audience, single request: got %v", err)
	}
	good, _ := f.client(t, graph.Scope)
	if _, err := good.Calendar(ctxT(t), addr("anna.berg")); err != nil {
		t.Fatalf("Graph token refused: %v", err)
	}
}

// TestThrottling: the app's budget answers 429 per item once part of a batch is over it,
// and 429 for the whole batch when nothing is left; Retry-After is read both ways.
func TestThrottling(t *testing.T) {
	cfg := graphsim.Config{Budget: 5, BudgetWindow: time.Minute}
	var reqs []graph.Request
	for i := range 8 {
		a := addr(fmt.Sprintf("user%02d", i))
		cfg.Mailboxes = append(cfg.Mailboxes, graphsim.Mailbox{Address: a})
		reqs = append(reqs, graph.CalendarRequest(fmt.Sprint(i), a))
	}
	f := newFixture(t, cfg, []string{graph.RoleCalendarsRead})
	c, _ := f.client(t, graph.Scope)
	resps, err := c.Batch(ctxT(t), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var ok, throttled int
	for _, r := range resps {
		_, err := graph.ParseCalendar(r)
		var ge *graph.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ge) && ge.Class == result.Throttled && ge.RetryAfter > 0 && ge.RetryAfter <= time.Minute:
			throttled++
		default:
			t.Errorf("item %s: %v", r.ID, err)
		}
	}
	if ok != 5 || throttled != 3 {
		t.Errorf("%d ok, %d throttled; want 5 and 3", ok, throttled)
	}
	_, err = c.Batch(ctxT(t), reqs[:2])
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 429 || !ge.Throttled() || ge.RetryAfter <= 0 {
		t.Fatalf("over budget: want a whole-batch 429 with Retry-After, got %v", err)
	}
}

// TestWriteTest: create + delete through batches leaves nothing and invites nobody; a
// read-only grant reads but cannot create (access-denied).
func TestWriteTest(t *testing.T) {
	for _, tc := range []struct {
		role    string
		canEdit bool
		write   result.Class
	}{
		{graph.RoleCalendarsReadWrite, true, result.OK},
		{graph.RoleCalendarsRead, false, result.AccessDenied},
		{graph.RoleCalendarsReadBasic, false, result.AccessDenied},
	} {
		t.Run(tc.role, func(t *testing.T) {
			cfg := graphsim.Config{Mailboxes: []graphsim.Mailbox{{Address: addr("anna.berg")}, {Address: addr("ben.carter")}}}
			f := newFixture(t, cfg, []string{tc.role})
			c, _ := f.client(t, graph.Scope)
			cal, err := c.Calendar(ctxT(t), addr("anna.berg"))
			if err != nil || cal.CanEdit != tc.canEdit {
				t.Fatalf("calendar %+v, %v: want canEdit %v", cal, err, tc.canEdit)
			}
			start := time.Now().Add(24 * time.Hour)
			resps, err := c.Batch(ctxT(t), []graph.Request{
				graph.CreateEventRequest("1", addr("anna.berg"), start),
				graph.CreateEventRequest("2", addr("ben.carter"), start),
			})
			if err != nil {
				t.Fatal(err)
			}
			var dels []graph.Request
			for _, r := range resps {
				id, err := graph.ParseEventID(r)
				if tc.write != result.OK {
					var ge *graph.Error
					if !errors.As(err, &ge) || ge.Class != tc.write {
						t.Errorf("create with %s: got %v, want %s", tc.role, err, tc.write)
					}
					continue
				}
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				dels = append(dels, graph.DeleteEventRequest(r.ID, map[string]string{"1": addr("anna.berg"), "2": addr("ben.carter")}[r.ID], id))
			}
			if len(dels) > 0 {
				resps, err := c.Batch(ctxT(t), dels)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range resps {
					if r.Status != http.StatusNoContent {
						t.Errorf("delete %s: status %d", r.ID, r.Status)
					}
				}
			}
			n := f.sim.Counters()
			if left := f.sim.LeftEvents(); left != 0 || n.Invitations != 0 {
				t.Errorf("left %d events, sent %d invitations", left, n.Invitations)
			}
			if tc.write == result.OK && (n.EventsCreated != 2 || n.EventsDeleted != 2) {
				t.Errorf("created %d, deleted %d; want 2 and 2", n.EventsCreated, n.EventsDeleted)
			}
		})
	}
}

// TestRooms pages through the room directory (hidden rooms are not listed) and needs
// Place.Read.All.
func TestRooms(t *testing.T) {
	cfg := graphsim.Config{PageSize: 2}
	var want []string
	for i := range 5 {
		a := addr(fmt.Sprintf("room%d", i))
		cfg.Mailboxes = append(cfg.Mailboxes, graphsim.Mailbox{Address: a, Kind: "room", Name: fmt.Sprintf("Room %d", i)})
		want = append(want, a)
	}
	cfg.Mailboxes = append(cfg.Mailboxes, graphsim.Mailbox{Address: addr("room.hidden"), Kind: "room", Hidden: true})
	t.Run("Place.Read.All", func(t *testing.T) {
		f := newFixture(t, cfg, []string{graph.RoleCalendarsRead, graph.RolePlaceReadAll})
		c, _ := f.client(t, graph.Scope)
		rooms, err := c.Rooms(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rooms {
			got = append(got, r.EmailAddress)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("rooms %v, want %v", got, want)
		}
		if n := f.sim.Counters().Requests; n != 3 {
			t.Errorf("%d requests for 5 rooms at 2 a page, want 3", n)
		}
	})
	t.Run("no Place.Read.All", func(t *testing.T) {
		f := newFixture(t, cfg, []string{graph.RoleCalendarsRead})
		c, _ := f.client(t, graph.Scope)
		_, err := c.Rooms(ctxT(t))
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Class != result.AccessDenied || ge.Code != graph.CodeAccessDenied {
			t.Fatalf("got %v, want access-denied", err)
		}
	})
}

// TestNextLinkToAnotherHost: the bearer token must not follow a nextLink elsewhere.
func TestNextLinkToAnotherHost(t *testing.T) {
	var hits int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[{"emailAddress":"room1@fabrikam.test"}],"@odata.nextLink":"https://attacker.example/v1.0/places/microsoft.graph.room?$skiptoken=1"}`)
	}))
	defer ts.Close()
	c := &graph.Client{Base: ts.URL, HTTP: ts.Client()}
	rooms, err := c.Rooms(ctxT(t))
	if err == nil || !strings.Contains(err.Error(), "another host") || hits != 1 || len(rooms) != 1 {
		t.Fatalf("rooms %v, err %v, %d requests: want refusal after one page", rooms, err, hits)
	}
	if strings.Contains(err.Error(), "skiptoken") {
		t.Errorf("error repeats the foreign URL's query: %v", err)
	}
}

// TestBatchReplyHostile: replies that lack items, repeat ids, or are not JSON are errors
// or classified items, never a panic or a misattribution.
func TestBatchReplyHostile(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		wantErr    bool
		item0      int // status of request "1"
	}{
		{"missing item", `{"responses":[{"id":"2","status":200,"body":{}}]}`, 200, false, 0},
		{"unknown and duplicate ids", `{"responses":[{"id":"9","status":200},{"id":"1","status":403,"body":{"error":{"code":"ErrorAccessDenied","message":"x"}}},{"id":"1","status":200}]}`, 200, false, 403},
		{"not JSON", `<html>proxy login</html>`, 200, true, 0},
		{"html error", `<html>502 Bad Gateway</html>`, 502, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer ts.Close()
			c := &graph.Client{Base: ts.URL, HTTP: ts.Client()}
			resps, err := c.Batch(ctxT(t), []graph.Request{graph.CalendarRequest("1", "a@b.test"), graph.CalendarRequest("2", "c@d.test")})
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resps[0].Status != tc.item0 {
				t.Errorf("item 1 status %d, want %d", resps[0].Status, tc.item0)
			}
			if tc.item0 == 0 {
				if e := resps[0].Err(); e == nil || e.Class != result.Transient || e.Code != "MissingBatchResponse" {
					t.Errorf("missing item: %+v", e)
				}
			}
		})
	}
}

func TestParseError(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		class  result.Class
		code   string
		retry  time.Duration
	}{
		{"invalid user", 404, nil, `{"error":{"code":"ErrorInvalidUser","message":"The requested user 'x@y' is invalid."}}`, result.MailboxNotFound, "ErrorInvalidUser", 0},
		{"raop", 403, nil, `{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."}}`, result.ImpersonationDenied, "ErrorAccessDenied", 0},
		{"policy words only", 403, nil, `{"error":{"code":"ErrorAccessDenied","message":"Blocked by tenant configured AppOnly AccessPolicy settings."}}`, result.ImpersonationDenied, "ErrorAccessDenied", 0},
		{"forbidden", 403, nil, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}`, result.AccessDenied, "Authorization_RequestDenied", 0},
		{"429 seconds", 429, http.Header{"Retry-After": {"7"}}, `{"error":{"code":"TooManyRequests","message":"slow down"}}`, result.Throttled, "TooManyRequests", 7 * time.Second},
		{"429 no body", 429, http.Header{"Retry-After": {"3"}}, ``, result.Throttled, "TooManyRequests", 3 * time.Second},
		{"429 absurd", 429, http.Header{"Retry-After": {"99999999"}}, ``, result.Throttled, "TooManyRequests", 24 * time.Hour},
		{"401", 401, nil, `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`, result.AuthFailed, "InvalidAuthenticationToken", 0},
		{"504 html", 504, nil, `<html><body>Gateway Timeout</body></html>`, result.Transient, "", 0},
		{"500", 500, nil, `{"error":{"code":"generalException","message":"General exception while processing."}}`, result.Transient, "generalException", 0},
		{"400", 400, nil, `{"error":{"code":"BadRequest","message":"` + long + `"}}`, result.Other, "BadRequest", 0},
		{"control chars", 403, nil, "{\"error\":{\"code\":\"ErrorAccessDenied\\r\\nX-Injected: 1\",\"message\":\"a\\u0000b\"}}", result.AccessDenied, "ErrorAccessDenied X-Injected: 1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := graph.ParseError(tc.status, tc.header, []byte(tc.body))
			if e.Class != tc.class || e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("got class %s code %q retry %s; want %s %q %s", e.Class, e.Code, e.RetryAfter, tc.class, tc.code, tc.retry)
			}
			if len([]rune(e.Message)) > 600 || strings.ContainsAny(e.Message+e.Code, "\r\n\x00") {
				t.Errorf("message not bounded/cleaned: %q", e.Message)
			}
		})
	}
}

// TestNoTokenInTraces: the bearer token never reaches a trace, error or result.
func TestNoTokenInTraces(t *testing.T) {
	cases := classTable()
	f := newFixture(t, classConfig(cases), []string{graph.RoleCalendarsReadWrite})
	c, rec, ts := f.clientAndToken(t, graph.Scope)
	var reqs []graph.Request
	for i, cc := range cases {
		reqs = append(reqs, graph.CalendarRequest(fmt.Sprint(i), cc.mailbox.Address))
	}
	resps, err := c.Batch(ctxT(t), reqs)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts(ctxT(t)) // MSAL's cache: the token the requests carried
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range resps {
		if e := r.Err(); e != nil {
			texts = append(texts, e.Error())
		}
	}
	traces, _ := json.Marshal(rec.Traces())
	if len(rec.Traces()) == 0 || !strings.Contains(string(traces), "Authorization") {
		t.Fatalf("no trace of the request recorded: %s", traces)
	}
	all := string(traces) + strings.Join(texts, "\n")
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	if strings.Contains(all, tok) || strings.Contains(all, sig) {
		t.Fatal("the access token appears in a trace or error")
	}
}
