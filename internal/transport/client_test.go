package transport

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func selfSignedServer(t testing.TB, h http.Handler) (url string, opts Options) {
	c := makeCert(t, certSpec{cn: "localhost", dns: []string{"localhost"}})
	srv := staticServer(t, c, h)
	return "https://localhost:" + port(srv) + "/EWS/Exchange.asmx", Options{
		TLS:  TLSOptions{PinSHA256: Fingerprint(c.cert)},
		Dial: resolve(srv),
	}
}

// TestBasicPreemptive: Basic credentials go with the first request — one call, one request.
func TestBasicPreemptive(t *testing.T) {
	var seen, authed atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		u, p, ok := r.BasicAuth()
		if !ok || u != `CONTOSO\svc-deputy` || p != "Pässword 1!" {
			w.Header().Set("WWW-Authenticate", `Basic realm="ex"`)
			w.WriteHeader(401)
			return
		}
		authed.Add(1)
		w.Write([]byte("ok"))
	})
	url, o := selfSignedServer(t, h)
	var n atomic.Int64
	o.Requests = &n
	for _, tc := range []struct {
		password string
		status   int
	}{{"Pässword 1!", 200}, {"wrong", 401}} {
		seen.Store(0)
		n.Store(0)
		o.Auth = Auth{Scheme: "basic", User: `CONTOSO\svc-deputy`, Password: tc.password}
		c, err := NewClient(o)
		if err != nil {
			t.Fatal(err)
		}
		const calls = 7
		for i := 0; i < calls; i++ {
			st, err := get(context.Background(), c, url)
			if err != nil || st != tc.status {
				t.Fatalf("call %d: %d %v, want %d", i, st, err, tc.status)
			}
		}
		if seen.Load() != calls || n.Load() != calls {
			t.Errorf("password %q: server saw %d requests, counter %d; want %d each", tc.password, seen.Load(), n.Load(), calls)
		}
	}
	if authed.Load() != 7 {
		t.Errorf("authenticated %d", authed.Load())
	}
}

func TestBearer(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte("ok"))
	})
	url, o := selfSignedServer(t, h)
	var calls atomic.Int64
	o.Auth = Auth{Scheme: "bearer", Token: func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "", errors.New("token endpoint unreachable")
		}
		return "tok-2", nil
	}}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(context.Background(), c, url); err == nil || !strings.Contains(err.Error(), "token endpoint unreachable") {
		t.Errorf("token error not passed on: %v", err)
	}
	if st, err := get(context.Background(), c, url); err != nil || st != 200 {
		t.Errorf("bearer: %d %v", st, err)
	}
}

func TestNewClientInput(t *testing.T) {
	for _, tc := range []struct {
		auth Auth
		want string
	}{
		{Auth{Scheme: "basic", Password: "x"}, "user name"},
		{Auth{Scheme: "ntlm", User: "svc"}, "password"},
		{Auth{Scheme: "ntlm", User: `CONTOSO\`, Password: "x"}, `DOMAIN\user`},
		{Auth{Scheme: "bearer"}, "token source"},
		{Auth{Scheme: "kerberos"}, "unknown authentication scheme"},
	} {
		_, err := NewClient(Options{Auth: tc.auth})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.auth.Scheme, err, tc.want)
		}
	}
}

func TestNoRedirects(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/elsewhere" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Write([]byte("followed"))
	})
	url, o := selfSignedServer(t, h)
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := get(context.Background(), c, url); err != nil || st != http.StatusFound {
		t.Errorf("got %d %v, want the 302 itself", st, err)
	}
}

func TestUserAgent(t *testing.T) {
	var ua atomic.Value
	url, o := selfSignedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
	}))
	for _, want := range []string{"", "Probe/1"} {
		o.UserAgent = want
		c, err := NewClient(o)
		if err != nil {
			t.Fatal(err)
		}
		get(context.Background(), c, url)
		got := ua.Load().(string)
		if (want == "" && !strings.HasPrefix(got, "Deputy/")) || (want != "" && got != want) {
			t.Errorf("User-Agent %q (set %q)", got, want)
		}
	}
}

// TestStall: a server that never answers is abandoned at Options.Timeout and on ctx cancel.
func TestStall(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url, o := selfSignedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		cancel  time.Duration
		want    error
	}{
		{"timeout", 300 * time.Millisecond, 0, context.DeadlineExceeded},
		{"cancel", time.Minute, 300 * time.Millisecond, context.Canceled},
	} {
		o.Timeout = tc.timeout
		c, err := NewClient(o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if tc.cancel > 0 {
			time.AfterFunc(tc.cancel, cancel)
		}
		start := time.Now()
		_, err = get(ctx, c, url)
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		// Generous bound: checks the deadline is honoured, not speed.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: returned after %v", tc.name, d)
		}
	}
}
