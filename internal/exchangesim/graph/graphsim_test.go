package graphsim_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
)

const tenant = "11111111-2222-3333-4444-555555555555"
const client = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

func sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	p, _ := json.Marshal(claims)
	in := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(p)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + enc(sig)
}

type env struct {
	ts  *httptest.Server
	sim *graphsim.Sim
	key *rsa.PrivateKey
}

func start(t *testing.T, cfg graphsim.Config) *env {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Key, cfg.Tenant = &key.PublicKey, tenant
	sim, err := graphsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Mount(mux)
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	return &env{ts: ts, sim: sim, key: key}
}

func (e *env) token(t *testing.T, mod func(map[string]any)) string {
	c := map[string]any{"aud": graphsim.AudienceURI, "tid": tenant, "appid": client, "roles": []string{graphsim.RoleReadWrite},
		"exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Unix()}
	if mod != nil {
		mod(c)
	}
	return sign(t, e.key, c)
}

func (e *env) do(t *testing.T, method, path, tok string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("client-request-id", "crid-1")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

func errOf(m map[string]any) (code, msg string, inner map[string]any) {
	e, _ := m["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	inner, _ = e["innerError"].(map[string]any)
	return
}

// TestTokenValidation: every way a token can be wrong is a 401 InvalidAuthenticationToken
// with Graph's message and the innerError ids.
func TestTokenValidation(t *testing.T) {
	e := start(t, graphsim.Config{Mailboxes: []graphsim.Mailbox{{Address: "a@fabrikam.test"}}})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := e.token(t, nil)
	for _, tc := range []struct {
		name, tok, msg string
	}{
		{"none", "", "Access token is empty."},
		{"garbage", "abc", "CompactToken parsing failed"},
		{"wrong audience", e.token(t, func(c map[string]any) { c["aud"] = "https://outlook.office365.com" }), "Invalid audience."},
		{"expired", e.token(t, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "the token is expired"},
		{"other tenant", e.token(t, func(c map[string]any) { c["tid"] = "99999999-2222-3333-4444-555555555555" }), "Invalid issuer"},
		{"forged signature", sign(t, other, map[string]any{"aud": graphsim.AudienceURI, "tid": tenant, "appid": client}), "Invalid signature"},
		{"signature swapped", good[:strings.LastIndexByte(good, '.')] + "." + strings.Repeat("A", 342), "Invalid signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, m := e.do(t, "GET", "/v1.0/users/a@fabrikam.test/calendar", tc.tok, nil)
			code, msg, inner := errOf(m)
			if st != 401 || code != "InvalidAuthenticationToken" || !strings.Contains(msg, tc.msg) {
				t.Errorf("got %d %s %q, want 401 InvalidAuthenticationToken %q", st, code, msg, tc.msg)
			}
			if inner["request-id"] == "" || inner["client-request-id"] != "crid-1" || inner["date"] == "" || h.Get("WWW-Authenticate") == "" {
				t.Errorf("innerError %v / WWW-Authenticate %q", inner, h.Get("WWW-Authenticate"))
			}
		})
	}
	if st, _, _ := e.do(t, "GET", "/v1.0/users/a@fabrikam.test/calendar", e.token(t, func(c map[string]any) { c["aud"] = graphsim.AudienceAppID }), nil); st != 200 {
		t.Errorf("aud %s refused: %d", graphsim.AudienceAppID, st)
	}
}

func TestBatchLimits(t *testing.T) {
	e := start(t, graphsim.Config{Mailboxes: []graphsim.Mailbox{{Address: "a@fabrikam.test"}}})
	tok := e.token(t, nil)
	item := func(id string) map[string]any {
		return map[string]any{"id": id, "method": "GET", "url": "/users/a@fabrikam.test/calendar"}
	}
	var many []any
	for i := range 21 {
		many = append(many, item(fmt.Sprint(i)))
	}
	for _, tc := range []struct {
		name string
		body any
		want int
	}{
		{"21 requests", map[string]any{"requests": many}, 400},
		{"duplicate id", map[string]any{"requests": []any{item("1"), item("1")}}, 400},
		{"empty", map[string]any{"requests": []any{}}, 400},
		{"not json", "x", 400},
		{"20 requests", map[string]any{"requests": many[:20]}, 200},
	} {
		st, _, m := e.do(t, "POST", "/v1.0/$batch", tok, tc.body)
		if st != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, st, tc.want, m)
		}
	}
}

// TestFromScenario: the demo's Graph view has every migration story.
func TestFromScenario(t *testing.T) {
	sc := exchangesim.Demo(0)
	cfg := graphsim.FromScenario(sc, client)
	e := start(t, cfg)
	tok := e.token(t, func(c map[string]any) { c["roles"] = []string{graphsim.RolePlaces} }) // RBAC for Apps only
	codes := map[string]string{}
	for _, m := range sc.Mailboxes {
		st, _, body := e.do(t, "GET", "/v1.0/users/"+m.Address+"/calendar", tok, nil)
		code, msg, _ := errOf(body)
		if st == 200 {
			code = "ok"
		}
		if strings.Contains(msg, "[RAOP]") {
			code += "[RAOP]"
		}
		codes[m.Address] = code
	}
	for a, want := range map[string]string{
		"anna.berg@fabrikam.test":      "ok",
		"ceo@fabrikam.test":            "ok", // outside the EWS scope, inside Graph's
		"paul.quinn@fabrikam.test":     "ErrorAccessDenied",
		"uma.varga@fabrikam.test":      "ErrorAccessDenied[RAOP]",
		"wendy.xu@fabrikam.test":       "MailboxNotEnabledForRESTAPI",
		"jon.smiht@fabrikam.test":      "ErrorInvalidUser",
		"contractor.kim@fabrikam.test": "MailboxNotEnabledForRESTAPI",
		"yara.zimmer@fabrikam.test":    "ApplicationThrottled",
		"room.boardroom@fabrikam.test": "ok",
	} {
		if codes[a] != want {
			t.Errorf("%s: %s, want %s", a, codes[a], want)
		}
	}
	st, _, body := e.do(t, "GET", "/v1.0/places/microsoft.graph.room", tok, nil)
	if v, _ := body["value"].([]any); st != 200 || len(v) != 7 {
		t.Errorf("rooms: %d, %v", st, body)
	}
}
