package impersonation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"deputy/internal/autodiscover"
	"deputy/internal/oauth"
	"deputy/internal/result"
	"deputy/internal/transport"
)

// MaxConcurrency is Exchange's default EWSMaxConcurrency: more parallel requests than
// this from one principal are refused with ErrorExceededConnectionCount.
const MaxConcurrency = 27

// Config is everything one diagnosis needs. It carries the password (in Auth) only in
// memory; nothing from it but Profile reaches the result.
type Config struct {
	Profile        result.Profile // what is being tested, as the result shows it (no secrets)
	URL            string         // the EWS endpoint
	Auth           transport.Auth
	TLS            transport.TLSOptions
	ServiceMailbox string   // the service account's own mailbox (optional)
	Mailboxes      []string // target mailboxes to impersonate
	Rooms          []string // room mailboxes to check besides those found in room lists
	CheckRooms     bool     // GetRoomLists/GetRooms, then impersonate every room
	WriteTest      bool     // create and hard-delete a calendar item in every reachable mailbox
	Concurrency    int      // default 10, at most MaxConcurrency
	Retries        int      // default 3 (negative: none)
	MaxBackoff     time.Duration
	Timeout        time.Duration // per request
	Trace          bool          // keep redacted request/response traces in the result
	Now            func() time.Time
	// AutodiscoverAddress, when set, finds the EWS URL from this address first (the
	// autodiscover check); URL may then be empty. Autodiscover holds the lab settings
	// (resolve, ports, DNS) and Confirm, which is asked before credentials go to a host
	// outside the address's domain (nil: refuse); Auth, TLS and the recorder come from
	// this Config.
	AutodiscoverAddress string
	Autodiscover        autodiscover.Options
	// OAuth, when set, signs in to Exchange Online with Entra ID tokens (app-only or
	// delegated): it becomes the bearer token source and the plan gains the token,
	// exo-policy and exo-timeline checks.
	OAuth *oauth.Source
	// Dial overrides how connections are made (tests, curl-like --resolve).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Protocol is what the run proves: ProtocolEWS (default), ProtocolGraph, or
	// ProtocolBoth (the EWS → Graph migration view). See graph.go.
	Protocol string
	// GraphURL is the Microsoft Graph root (default https://graph.microsoft.com).
	GraphURL string
	// GraphToken returns app-only tokens for https://graph.microsoft.com/.default.
	GraphToken func(ctx context.Context) (string, error)
}

// ConfigError is a problem with the input: the CLI exits 2 on it, the window shows it
// beside the field.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

func (c *Config) defaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 10
	}
	if c.Retries == 0 {
		c.Retries = 3
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 2 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.graphDefaults()
	if c.Profile.Environment == "" {
		c.Profile.Environment = result.OnPrem
	}
	c.Profile.EWSURL = c.URL
	c.Profile.Auth = c.Auth.Scheme
	if c.Profile.ServiceAccount == "" {
		c.Profile.ServiceAccount = c.Auth.User
	}
	if c.OAuth != nil {
		c.oauthDefaults()
	}
}

// Validate reports the first problem with the configuration.
func (c *Config) Validate() error {
	if err := c.validateGraph(); err != nil || c.Protocol == ProtocolGraph {
		return err
	}
	u, err := url.Parse(c.URL)
	switch {
	case strings.TrimSpace(c.URL) == "" && c.AutodiscoverAddress != "":
		// found by Autodiscover, validated when it is
	case strings.TrimSpace(c.URL) == "":
		return &ConfigError{"url", "the EWS URL is required (e.g. https://mail.contoso.com/EWS/Exchange.asmx)"}
	case err != nil:
		return &ConfigError{"url", fmt.Sprintf("not a valid URL: %v", errors.Unwrap(err))}
	case u.Scheme != "https" && u.Scheme != "http":
		return &ConfigError{"url", fmt.Sprintf("the URL must start with https:// (got %q)", u.Scheme+"://")}
	case u.Host == "":
		return &ConfigError{"url", "the URL has no host name"}
	case u.Scheme == "http" && !c.TLS.AllowHTTP:
		return &ConfigError{"url", "plain http:// sends credentials unencrypted; use https:// (or allow HTTP explicitly for a lab)"}
	}
	switch c.Auth.Scheme {
	case "basic", "ntlm":
		if c.Auth.User == "" {
			return &ConfigError{"user", "the service account is required (UPN such as svc@contoso.com, or DOMAIN\\user)"}
		}
		if c.Auth.Password == "" {
			return &ConfigError{"password", "no password given (use --password-stdin or DEPUTY_PASSWORD)"}
		}
	case "bearer":
		if c.Auth.Token == nil {
			return &ConfigError{"auth", "bearer authentication needs a token source"}
		}
	default:
		return &ConfigError{"auth", fmt.Sprintf("unknown authentication %q (basic or ntlm)", c.Auth.Scheme)}
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		return &ConfigError{"concurrency", fmt.Sprintf("must be between 1 and %d (Exchange's EWSMaxConcurrency), got %d", MaxConcurrency, c.Concurrency)}
	}
	if c.MaxBackoff < 0 || c.Timeout < 0 {
		return &ConfigError{"timeout", "durations must be positive"}
	}
	return nil
}
