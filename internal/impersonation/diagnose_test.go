package impersonation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"deputy/internal/exchangesim"
	"deputy/internal/impersonation"
	"deputy/internal/result"
	"deputy/internal/transport"
)

func startSim(t *testing.T, sc *exchangesim.Scenario, o exchangesim.Options) *exchangesim.Server {
	t.Helper()
	srv, err := exchangesim.Start(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func config(srv *exchangesim.Server, scheme string, targets ...string) impersonation.Config {
	if targets == nil {
		targets = srv.Scenario().Targets()
	}
	return impersonation.Config{
		Profile:   result.Profile{Name: "test", Environment: result.OnPrem},
		URL:       srv.URL,
		Auth:      transport.Auth{Scheme: scheme, User: srv.User, Password: srv.Password},
		TLS:       transport.TLSOptions{PinSHA256: srv.SHA256},
		Mailboxes: targets,
		Timeout:   5 * time.Second,
	}
}

func check(t *testing.T, r *result.Result, id string) result.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", id, r.Checks)
	return result.Check{}
}

// The demo covers every class of the vocabulary; each mailbox must be diagnosed exactly
// as the simulator (an independent implementation) says it behaves — over Basic and NTLM.
func TestDemoEveryMailboxClassified(t *testing.T) {
	for _, scheme := range []string{"basic", "ntlm"} {
		t.Run(scheme, func(t *testing.T) {
			srv := startSim(t, exchangesim.Demo(0), exchangesim.Options{})
			cfg := config(srv, scheme)
			cfg.CheckRooms, cfg.WriteTest = true, true
			cfg.ServiceMailbox = srv.User
			cfg.MaxBackoff = 10 * time.Second
			cfg.Timeout = 2 * time.Second
			r, err := impersonation.Diagnose(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{result.CheckEndpoint, result.CheckTLS, result.CheckAuth, result.CheckServiceMailbox} {
				if c := check(t, r, id); c.Status != result.Pass {
					t.Errorf("%s: %s — %s", id, c.Status, c.Summary)
				}
			}
			seen := map[result.Class]bool{}
			for _, m := range r.Mailboxes {
				seen[m.Class] = true
				if want := srv.Scenario().ExpectClass(m.Address); string(m.Class) != want {
					t.Errorf("%s (%s): class %s (%s: %s), simulator says %s", m.Address, srv.Scenario().State(m.Address), m.Class, m.Code, m.Message, want)
				}
				if want := srv.Scenario().Expect(m.Address); want != "" && want != "NoError" && m.Code != want {
					t.Errorf("%s: code %q, want %q", m.Address, m.Code, want)
				}
				if m.Status != result.Pass && m.Status != result.Skip && m.Remediation == "" {
					t.Errorf("%s: %s without remediation", m.Address, m.Class)
				}
			}
			for _, c := range result.Classes {
				if !seen[c] {
					t.Errorf("the demo shows no %s mailbox", c)
				}
			}
			if r.Verdict != result.Fail {
				t.Errorf("verdict %s, want fail (the demo contains failures)", r.Verdict)
			}
			var rooms int
			for _, m := range r.Mailboxes {
				if m.Kind == result.KindRoom {
					rooms++
				}
			}
			if rooms == 0 {
				t.Error("no rooms checked")
			}
			if n := srv.LeftItems(); n != 0 {
				t.Errorf("the write test left %d items behind", n)
			}
			if r.Server.Version == "" || r.Summary.Requests == 0 {
				t.Errorf("server version %q, requests %d", r.Server.Version, r.Summary.Requests)
			}
		})
	}
}

// A mailbox throttled once is retried after the server's BackOffMilliseconds and passes.
func TestThrottledOnceThenOK(t *testing.T) {
	sc := exchangesim.Demo(0)
	var addr string
	for _, m := range sc.Mailboxes {
		if m.State == exchangesim.StateThrottleOnce {
			addr = m.Address
		}
	}
	if addr == "" {
		t.Fatal("the demo has no throttle-once mailbox")
	}
	srv := startSim(t, sc, exchangesim.Options{})
	r, err := impersonation.Diagnose(context.Background(), config(srv, "basic", addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Mailboxes[0]
	if m.Status != result.Pass || m.Attempts != 2 || m.BackoffMs <= 0 {
		t.Fatalf("throttle-once: %+v", m)
	}
}

func TestAuthAndTLSFailures(t *testing.T) {
	srv := startSim(t, exchangesim.Demo(5), exchangesim.Options{})
	wrongPin := strings.Repeat("ab", 32)
	cases := []struct {
		name   string
		mutate func(*impersonation.Config)
		failed string // the check that must fail
		class  result.Class
	}{
		{"wrong password basic", func(c *impersonation.Config) { c.Auth.Password = "not-the-password" }, result.CheckAuth, result.AuthFailed},
		{"wrong password ntlm", func(c *impersonation.Config) { c.Auth.Scheme, c.Auth.Password = "ntlm", "not-the-password" }, result.CheckAuth, result.AuthFailed},
		{"wrong pin", func(c *impersonation.Config) { c.TLS.PinSHA256 = wrongPin }, result.CheckTLS, result.Other},
		{"no pin, self-signed", func(c *impersonation.Config) { c.TLS.PinSHA256 = "" }, result.CheckTLS, result.Other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(srv, "basic")
			tc.mutate(&cfg)
			r, err := impersonation.Diagnose(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := check(t, r, tc.failed)
			if c.Status != result.Fail || c.Class != tc.class || c.Remediation == "" {
				t.Fatalf("%s: %+v", tc.failed, c)
			}
			if tc.failed == result.CheckTLS && (c.Cert == nil || c.Cert.SHA256 != srv.SHA256) {
				t.Errorf("tls failure must carry the certificate to trust: %+v", c.Cert)
			}
			if ic := check(t, r, result.CheckImpersonation); ic.Status != result.Skip || ic.Summary == "" {
				t.Errorf("impersonation must be skipped with a reason, got %+v", ic)
			}
			if r.Verdict != result.Fail {
				t.Errorf("verdict %s", r.Verdict)
			}
		})
	}
}

// A front end that is not EWS (a login page, a stalled proxy, a flood) is diagnosed at
// the endpoint, quickly, without hanging.
func TestHostileEndpoint(t *testing.T) {
	for _, tc := range []struct {
		fault string
		class result.Class
	}{
		{exchangesim.FaultHTML, result.NotEWS},
		{exchangesim.FaultStall, result.Transient},
		{exchangesim.FaultHuge, result.Other},
		{exchangesim.FaultMalformed, result.NotEWS},
		{exchangesim.FaultReset, result.Transient},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			sc := exchangesim.Demo(3)
			sc.Fault = tc.fault
			srv := startSim(t, sc, exchangesim.Options{})
			cfg := config(srv, "basic")
			cfg.Timeout = time.Second
			t0 := time.Now()
			r, err := impersonation.Diagnose(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(t0); el > 10*time.Second {
				t.Errorf("took %s", el)
			}
			c := check(t, r, result.CheckEndpoint)
			if c.Status != result.Fail || c.Class != tc.class {
				t.Fatalf("endpoint: %+v", c)
			}
		})
	}
}

// Cancelling stops in-flight work within a second and returns a partial result.
func TestCancel(t *testing.T) {
	srv := startSim(t, exchangesim.Demo(300), exchangesim.Options{Latency: 100 * time.Millisecond})
	cfg := config(srv, "ntlm")
	cfg.Concurrency = 4
	ctx, cancel := context.WithCancel(context.Background())
	var cancelledAt time.Time
	obs := impersonation.ObserverFunc(func(e impersonation.Event) {
		if e.Kind == impersonation.MailboxFinished && e.Done == 20 {
			cancelledAt = time.Now()
			cancel()
		}
	})
	r, err := impersonation.Diagnose(ctx, cfg, obs)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(cancelledAt); el > time.Second {
		t.Errorf("returned %s after cancel", el)
	}
	if !r.Cancelled {
		t.Error("result not marked cancelled")
	}
	var skipped int
	for _, m := range r.Mailboxes {
		if m.Status == result.Skip {
			skipped++
		}
	}
	if skipped == 0 || skipped == len(r.Mailboxes) {
		t.Errorf("want a partial result, %d of %d skipped", skipped, len(r.Mailboxes))
	}
}

func TestConfigErrors(t *testing.T) {
	good := impersonation.Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Auth: transport.Auth{Scheme: "basic", User: "svc@contoso.com", Password: "x"}}
	for _, tc := range []struct {
		field  string
		mutate func(*impersonation.Config)
	}{
		{"url", func(c *impersonation.Config) { c.URL = "" }},
		{"url", func(c *impersonation.Config) { c.URL = "ftp://x/EWS" }},
		{"url", func(c *impersonation.Config) { c.URL = "http://mail/EWS/Exchange.asmx" }},
		{"user", func(c *impersonation.Config) { c.Auth.User = "" }},
		{"password", func(c *impersonation.Config) { c.Auth.Password = "" }},
		{"auth", func(c *impersonation.Config) { c.Auth.Scheme = "kerberos" }},
		{"concurrency", func(c *impersonation.Config) { c.Concurrency = 28 }},
		{"pin-sha256", func(c *impersonation.Config) { c.TLS.PinSHA256 = "1234" }},
	} {
		cfg := good
		tc.mutate(&cfg)
		_, err := impersonation.Diagnose(context.Background(), cfg, nil)
		var ce *impersonation.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || ce.Msg == "" {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

// No password reaches the result, traces included — in any encoding.
func TestNoSecretInResult(t *testing.T) {
	sc := exchangesim.Demo(0)
	const pw = "Zebra-Quartz-9371!secret"
	sc.Accounts[0].Password = pw
	srv := startSim(t, sc, exchangesim.Options{})
	for _, scheme := range []string{"basic", "ntlm"} {
		cfg := config(srv, scheme)
		cfg.Trace, cfg.WriteTest, cfg.CheckRooms = true, true, true
		r, err := impersonation.Diagnose(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Traces) == 0 {
			t.Fatal("no traces recorded")
		}
		b, _ := json.Marshal(r)
		u := utf16.Encode([]rune(pw))
		le := make([]byte, 0, 2*len(u))
		for _, c := range u {
			le = append(le, byte(c), byte(c>>8))
		}
		basic := base64.StdEncoding.EncodeToString([]byte(srv.User + ":" + pw))
		for name, needle := range map[string]string{"plain": pw, "base64": base64.StdEncoding.EncodeToString([]byte(pw)), "basic header": basic, "utf16": string(le)} {
			if strings.Contains(string(b), needle) {
				t.Errorf("%s: the result contains the password (%s)", scheme, name)
			}
		}
	}
}

// Against a server whose budget is below our concurrency, the runner backs off, shrinks
// and still proves every mailbox; the evidence says what happened.
func TestServerBudgetShrinksConcurrency(t *testing.T) {
	sc := exchangesim.Demo(120)
	sc.MaxConcurrency = 4
	srv := startSim(t, sc, exchangesim.Options{Latency: 20 * time.Millisecond})
	cfg := config(srv, "ntlm")
	cfg.Concurrency, cfg.Retries = 16, 8
	r, err := impersonation.Diagnose(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Passed != 120 {
		t.Fatalf("%d of 120 passed", r.Summary.Passed)
	}
	c := check(t, r, result.CheckImpersonation)
	// The limit must really have gone below the 16 asked for; with a budget of 4 it
	// cannot climb back to 16, so the evidence must not say "and back".
	ev := strings.Join(c.Evidence, "\n")
	m := regexp.MustCompile(`overload \d+ time\(s\); concurrency went from 16 down to (\d+) and was (\d+) at the end`).FindStringSubmatch(ev)
	if m == nil {
		t.Fatalf("no overload evidence with the limit's fall: %q", c.Evidence)
	}
	if low, _ := strconv.Atoi(m[1]); low >= 16 || low < 1 {
		t.Errorf("the limit fell to %d: not below the ceiling of 16", low)
	}
	if peak := srv.Counters().PeakConcurrency; peak > 16 {
		t.Errorf("peak concurrency %d above the configured 16", peak)
	}
}

// slowReplyConn holds back the first reply that arrives once created() says the server
// has created the test item, and cancels the run meanwhile: a cancel while the create is
// in flight, after the item exists but before its ID is known.
type slowReplyConn struct {
	net.Conn
	created func() bool
	cancel  context.CancelFunc
	fired   *atomic.Bool
}

func (c slowReplyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.created() && c.fired.CompareAndSwap(false, true) {
		c.cancel()
		time.Sleep(300 * time.Millisecond) // long enough for a cancellable request to give up
	}
	return n, err
}

// cancelMidCreate makes cfg's connections cancel the run as described at slowReplyConn;
// the flag reports whether it fired.
func cancelMidCreate(cfg *impersonation.Config, created func() bool, cancel context.CancelFunc) *atomic.Bool {
	var fired atomic.Bool
	var d net.Dialer
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return slowReplyConn{Conn: c, created: created, cancel: cancel, fired: &fired}, nil
	}
	return &fired
}

// TestEWSWriteTestCancelled: a run cancelled while the write test's CreateItem is in
// flight still deletes the item it created (the Graph twin: TestGraphWriteTestCancelled).
func TestEWSWriteTestCancelled(t *testing.T) {
	srv := startSim(t, exchangesim.Demo(0), exchangesim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config(srv, "basic", "anna.berg@fabrikam.test")
	cfg.WriteTest, cfg.Concurrency = true, 1
	fired := cancelMidCreate(&cfg, func() bool { return srv.Counters().ByOperation["CreateItem"] > 0 }, cancel)
	r, err := impersonation.Diagnose(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := srv.Counters().ByOperation["CreateItem"]
	if !fired.Load() || !r.Cancelled || created == 0 || srv.LeftItems() != 0 {
		t.Errorf("cancel fired %v, cancelled %v, created %d, left %d: the create+delete pair must outlive the cancel",
			fired.Load(), r.Cancelled, created, srv.LeftItems())
	}
}

// A service account without a mailbox signs in, and the service-mailbox check says it has
// no mailbox, why that matters, and how to create one — for the account as it signed in.
func TestServiceAccountWithoutMailbox(t *testing.T) {
	srv := startSim(t, exchangesim.Demo(0), exchangesim.Options{})
	for _, tc := range []struct {
		scheme, user, serviceMailbox string
		who, enable                  string
	}{
		{"basic", "svc-nomailbox@fabrikam.test", "", "svc-nomailbox@fabrikam.test", "Enable-Mailbox -Identity 'svc-nomailbox@fabrikam.test'"},
		{"ntlm", `FABRIKAM\svc-nomailbox`, "svc-nomailbox@fabrikam.test", "svc-nomailbox@fabrikam.test", `Enable-Mailbox -Identity 'FABRIKAM\svc-nomailbox'`},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			cfg := config(srv, tc.scheme, "ceo@fabrikam.test")
			cfg.Auth.User, cfg.Auth.Password, cfg.ServiceMailbox = tc.user, exchangesim.DemoPassword, tc.serviceMailbox
			r, err := impersonation.Diagnose(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c := check(t, r, result.CheckAuth); c.Status != result.Pass {
				t.Fatalf("auth: %s %q", c.Status, c.Summary)
			}
			sm := check(t, r, result.CheckServiceMailbox)
			if sm.Status != result.Fail || sm.Class != result.NoMailbox || sm.Code != "ErrorMissingEmailAddress" {
				t.Fatalf("service-mailbox: %s %s %s %q", sm.Status, sm.Class, sm.Code, sm.Summary)
			}
			if want := tc.who + " has no mailbox. Impersonation itself can work without one"; !strings.HasPrefix(sm.Summary, want) || !strings.Contains(sm.Summary, "own licensed mailbox") {
				t.Errorf("summary %q, want it to start %q", sm.Summary, want)
			}
			if !strings.Contains(sm.Remediation, tc.enable) || !strings.Contains(sm.Remediation, "Vendors require") {
				t.Errorf("remediation lacks %q:\n%s", tc.enable, sm.Remediation)
			}
			// Impersonation does not need the account's own mailbox.
			if c := check(t, r, result.CheckImpersonation); c.Status != result.Pass {
				t.Errorf("impersonation: %s %q", c.Status, c.Summary)
			}
		})
	}
}
