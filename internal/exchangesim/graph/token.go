package graphsim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// token is what Graph takes from a verified access token.
type token struct {
	Aud   string   `json:"aud"`
	Tid   string   `json:"tid"`
	AppID string   `json:"appid"`
	Azp   string   `json:"azp"`
	Roles []string `json:"roles"`
	Scp   string   `json:"scp"`
	Exp   int64    `json:"exp"`
	Nbf   int64    `json:"nbf"`
}

func (t *token) client() string {
	if t.AppID != "" {
		return t.AppID
	}
	return t.Azp
}

// authError is a 401 with Graph's message.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

// verify checks a bearer token the way Graph does: signature, lifetime, audience, tenant.
// Messages are Graph's.
func (s *Sim) verify(authz string) (*token, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(authz), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, &authError{"Access token is empty."}
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 64<<10 {
		return nil, &authError{"Access token validation failure."}
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, &authError{"CompactToken parsing failed with error code: 80049217"}
	}
	dec := func(p string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "=")) }
	hb, err1 := dec(parts[0])
	pb, err2 := dec(parts[1])
	sig, err3 := dec(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, &authError{"CompactToken parsing failed with error code: 80049217"}
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "RS256" {
		return nil, &authError{"Access token validation failure."}
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.cfg.Key, crypto.SHA256, sum[:], sig) != nil {
		return nil, &authError{"Access token validation failure. Invalid signature."}
	}
	var t token
	if json.Unmarshal(pb, &t) != nil {
		return nil, &authError{"Access token validation failure."}
	}
	now := s.cfg.Now().Unix()
	switch {
	case t.Exp != 0 && now >= t.Exp:
		return nil, &authError{"Lifetime validation failed, the token is expired."}
	case t.Nbf != 0 && now < t.Nbf-300:
		return nil, &authError{"Lifetime validation failed, the token is not yet valid."}
	case strings.TrimRight(t.Aud, "/") != AudienceURI && t.Aud != AudienceAppID:
		return nil, &authError{"Access token validation failure. Invalid audience."}
	case s.cfg.Tenant != "" && !strings.EqualFold(t.Tid, s.cfg.Tenant):
		return nil, &authError{"Access token validation failure. Invalid issuer."}
	}
	return &t, nil
}

// calendarPerm is the permission level a role name grants (0 none … 3 read-write).
func calendarPerm(role string) int {
	switch role {
	case RoleReadBasic, RBACReadBasic:
		return 1
	case RoleRead, RBACRead:
		return 2
	case RoleReadWrite, RBACReadWrite:
		return 3
	}
	return 0
}
