package exchangesim

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadScenarioExample(t *testing.T) {
	sc, err := LoadScenario("testdata/scenario-example.json")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, sc, Options{})
	if s.User != "svc-ews@woodgrove.test" || s.Domain != "WOODGROVE" {
		t.Fatalf("User %q Domain %q", s.User, s.Domain)
	}
	c := client(s)
	auth := basic(s.User, s.Password)
	for _, tc := range []struct {
		addr, code string
	}{
		{"alice@woodgrove.test", "NoError"},
		{"carol@woodgrove.test", "ErrorImpersonateUserDenied"}, // Finance: outside the scope
		{"room.a@woodgrove.test", "NoError"},                   // in scope by address
		{"room.b@woodgrove.test", "ErrorImpersonateUserDenied"},
		{"dave@woodgrove.test", "ErrorMailboxMoveInProgress"},
		{"frank@woodgrove.test", "ErrorNonExistentMailbox"},
	} {
		r := post(t, c, s.URL, []byte(getFolder(tc.addr)), auth)
		if r.code() != tc.code || sc.Expect(tc.addr) != tc.code {
			t.Errorf("%s: reply %s, Expect %s, want %s", tc.addr, r.code(), sc.Expect(tc.addr), tc.code)
		}
	}
	// bob is throttled once with the scenario's back-off, then served.
	r := post(t, c, s.URL, []byte(getFolder("bob@woodgrove.test")), auth)
	if r.code() != "ErrorServerBusy" || r.backoff() != "200" {
		t.Errorf("bob first: %s backoff %q", r.code(), r.backoff())
	}
	if r := post(t, c, s.URL, []byte(getFolder("bob@woodgrove.test")), auth); r.code() != "NoError" {
		t.Errorf("bob second: %s", r.code())
	}
	// The hidden room is not listed.
	r = post(t, c, s.URL, []byte(envelopeXML("Exchange2016", "", `<m:GetRooms><m:RoomList><t:EmailAddress>rooms@woodgrove.test</t:EmailAddress></m:RoomList></m:GetRooms>`)), auth)
	if n := strings.Count(r.Body, "<t:Room>"); n != 2 || strings.Contains(r.Body, "room.hidden") {
		t.Errorf("GetRooms lists %d rooms:\n%s", n, r.Body)
	}
	if got := r.Header.Get("Content-Type"); got != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	valid := `"domain":"x.test","netbios":"X","accounts":[{"user":"s@x.test","password":"p","mailbox":true,"impersonation":{"mode":"all"}}]`
	tests := []struct {
		name, json, want string
	}{
		{"not json", `{`, "unexpected EOF"},
		{"unknown field", `{` + valid + `,"mailbox":[]}`, `unknown field "mailbox"`},
		{"no accounts", `{"domain":"x.test","mailboxes":[]}`, "no accounts"},
		{"bad mode", `{"domain":"x.test","accounts":[{"user":"s@x.test","password":"p","impersonation":{"mode":"some"}}]}`, `impersonation.mode "some"`},
		{"bad state", `{` + valid + `,"mailboxes":[{"address":"a@x.test","state":"sleepy"}]}`, `state "sleepy"`},
		{"duplicate", `{` + valid + `,"mailboxes":[{"address":"a@x.test"},{"address":"A@x.test"}]}`, "appears twice"},
		{"room not a mailbox", `{` + valid + `,"roomLists":[{"name":"L","address":"l@x.test","rooms":["r@x.test"]}]}`, `room "r@x.test" is not in mailboxes`},
		{"bad fault", `{` + valid + `,"fault":"explode"}`, `fault "explode"`},
		{"bad scheme", `{` + valid + `,"authSchemes":["Kerberos"]}`, `"Kerberos"`},
		{"bad percent", `{` + valid + `,"throttleOncePercent":150}`, "outside 0..100"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(p, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadScenario(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := LoadScenario(filepath.Join(dir, "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestConcurrencyBudget: more concurrent requests from one principal than its budget
// get ErrorExceededConnectionCount; another principal has its own budget; the budget is
// released when requests end. Stalled requests hold the slots, so nothing depends on timing.
func TestConcurrencyBudget(t *testing.T) {
	sc := Demo(0)
	sc.MaxConcurrency = 3
	sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: "stalled@fabrikam.test", Department: "Sales", State: StateStall})
	s := startSim(t, sc, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = tryPost(ctx, client(s), s.URL, []byte(getFolder("stalled@fabrikam.test")), basic(s.User, s.Password))
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); s.Counters().PeakConcurrency < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("stalled requests did not arrive")
		}
	}
	tests := []struct {
		name, user string
		code       string
	}{
		{"same principal, over budget", s.User, "ErrorExceededConnectionCount"},
		{"same principal as DOMAIN\\user", `FABRIKAM\svc-deputy`, "ErrorExceededConnectionCount"},
		{"another principal", "svc-nomailbox@fabrikam.test", "NoError"},
	}
	for _, tc := range tests {
		r := post(t, client(s), s.URL, []byte(getFolder("anna.berg@fabrikam.test")), basic(tc.user, DemoPassword))
		if r.code() != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, r.Status, r.code(), tc.code)
		}
		if tc.code == "ErrorExceededConnectionCount" && (r.Status != 500 || !strings.Contains(r.Body, `<t:Value Name="MaxConcurrencyLimit">3</t:Value>`)) {
			t.Errorf("%s: not the sample's fault shape:\n%s", tc.name, r.Body)
		}
	}
	cancel()
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := post(t, client(s), s.URL, []byte(getFolder("anna.berg@fabrikam.test")), basic(s.User, s.Password))
		if r.code() == "NoError" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budget not released: %s", r.code())
		}
	}
	if p := s.Counters().PeakConcurrency; p < 4 {
		t.Errorf("PeakConcurrency %d, want >= 4", p)
	}
}

func TestLatencyHonoursCancel(t *testing.T) {
	s := startSim(t, Demo(0), Options{Latency: 150 * time.Millisecond})
	start := time.Now()
	if r := post(t, client(s), s.URL, []byte(getFolder("")), basic(s.User, s.Password)); r.code() != "NoError" {
		t.Fatal(r.code())
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("request took %v, less than the configured latency", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tryPost(ctx, client(s), s.URL, []byte(getFolder("")), basic(s.User, s.Password)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled request: %v", err)
	}
}

// TestFaults covers every fault, global (front end) and per mailbox (backend).
func TestFaults(t *testing.T) {
	type check func(t *testing.T, r reply, err error)
	transport := func(t *testing.T, r reply, err error) {
		if err == nil {
			t.Fatalf("no transport error; got %d", r.Status)
		}
	}
	status := func(code int, ctype string) check {
		return func(t *testing.T, r reply, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != code || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) {
				t.Fatalf("got %d %q, want %d %q", r.Status, r.Header.Get("Content-Type"), code, ctype)
			}
		}
	}
	malformed := func(t *testing.T, r reply, err error) {
		status(200, "text/xml")(t, r, err)
		d := xml.NewDecoder(strings.NewReader(r.Body))
		for {
			if _, err := d.Token(); err == io.EOF {
				t.Fatal("malformed reply parsed cleanly")
			} else if err != nil {
				return
			}
		}
	}
	huge := func(t *testing.T, r reply, err error) {
		status(200, "text/xml")(t, r, err)
		if len(r.Body) < 3<<20 || r.Header.Get("Content-Length") != "" {
			t.Fatalf("huge reply: %d bytes, Content-Length %q (want >= 3 MiB, streamed)", len(r.Body), r.Header.Get("Content-Length"))
		}
		wellFormed(t, r.Body)
	}
	unavailable := func(t *testing.T, r reply, err error) {
		status(503, "text/html")(t, r, err)
		if r.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	tests := []struct {
		kind  string
		check check
	}{
		{FaultReset, transport},
		{FaultStall, transport}, // the client's own timeout ends it
		{FaultUnavailable, unavailable},
		{FaultHTML, status(200, "text/html")},
		{FaultMalformed, malformed},
		{FaultHuge, huge},
	}
	perMailbox := Demo(0)
	perMailbox.HugeBytes = 3 << 20
	for _, tc := range tests {
		perMailbox.Mailboxes = append(perMailbox.Mailboxes, Mailbox{Address: "fault." + tc.kind + "@fabrikam.test", Department: "Sales", State: tc.kind})
	}
	backend := startSim(t, perMailbox, Options{})
	for _, tc := range tests {
		for _, where := range []string{"global", "mailbox"} {
			t.Run(tc.kind+"/"+where, func(t *testing.T) {
				s, imp := backend, "fault."+tc.kind+"@fabrikam.test"
				if where == "global" {
					sc := Demo(0)
					sc.Fault, sc.HugeBytes = tc.kind, 3<<20
					s, imp = startSim(t, sc, Options{}), ""
				}
				if where == "mailbox" && s.Scenario().ExpectClass(imp) == "ok" {
					t.Fatalf("Expect says a %s mailbox is ok", tc.kind)
				}
				timeout := 10 * time.Second
				if tc.kind == FaultStall {
					timeout = 300 * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				r, err := tryPost(ctx, client(s), s.URL, []byte(getFolder(imp)), basic(s.User, s.Password))
				tc.check(t, r, err)
			})
		}
	}
}

func TestFaultEvery(t *testing.T) {
	sc := Demo(0)
	sc.Fault, sc.FaultEvery = FaultUnavailable, 3
	s := startSim(t, sc, Options{})
	c := client(s)
	var got []int
	for i := 0; i < 7; i++ {
		got = append(got, post(t, c, s.URL, []byte(getFolder("")), basic(s.User, s.Password)).Status)
	}
	if want := []int{200, 200, 503, 200, 200, 503, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

// TestCloseStopsStalledHandlers: Close returns promptly with stalled requests in flight
// and leaves no goroutine behind.
func TestCloseStopsStalledHandlers(t *testing.T) {
	before := runtime.NumGoroutine()
	sc := Demo(0)
	sc.Fault = FaultStall
	s, err := Start(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := tryPost(ctx, client(s), s.URL, []byte(getFolder("")))
			errs <- err
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); s.Counters().Requests < n; {
		if time.Now().After(deadline) {
			t.Fatal("requests did not arrive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil {
			t.Error("a stalled request got an answer")
		}
	}
	// Everything the server started is gone (idle client conns may linger briefly).
	var now int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= before+1 {
			return
		}
	}
	t.Errorf("goroutines: %d before, %d after Close", before, now)
}

func TestCountersConcurrentAndAuthHeaders(t *testing.T) {
	s := startSim(t, Demo(0), Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(s)
			for j := 0; j < 10; j++ {
				post(t, c, s.URL, []byte(getFolder("")), basic(s.User, s.Password))
				_ = s.Counters()
			}
		}()
	}
	wg.Wait()
	cnt := s.Counters()
	if cnt.Requests != 80 || cnt.ByOperation["GetFolder"] != 80 || cnt.Conns != 8 {
		t.Errorf("Requests %d GetFolder %d Conns %d; want 80, 80, 8", cnt.Requests, cnt.ByOperation["GetFolder"], cnt.Conns)
	}
	if len(cnt.AuthorizationHeaders) != 80 || !strings.HasPrefix(cnt.AuthorizationHeaders[0], "Basic ") {
		t.Errorf("%d Authorization headers recorded", len(cnt.AuthorizationHeaders))
	}
	s.ResetCounters()
	if c := s.Counters(); c.Requests != 0 || len(c.ByOperation) != 0 || len(c.AuthorizationHeaders) != 0 {
		t.Errorf("after reset: %+v", c)
	}
	resp, err := client(s).Get(strings.Replace(s.URL, "/EWS/Exchange.asmx", "/nothing", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || s.Counters().Requests != 1 {
		t.Errorf("unknown path: %d, Requests %d", resp.StatusCode, s.Counters().Requests)
	}
}

func FuzzRequest(f *testing.F) {
	for _, seed := range []string{getFolder("a@b.test"), envelopeXML("Exchange2016", "", `<m:GetRoomLists/>`), "<a", "\xef\xbb\xbf<x/>"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := parseXML(b)
		if err != nil {
			var se *schemaError
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		_, _ = parseEnvelope(root)
	})
}
