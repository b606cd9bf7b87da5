package entra

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sign makes an RS256 JWT with the fake's key.
func (e *Entra) sign(claims map[string]any) (string, error) {
	hdr := map[string]any{"typ": "JWT", "alg": "RS256", "kid": e.kid, "x5t": e.kid}
	h, _ := json.Marshal(hdr)
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	in := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, e.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return in + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwtParts splits and decodes a compact JWS; it never panics on hostile input.
func jwtParts(tok string) (hdr, payload map[string]any, signed string, sig []byte, err error) {
	if len(tok) > 64<<10 {
		return nil, nil, "", nil, errors.New("token too large")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, "", nil, errors.New("not a compact JWT (three dot-separated parts)")
	}
	dec := func(s string) ([]byte, error) {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	hb, err := dec(parts[0])
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("header: %w", err)
	}
	pb, err := dec(parts[1])
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("payload: %w", err)
	}
	sig, err = dec(parts[2])
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("signature: %w", err)
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, nil, "", nil, fmt.Errorf("header: %w", err)
	}
	d := json.NewDecoder(strings.NewReader(string(pb)))
	d.UseNumber()
	if err := d.Decode(&payload); err != nil {
		return nil, nil, "", nil, fmt.Errorf("payload: %w", err)
	}
	return hdr, payload, parts[0] + "." + parts[1], sig, nil
}

// verifyRSA checks an RS256 or PS256 signature.
func verifyRSA(pub *rsa.PublicKey, alg, signed string, sig []byte) error {
	sum := sha256.Sum256([]byte(signed))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return fmt.Errorf("unsupported alg %q", alg)
}

// Token errors of Verify.
var (
	ErrMalformed = errors.New("the token cannot be parsed")
	ErrSignature = errors.New("the token signature is invalid")
	ErrExpired   = errors.New("the token has expired")
	ErrNotYet    = errors.New("the token is not yet valid")
)

// Claims are the access-token claims a resource (Exchange Online) looks at.
type Claims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Tid   string   `json:"tid"`
	AppID string   `json:"appid"`
	Azp   string   `json:"azp"`
	Roles []string `json:"roles"`
	Scp   string   `json:"scp"`
	UPN   string   `json:"upn"`
	Oid   string   `json:"oid"`
	Idtyp string   `json:"idtyp"`
	Ver   string   `json:"ver"`
	Exp   int64    `json:"exp"`
	Nbf   int64    `json:"nbf"`
	Iat   int64    `json:"iat"`
}

// AppOnly reports whether the token is an application token (client credentials).
func (c *Claims) AppOnly() bool { return c.Idtyp == "app" || (c.Scp == "" && c.UPN == "") }

// Client is the calling application's id (appid in v1 tokens, azp in v2).
func (c *Claims) Client() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// Verify checks an access token issued by this fake: signature (RS256 with the fake's
// key), exp and nbf against now (with Entra's 5-minute clock skew left out: the
// simulator is exact). The claims are returned also with ErrExpired, for diagnostics.
func (e *Entra) Verify(tok string, now time.Time) (*Claims, error) {
	hdr, _, signed, sig, err := jwtParts(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	alg, _ := hdr["alg"].(string)
	if alg != "RS256" {
		return nil, fmt.Errorf("%w: alg %q", ErrSignature, alg)
	}
	if err := verifyRSA(&e.key.PublicKey, alg, signed, sig); err != nil {
		return nil, ErrSignature
	}
	pb, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case c.Exp != 0 && now.Unix() >= c.Exp:
		return &c, ErrExpired
	case c.Nbf != 0 && now.Unix() < c.Nbf:
		return &c, ErrNotYet
	}
	return &c, nil
}

// ---- errors, Entra style ----

// writeError answers like Entra's token endpoint.
func writeError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	trace, corr := newGUID(), newGUID()
	now := time.Now().UTC()
	full := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": full,
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", newGUID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
