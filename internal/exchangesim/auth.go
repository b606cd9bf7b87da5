package exchangesim

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
)

type connKey struct{}

// connState is per TCP connection, as IIS keeps it: a pending NTLM challenge and, once
// the handshake succeeded, the authenticated principal for later requests on the
// same connection (which then need no Authorization header).
type connState struct {
	id        int64
	mu        sync.Mutex
	challenge []byte
	principal *Account
}

func connOf(r *http.Request) *connState {
	c, _ := r.Context().Value(connKey{}).(*connState)
	if c == nil {
		c = &connState{} // not reachable through Start; keeps hostile paths panic-free
	}
	return c
}

// authenticate returns the principal of r, or writes the 401 and returns nil.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *Account {
	cs := connOf(r)
	h := r.Header.Get("Authorization")
	if h == "" {
		cs.mu.Lock()
		p := cs.principal
		cs.mu.Unlock()
		if p != nil {
			return p
		}
		s.unauthorized(w, "", nil)
		return nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	offered := func(name string) bool {
		for _, x := range s.sc.authSchemes() {
			if strings.EqualFold(x, name) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.EqualFold(scheme, "Basic") && offered("Basic"):
		raw, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			s.fail(w)
			return nil
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		a, found := s.sc.account(user)
		if !ok || !found || subtle.ConstantTimeCompare([]byte(pass), []byte(a.Password)) != 1 {
			s.fail(w)
			return nil
		}
		return a
	case (strings.EqualFold(scheme, "NTLM") && offered("NTLM")) || (strings.EqualFold(scheme, "Negotiate") && offered("Negotiate")):
		return s.ntlmStep(w, cs, scheme, token)
	}
	s.fail(w)
	return nil
}

func (s *Server) ntlmStep(w http.ResponseWriter, cs *connState, scheme, token string) *Account {
	msg, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		s.fail(w)
		return nil
	}
	switch ntlmType(msg) {
	case 1:
		out, chal, err := buildChallenge(s.sc.NetBIOS, s.sc.Domain)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return nil
		}
		cs.mu.Lock()
		cs.challenge, cs.principal = chal, nil
		cs.mu.Unlock()
		s.unauthorized(w, scheme, out)
		return nil
	case 3:
		cs.mu.Lock()
		chal := cs.challenge
		cs.challenge = nil // one attempt per challenge
		cs.mu.Unlock()
		am, err := parseAuthenticate(msg)
		if chal == nil || err != nil {
			// A type 3 without a type 2 on this very connection: IIS refuses it.
			s.fail(w)
			return nil
		}
		name := am.User
		if am.Domain != "" {
			name = am.Domain + `\` + am.User
		}
		a, ok := s.sc.account(name)
		if !ok || !verifyNTLMv2(am, a.Password, chal) {
			s.fail(w)
			return nil
		}
		s.ntlmOK.Add(1)
		cs.mu.Lock()
		cs.principal = a
		cs.mu.Unlock()
		return a
	}
	// SPNEGO/Kerberos tokens and garbage: not supported here.
	s.fail(w)
	return nil
}

func (s *Server) fail(w http.ResponseWriter) {
	s.authFail.Add(1)
	s.unauthorized(w, "", nil)
}

// unauthorized writes an IIS-style 401: either one NTLM/Negotiate challenge token, or
// the list of offered schemes.
func (s *Server) unauthorized(w http.ResponseWriter, scheme string, challenge []byte) {
	h := w.Header()
	if challenge != nil {
		h.Add("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(challenge))
	} else {
		for _, sch := range s.sc.authSchemes() {
			if sch == "Basic" {
				h.Add("WWW-Authenticate", `Basic realm="`+s.sc.host()+`"`)
			} else {
				h.Add("WWW-Authenticate", sch)
			}
		}
	}
	// Empty body, Content-Length: 0, as in the captured IIS challenge
	// (ews-401-ntlm-challenge-evolution.http): a client can reuse the connection at
	// once, which a connection-bound NTLM handshake depends on.
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}
