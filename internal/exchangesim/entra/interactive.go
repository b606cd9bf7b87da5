package entra

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ---- authorize (interactive sign-in with auto-consent) ----

// authorize signs the user in at once (login_hint, else the tenant's first user) and
// answers with a page that POSTs code and state to the redirect URI (response_mode
// form_post), which is what MSAL's loopback server requires. Errors go to the redirect
// URI the same way, as Entra does.
func (e *Entra) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if err != nil || redirect == "" || ru.Scheme != "http" || !isLoopback(ru.Hostname()) {
		// Never post anything to a non-loopback URI: show the error page instead.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html><body><h1>Sign in</h1><p>AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application.</p></body></html>", html.EscapeString(redirect))
		return
	}
	state := q.Get("state")
	post := func(fields map[string]string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		var b strings.Builder
		fmt.Fprintf(&b, `<html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="POST" name="hiddenform" action="%s">`, html.EscapeString(redirect))
		for k, v := range fields {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s" />`, html.EscapeString(k), html.EscapeString(v))
		}
		b.WriteString(`<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form></body></html>`)
		_, _ = io.WriteString(w, b.String())
	}
	fail := func(code string, aadsts int, desc string) {
		post(map[string]string{"error": code, "error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc), "state": state})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenantLocked(r.PathValue("tenant"))
	if t == nil {
		fail("invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", r.PathValue("tenant")))
		return
	}
	app := t.app(q.Get("client_id"))
	if app == nil {
		fail("unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", q.Get("client_id"), t.displayName()))
		return
	}
	if !app.Public {
		fail("invalid_request", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (Allow public client flows is off for this app.)")
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter or code_challenge_method is not S256.")
		return
	}
	u := e.pickUserLocked(t, q.Get("login_hint"))
	if u == nil {
		fail("invalid_request", 50034, fmt.Sprintf("The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", q.Get("login_hint"), t.displayName()))
		return
	}
	sr, ok := parseScopeQuiet(q.Get("scope"))
	if !ok {
		fail("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
		return
	}
	code := "0.A" + randomToken(40)
	e.codes[code] = &grant{tenant: t, app: app, user: u, resource: sr.resource, scopes: sr.perms,
		expires: time.Now().Add(10 * time.Minute), challenge: q.Get("code_challenge"), redirect: redirect}
	post(map[string]string{"code": code, "state": state, "session_state": newGUID()})
}

func (e *Entra) pickUserLocked(t *Tenant, hint string) *User {
	if hint != "" {
		return t.user(hint)
	}
	if len(t.Users) == 0 {
		return nil
	}
	return &t.Users[0]
}

// parseScopeQuiet parses without writing a reply (for the authorize and devicecode pages).
func parseScopeQuiet(raw string) (scopeRequest, bool) {
	var sr scopeRequest
	for _, s := range strings.Fields(raw) {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		i := strings.LastIndex(s, "/")
		if i <= 0 {
			return sr, false
		}
		res := canonicalResource(s[:i])
		if sr.resource != "" && !strings.EqualFold(sr.resource, res) {
			return sr, false
		}
		sr.resource = res
		sr.perms = append(sr.perms, s[i+1:])
	}
	return sr, sr.resource != ""
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ---- device code ----

func (e *Entra) deviceCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tenantLocked(r.PathValue("tenant"))
	if t == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant")))
		return
	}
	id := r.PostForm.Get("client_id")
	app := t.app(id)
	if app == nil {
		writeError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", id, t.displayName()))
		return
	}
	if !app.Public {
		writeError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	tr := &tokenReq{e: e, w: w, r: r, tenant: t, app: app}
	sr, ok := tr.parseScope(r.PostForm.Get("scope"))
	if !ok {
		return
	}
	userCode := strings.ToUpper(randomAlpha(9))
	dc := "DAQABAAEAAAA" + randomToken(48)
	e.devices[dc] = &device{grant: &grant{tenant: t, app: app, resource: sr.resource, scopes: sr.perms},
		userCode: userCode, expires: time.Now().Add(15 * time.Minute)}
	vu := base(r) + "/" + t.ID + "/oauth2/deviceauth"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": userCode, "device_code": dc, "verification_uri": vu, "expires_in": 900, "interval": 1,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", vu, userCode),
	})
}

func randomAlpha(n int) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := []byte(randomToken(n))
	out := make([]byte, n)
	for i := range out {
		out[i] = letters[int(b[i])%len(letters)]
	}
	return string(out)
}

// ErrUnknownCode: ApproveDevice got a user code that is not pending.
var ErrUnknownCode = errors.New("entra: no pending sign-in with this code")

// ApproveDevice signs user (UPN; "" = the tenant's first user) in for a pending device
// code, as a person would on the verification page.
func (e *Entra) ApproveDevice(userCode, upn string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.devices {
		if strings.EqualFold(d.userCode, strings.TrimSpace(userCode)) && time.Now().Before(d.expires) {
			u := e.pickUserLocked(d.grant.tenant, upn)
			if u == nil {
				return fmt.Errorf("entra: user %q does not exist in %s", upn, d.grant.tenant.displayName())
			}
			d.grant.user, d.approved = u, true
			return nil
		}
	}
	return ErrUnknownCode
}

func (e *Entra) deviceAuthPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, `<html><body><h1>Enter code</h1><form method="POST"><input name="user_code" /><input name="login_hint" placeholder="user (optional)" /><input type="submit" value="Next" /></form></body></html>`)
}

func (e *Entra) deviceAuthSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := e.ApproveDevice(r.PostForm.Get("user_code"), r.PostForm.Get("login_hint")); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html><body><p>AADSTS70000: %s</p></body></html>", html.EscapeString(err.Error()))
		return
	}
	_, _ = io.WriteString(w, "<html><body><p>You have signed in. You may now close this window.</p></body></html>")
}

// ---- a minimal browser for tests and demos ----

var (
	formAction = regexp.MustCompile(`(?is)<form[^>]*method="POST"[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`(?is)<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// Browse does what a browser does with the authorize URL MSAL opens: GET it through hc
// (which trusts the simulator) and submit the auto-post form to the loopback redirect
// URI. Use it as MSAL's WithOpenURL in tests. It follows no other links.
func Browse(ctx context.Context, hc *http.Client, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	m := formAction.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("entra: the sign-in page (HTTP %d) has no form to submit", resp.StatusCode)
	}
	action := html.UnescapeString(string(m[1]))
	au, err := url.Parse(action)
	if err != nil || au.Scheme != "http" || !isLoopback(au.Hostname()) {
		return fmt.Errorf("entra: refusing to post the sign-in result to %q (not a loopback redirect URI)", action)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllSubmatch(body, -1) {
		form.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	preq, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	preq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	loop := &http.Client{Transport: &http.Transport{Proxy: nil}}
	presp, err := loop.Do(preq)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(presp.Body, 1<<20))
	presp.Body.Close()
	return nil
}
