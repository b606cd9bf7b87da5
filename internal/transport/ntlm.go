package transport

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"

	"github.com/Azure/go-ntlmssp"
)

// NTLMErrorKind says at which step an NTLM handshake failed.
type NTLMErrorKind string

const (
	NTLMNotRequested      NTLMErrorKind = "not-requested"         // the server answered without asking for credentials
	NTLMNotOffered        NTLMErrorKind = "not-offered"           // 401, but neither NTLM nor Negotiate offered
	NTLMNoChallenge       NTLMErrorKind = "no-challenge"          // the negotiate message got no challenge back
	NTLMChallengeRejected NTLMErrorKind = "challenge-unsupported" // the client can't answer the server's challenge
	NTLMConnectionLost    NTLMErrorKind = "connection-lost"       // the legs didn't share one connection
	NTLMCredentialsDenied NTLMErrorKind = "credentials-rejected"  // final 401
)

// NTLMError explains a failed NTLM handshake. go-ntlmssp's Negotiator only ever returns
// the first 401; NTLMHandshake runs the legs itself to find out which one failed.
type NTLMError struct {
	Kind    NTLMErrorKind
	User    string
	Status  int      // HTTP status of the failing leg
	Offered []string // schemes the server offered (WWW-Authenticate), names only
	Err     error
}

func (e *NTLMError) Unwrap() error { return e.Err }

func (e *NTLMError) Error() string {
	switch e.Kind {
	case NTLMNotRequested:
		return fmt.Sprintf("the server answered %d without asking for credentials: a reverse proxy or login page may sit in front of EWS", e.Status)
	case NTLMNotOffered:
		offered := "no scheme"
		if len(e.Offered) > 0 {
			offered = strings.Join(e.Offered, ", ")
		}
		return fmt.Sprintf("the server does not offer NTLM (it offers %s): enable Windows authentication on the EWS virtual directory "+
			"(Set-WebServicesVirtualDirectory -Identity \"<server>\\EWS (Default Web Site)\" -WindowsAuthentication $true), or use the scheme it offers", offered)
	case NTLMNoChallenge:
		return fmt.Sprintf("the server answered the NTLM negotiate message with %d and no challenge: a proxy or load balancer in front may be stripping WWW-Authenticate or not keeping the connection", e.Status)
	case NTLMChallengeRejected:
		return fmt.Sprintf("the server's NTLM challenge cannot be answered (%v): Deputy speaks NTLMv2 without key exchange; check the server's LAN Manager authentication level and NTLM policies", e.Err)
	case NTLMConnectionLost:
		return "the connection was closed between the NTLM challenge and the response: NTLM authenticates one connection, so a proxy or load balancer in front must keep it (persistent connections, no 'Connection: close')"
	case NTLMCredentialsDenied:
		return fmt.Sprintf("the server rejected the NTLM credentials of %s: wrong password, account locked, disabled or its password expired, or the wrong user-name form (try DOMAIN\\user or the UPN); "+
			"if all are right, Extended Protection may be set to Require on this virtual directory (Deputy's NTLM sends no channel binding)", e.User)
	}
	return fmt.Sprintf("NTLM handshake failed: %v", e.Err)
}

// NTLMHandshake performs the NTLM handshake against rawURL step by step, over one
// connection, and returns nil if the credentials in o.Auth are accepted, an *NTLMError
// saying which step failed, or the transport error (e.g. *TLSError).
func NTLMHandshake(ctx context.Context, rawURL string, o Options) error {
	a := o.Auth
	a.Scheme = SchemeNTLM
	if err := needCredentials(a); err != nil {
		return err
	}
	o.Recorder.Secret(a.Password)
	o.Auth = Auth{}
	c, err := newClient(o, true)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()

	leg := func(authz string) (int, http.Header, net.Conn, error) {
		var conn net.Conn
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn = i.Conn }})
		req, err := http.NewRequestWithContext(tctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return 0, nil, nil, err
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		// Drain (bounded) so the connection can carry the next leg.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return resp.StatusCode, resp.Header, conn, nil
	}

	st, h, _, err := leg("")
	if err != nil {
		return err
	}
	if st != http.StatusUnauthorized {
		return &NTLMError{Kind: NTLMNotRequested, User: a.User, Status: st}
	}
	offered := offeredSchemes(h)
	scheme := ""
	for _, want := range []string{"NTLM", "Negotiate"} {
		for _, s := range offered {
			if strings.EqualFold(s, want) && scheme == "" {
				scheme = s
			}
		}
	}
	if scheme == "" {
		return &NTLMError{Kind: NTLMNotOffered, User: a.User, Status: st, Offered: offered}
	}

	neg, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		return &NTLMError{Kind: NTLMChallengeRejected, User: a.User, Err: err}
	}
	st, h, conn2, err := leg(scheme + " " + base64.StdEncoding.EncodeToString(neg))
	if err != nil {
		return err
	}
	if st != http.StatusUnauthorized {
		if st < 400 {
			return nil // accepted without a challenge (RFC 4559 allows it)
		}
		return &NTLMError{Kind: NTLMNoChallenge, User: a.User, Status: st, Offered: offered}
	}
	challenge := challengeOf(h)
	if challenge == nil {
		return &NTLMError{Kind: NTLMNoChallenge, User: a.User, Status: st, Offered: offeredSchemes(h)}
	}
	auth, err := ntlmssp.NewAuthenticateMessage(challenge, a.User, a.Password, nil)
	if err != nil {
		return &NTLMError{Kind: NTLMChallengeRejected, User: a.User, Status: st, Err: err}
	}
	st, _, conn3, err := leg(scheme + " " + base64.StdEncoding.EncodeToString(auth))
	if err != nil {
		return err
	}
	if st == http.StatusUnauthorized {
		if conn2 != nil && conn3 != conn2 {
			return &NTLMError{Kind: NTLMConnectionLost, User: a.User, Status: st}
		}
		return &NTLMError{Kind: NTLMCredentialsDenied, User: a.User, Status: st}
	}
	return nil
}

// offeredSchemes lists the scheme names of WWW-Authenticate (parameters dropped, so
// nothing the server sent as a token is repeated).
func offeredSchemes(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Www-Authenticate") {
		for _, part := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if name == "" || strings.ContainsAny(name, "=\"") {
				continue // a parameter of the previous challenge
			}
			out = append(out, name)
		}
	}
	return out
}

// challengeOf decodes the NTLM CHALLENGE message from an NTLM or Negotiate header.
func challengeOf(h http.Header) []byte {
	for _, v := range h.Values("Www-Authenticate") {
		scheme, data, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !(strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")) {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
		if err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}
