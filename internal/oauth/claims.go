package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Claims is the decoded payload of an access token — for display and diagnosis only: the
// signature is not checked here (Exchange Online does that).
type Claims struct {
	Aud            string    `json:"aud"`
	Iss            string    `json:"iss,omitempty"`
	Tid            string    `json:"tid"`
	AppID          string    `json:"appid,omitempty"` // v1 tokens
	Azp            string    `json:"azp,omitempty"`   // v2 tokens
	AppDisplayName string    `json:"appDisplayName,omitempty"`
	Roles          []string  `json:"roles,omitempty"`
	Scp            string    `json:"scp,omitempty"`
	UPN            string    `json:"upn,omitempty"`
	Idtyp          string    `json:"idtyp,omitempty"`
	Ver            string    `json:"ver,omitempty"`
	Exp            time.Time `json:"exp"`
	Iat            time.Time `json:"iat,omitzero"`
	Nbf            time.Time `json:"nbf,omitzero"`
}

// DecodeClaims reads a JWT's payload without verifying it.
func DecodeClaims(tok string) (Claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, errors.New("the access token's payload is not base64url")
	}
	var raw struct {
		Aud            json.RawMessage `json:"aud"`
		Iss            string          `json:"iss"`
		Tid            string          `json:"tid"`
		AppID          string          `json:"appid"`
		Azp            string          `json:"azp"`
		AppDisplayName string          `json:"app_displayname"`
		Roles          []string        `json:"roles"`
		Scp            string          `json:"scp"`
		UPN            string          `json:"upn"`
		Preferred      string          `json:"preferred_username"`
		Idtyp          string          `json:"idtyp"`
		Ver            string          `json:"ver"`
		Exp, Iat, Nbf  float64
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Claims{}, errors.New("the access token's payload is not JSON")
	}
	c := Claims{Iss: raw.Iss, Tid: raw.Tid, AppID: raw.AppID, Azp: raw.Azp, AppDisplayName: raw.AppDisplayName,
		Roles: raw.Roles, Scp: raw.Scp, UPN: raw.UPN, Idtyp: raw.Idtyp, Ver: raw.Ver}
	if c.UPN == "" {
		c.UPN = raw.Preferred
	}
	// aud is a string, or (rarely) an array of strings.
	var s string
	var arr []string
	if json.Unmarshal(raw.Aud, &s) == nil {
		c.Aud = s
	} else if json.Unmarshal(raw.Aud, &arr) == nil && len(arr) > 0 {
		c.Aud = arr[0]
	}
	sec := func(f float64) time.Time {
		if f <= 0 {
			return time.Time{}
		}
		return time.Unix(int64(f), 0).UTC()
	}
	c.Exp, c.Iat, c.Nbf = sec(raw.Exp), sec(raw.Iat), sec(raw.Nbf)
	return c, nil
}

// Client is the application id the token was issued to.
func (c Claims) Client() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// AppOnly reports whether this is an application (client-credentials) token.
func (c Claims) AppOnly() bool {
	if c.Idtyp != "" {
		return c.Idtyp == "app"
	}
	return c.Scp == "" && c.UPN == ""
}

// HasRole reports whether roles contains r (case-insensitive).
func (c Claims) HasRole(r string) bool {
	return slices.ContainsFunc(c.Roles, func(x string) bool { return strings.EqualFold(x, r) })
}

// HasScope reports whether scp contains s (case-insensitive).
func (c Claims) HasScope(s string) bool {
	return slices.ContainsFunc(strings.Fields(c.Scp), func(x string) bool { return strings.EqualFold(x, s) })
}
