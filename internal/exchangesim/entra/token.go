package entra

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	assertionType   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
	exoAppID        = "00000002-0000-0ff1-ce00-000000000000"
	graphAppID      = "00000003-0000-0000-c000-000000000000"
	maxForm         = 64 << 10
)

var oidcScopes = []string{"openid", "profile", "offline_access", "email"}

// tokenReq is one token-endpoint call being served.
type tokenReq struct {
	e      *Entra
	w      http.ResponseWriter
	r      *http.Request
	tenant *Tenant
	app    *App
	// credential: "secret", "cert" or "" (public client)
	cred string
}

func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqs++
	name := r.PathValue("tenant")
	t := e.tenantLocked(name)
	if t == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", name))
		return
	}
	tr := &tokenReq{e: e, w: w, r: r, tenant: t}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		if u, _, ok := r.BasicAuth(); ok {
			clientID = u
		}
	}
	if clientID == "" {
		tr.fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	tr.app = t.app(clientID)
	if tr.app == nil {
		tr.fail(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.displayName()))
		return
	}
	if !tr.authenticateClient() {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
		tr.clientCredentials()
	case "refresh_token":
		tr.refreshToken()
	case "authorization_code":
		tr.authorizationCode()
	case deviceCodeGrant, "device_code":
		tr.deviceCodeToken()
	case "":
		tr.fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		tr.fail(http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
	}
}

func (tr *tokenReq) fail(status int, code string, aadsts int, desc string) {
	writeError(tr.w, status, code, aadsts, desc)
}

// authenticateClient checks the client secret or the client assertion, if any. A public
// client (no credential) is allowed only for public-client flows.
func (tr *tokenReq) authenticateClient() bool {
	f := tr.r.PostForm
	secret := f.Get("client_secret")
	if secret == "" {
		if _, p, ok := tr.r.BasicAuth(); ok {
			secret = p
		}
	}
	switch {
	case secret != "":
		now := time.Now()
		var expired bool
		for _, s := range tr.app.Secrets {
			if subtle.ConstantTimeCompare([]byte(s.Value), []byte(secret)) == 1 {
				if !s.Expires.IsZero() && now.After(s.Expires) {
					expired = true
					break
				}
				tr.cred = "secret"
				return true
			}
		}
		if expired {
			tr.fail(http.StatusUnauthorized, "invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", tr.app.ClientID))
			return false
		}
		tr.fail(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", tr.app.ClientID))
		return false
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != assertionType {
			tr.fail(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. [Reason: client_assertion_type must be "+assertionType+"]")
			return false
		}
		return tr.verifyAssertion(f.Get("client_assertion"))
	}
	gt := f.Get("grant_type")
	if gt == "client_credentials" || !tr.app.Public {
		tr.fail(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	return true
}

// verifyAssertion checks a private_key_jwt client assertion: the certificate named by the
// thumbprint header must be registered on the app and valid, the signature must verify
// with its public key, aud must be this token endpoint, iss = sub = client id, not expired.
func (tr *tokenReq) verifyAssertion(a string) bool {
	id := tr.app.ClientID
	hdr, payload, signed, sig, err := jwtParts(a)
	if err != nil {
		tr.fail(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. [Reason: "+err.Error()+"]")
		return false
	}
	alg, _ := hdr["alg"].(string)
	var want []byte
	var thumbHeader string
	var raw string
	if s, ok := hdr["x5t#S256"].(string); ok {
		thumbHeader, raw = "x5t#S256", s
	} else if s, ok := hdr["x5t"].(string); ok {
		thumbHeader, raw = "x5t", s
	}
	want = decodeAnyB64(raw)
	if thumbHeader == "" || want == nil {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '"+id+"'.]")
		return false
	}
	var rc *regCert
	for i, c := range tr.e.certs[strings.ToLower(id)] {
		ref := c.sha1
		if thumbHeader == "x5t#S256" {
			ref = c.sha256
		}
		if bytes.Equal(ref, want) {
			rc = &tr.e.certs[strings.ToLower(id)][i]
			break
		}
	}
	thumb := strings.ToUpper(hex.EncodeToString(want))
	if rc == nil {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/%s']", thumb, id, id))
		return false
	}
	now := time.Now()
	if now.After(rc.cert.NotAfter) || now.Before(rc.cert.NotBefore) {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]",
			thumb, rc.cert.NotBefore.UTC().Format("01/02/2006 15:04:05"), rc.cert.NotAfter.UTC().Format("01/02/2006 15:04:05"), id))
		return false
	}
	pub, ok := rc.cert.PublicKey.(*rsa.PublicKey)
	if !ok || verifyRSA(pub, alg, signed, sig) != nil {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. [Reason - The key was found but did not match the signature, Thumbprint of key used by client: '"+thumb+"']")
		return false
	}
	str := func(k string) string { s, _ := payload[k].(string); return s }
	num := func(k string) int64 {
		switch v := payload[k].(type) {
		case json.Number:
			n, _ := v.Int64()
			return n
		}
		return 0
	}
	aud := str("aud")
	endpoint := base(tr.r) + tr.r.URL.Path
	byID := base(tr.r) + "/" + tr.tenant.ID + "/oauth2/v2.0/token"
	if !strings.EqualFold(aud, endpoint) && !strings.EqualFold(aud, byID) {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700212, fmt.Sprintf("The audience claim '%s' of the client assertion is not valid: it must be the token endpoint '%s'.", aud, byID))
		return false
	}
	if !strings.EqualFold(str("iss"), id) || !strings.EqualFold(str("sub"), id) {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
		return false
	}
	exp, nbf := num("exp"), num("nbf")
	if exp == 0 || now.Unix() >= exp || (nbf != 0 && now.Unix()+300 < nbf) {
		tr.fail(http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), time.Unix(nbf, 0).UTC().Format(time.RFC3339), time.Unix(exp, 0).UTC().Format(time.RFC3339)))
		return false
	}
	tr.cred = "cert"
	return true
}

func decodeAnyB64(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

// scopeRequest is the parsed scope parameter: one resource and its permissions.
type scopeRequest struct {
	resource string   // audience, e.g. https://outlook.office365.com
	perms    []string // ".default" or named permissions
}

// parseScope returns the resource scopes of a request; ok=false after answering an error.
func (tr *tokenReq) parseScope(raw string) (scopeRequest, bool) {
	var sr scopeRequest
	for _, s := range strings.Fields(raw) {
		if slices.Contains(oidcScopes, strings.ToLower(s)) {
			continue
		}
		i := strings.LastIndex(s, "/")
		if i <= 0 {
			tr.fail(http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", s))
			return sr, false
		}
		res, perm := canonicalResource(s[:i]), s[i+1:]
		if sr.resource != "" && !strings.EqualFold(sr.resource, res) {
			tr.fail(http.StatusBadRequest, "invalid_scope", 28000, fmt.Sprintf("Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", raw))
			return sr, false
		}
		sr.resource = res
		sr.perms = append(sr.perms, perm)
	}
	if sr.resource == "" {
		tr.fail(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", raw))
		return sr, false
	}
	if !slices.ContainsFunc(tr.e.cfg.Resources, func(r string) bool { return strings.EqualFold(r, sr.resource) }) {
		tr.fail(http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", sr.resource, tr.tenant.displayName()))
		return sr, false
	}
	return sr, true
}

func canonicalResource(r string) string {
	switch strings.ToLower(r) {
	case exoAppID:
		return ResourceEXO
	case graphAppID:
		return ResourceGraph
	}
	return strings.TrimRight(r, "/")
}

func (tr *tokenReq) clientCredentials() {
	sr, ok := tr.parseScope(tr.r.PostForm.Get("scope"))
	if !ok {
		return
	}
	if len(sr.perms) != 1 || sr.perms[0] != ".default" {
		tr.fail(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", tr.r.PostForm.Get("scope")))
		return
	}
	// Missing admin consent is not an error at Entra: the token simply has no roles.
	roles := tr.app.AppRoles[sr.resource]
	tr.issue(&grant{tenant: tr.tenant, app: tr.app, resource: sr.resource, scopes: roles}, false)
}

// delegatedScopes checks consent for a user flow: ".default" means every consented scope.
func (tr *tokenReq) delegatedScopes(sr scopeRequest) ([]string, bool) {
	consented := tr.app.Scopes[sr.resource]
	var out []string
	for _, p := range sr.perms {
		if p == ".default" {
			out = append(out, consented...)
			continue
		}
		if !slices.ContainsFunc(consented, func(c string) bool { return strings.EqualFold(c, p) }) {
			name := tr.app.Name
			if name == "" {
				name = tr.app.ClientID
			}
			tr.fail(http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", tr.app.ClientID, name))
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

func (tr *tokenReq) refreshToken() {
	rt := tr.r.PostForm.Get("refresh_token")
	g := tr.e.refresh[rt]
	switch {
	case rt == "" || g == nil || g.tenant.ID != tr.tenant.ID || !strings.EqualFold(g.app.ClientID, tr.app.ClientID):
		tr.fail(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case time.Now().After(g.expires):
		delete(tr.e.refresh, rt)
		tr.fail(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on "+g.expires.Add(-90*24*time.Hour).UTC().Format(time.RFC3339)+" and was inactive for 90.00:00:00.")
		return
	}
	ng := *g
	ng.app, ng.tenant = tr.app, tr.tenant // consent as it is now
	if raw := tr.r.PostForm.Get("scope"); strings.TrimSpace(raw) != "" {
		sr, ok := tr.parseScope(raw)
		if !ok {
			return
		}
		scopes, ok := tr.delegatedScopes(sr)
		if !ok {
			return
		}
		ng.resource, ng.scopes = sr.resource, scopes
	}
	tr.issue(&ng, true)
}

func (tr *tokenReq) authorizationCode() {
	f := tr.r.PostForm
	code := f.Get("code")
	g := tr.e.codes[code]
	delete(tr.e.codes, code) // single use
	if g == nil || !strings.EqualFold(g.app.ClientID, tr.app.ClientID) || time.Now().After(g.expires) {
		tr.fail(http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	}
	if f.Get("redirect_uri") != g.redirect {
		tr.fail(http.StatusBadRequest, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE. [redirect_uri differs from the authorization request]")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if g.challenge == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tr.fail(http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return
	}
	tr.userGrant(g)
}

func (tr *tokenReq) deviceCodeToken() {
	dc := tr.r.PostForm.Get("device_code")
	d := tr.e.devices[dc]
	switch {
	case d == nil || !strings.EqualFold(d.grant.app.ClientID, tr.app.ClientID):
		tr.fail(http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the input parameter 'device_code' is not valid.")
	case time.Now().After(d.expires):
		delete(tr.e.devices, dc)
		tr.fail(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case !d.approved:
		tr.fail(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	default:
		delete(tr.e.devices, dc)
		tr.userGrant(d.grant)
	}
}

// userGrant issues a delegated token for a code or device grant after the consent check.
func (tr *tokenReq) userGrant(g *grant) {
	sr := scopeRequest{resource: g.resource, perms: g.scopes}
	scopes, ok := tr.delegatedScopes(sr)
	if !ok {
		return
	}
	ng := *g
	ng.app, ng.tenant, ng.scopes = tr.app, tr.tenant, scopes
	tr.issue(&ng, true)
}

// issue answers with an access token (and for users a refresh token, id_token and
// client_info, which MSAL needs to make an account).
func (tr *tokenReq) issue(g *grant, user bool) {
	e := tr.e
	now := time.Now()
	life := e.cfg.TokenLifetime
	iss := "https://sts.windows.net/" + g.tenant.ID + "/"
	claims := map[string]any{
		"aud": g.resource, "iss": iss, "idp": iss, "tid": g.tenant.ID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
		"appid": g.app.ClientID, "app_displayname": g.app.Name, "ver": "1.0",
		"uti": randomToken(16), "rh": "0.AAAA" + randomToken(8) + ".",
	}
	if user {
		scp := slices.DeleteFunc(slices.Clone(g.scopes), func(s string) bool {
			return slices.ContainsFunc(g.app.OmitScopes, func(o string) bool { return strings.EqualFold(o, s) })
		})
		claims["scp"] = strings.Join(scp, " ")
		claims["upn"], claims["unique_name"], claims["name"] = g.user.UPN, g.user.UPN, g.user.Name
		claims["oid"], claims["sub"] = g.user.ObjectID, g.user.ObjectID
		claims["idtyp"], claims["amr"], claims["appidacr"] = "user", []string{"pwd"}, "0"
	} else {
		if len(g.scopes) > 0 {
			claims["roles"] = g.scopes
		}
		sp := spObjectID(g.tenant.ID, g.app.ClientID)
		claims["oid"], claims["sub"], claims["idtyp"] = sp, sp, "app"
		claims["appidacr"] = map[string]string{"secret": "1", "cert": "2"}[tr.cred]
	}
	at, err := e.sign(claims)
	if err != nil {
		tr.fail(http.StatusInternalServerError, "server_error", 90000, "Token signing failed.")
		return
	}
	e.issued++
	resp := map[string]any{
		"token_type": "Bearer", "expires_in": int(life.Seconds()), "ext_expires_in": int(life.Seconds()),
		"access_token": at,
	}
	if user {
		var scopes []string
		for _, s := range g.scopes {
			scopes = append(scopes, g.resource+"/"+s)
		}
		resp["scope"] = strings.Join(scopes, " ")
		rt := "1.AAAA" + randomToken(48)
		ng := *g
		ng.expires = now.Add(90 * 24 * time.Hour)
		e.refresh[rt] = &ng
		resp["refresh_token"] = rt
		idt, err := e.sign(map[string]any{
			"aud": g.app.ClientID, "iss": base(tr.r) + "/" + g.tenant.ID + "/v2.0", "tid": g.tenant.ID,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"oid": g.user.ObjectID, "sub": g.user.ObjectID, "preferred_username": g.user.UPN, "name": g.user.Name, "ver": "2.0",
		})
		if err != nil {
			tr.fail(http.StatusInternalServerError, "server_error", 90000, "Token signing failed.")
			return
		}
		resp["id_token"] = idt
		ci, _ := json.Marshal(map[string]string{"uid": g.user.ObjectID, "utid": g.tenant.ID})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	writeJSON(tr.w, http.StatusOK, resp)
}

// spObjectID is a stable fictitious service-principal object id for an app in a tenant.
func spObjectID(tenant, clientID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(tenant + "/" + clientID)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ServicePrincipalID is the enterprise application's object id the fake uses for an app
// (what New-ServicePrincipal -ObjectId takes).
func ServicePrincipalID(tenant, clientID string) string { return spObjectID(tenant, clientID) }
