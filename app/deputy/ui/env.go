package ui

import (
	"context"
	"time"

	"deputy/internal/autodiscover"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// StoredProfile is a profile as the window edits it: a stable ID (empty until first
// saved) and the form's values. Never a secret.
type StoredProfile struct {
	ID     string
	Values FormValues
	Demo   bool // created by "Try the demo": its server is started in-process on Run
}

// ProfileStore is where profiles live (internal/profile on disk).
type ProfileStore interface {
	// List returns every readable profile by name; problems (a corrupt file kept aside)
	// come back as warnings to show, not as a failure.
	List() (profiles []StoredProfile, warnings []string, err error)
	// Save writes p (assigning an ID when it has none) and returns what was stored.
	Save(p StoredProfile) (StoredProfile, error)
	Delete(id string) error
}

// Keychain holds each profile's password (internal/secret).
type Keychain interface {
	Backend() string
	Has(ctx context.Context, profileID string) (bool, error)
	Get(ctx context.Context, profileID string) (string, error)
	Set(ctx context.Context, profileID, password string) error
	DeleteProfile(ctx context.Context, profileID string) error
}

// DemoServer is the simulated Exchange "Try the demo" starts.
type DemoServer struct {
	URL, SHA256, User, Password string
	Mailboxes, Rooms            []string
	Close                       func()
}

// Env is everything the window needs from the outside world. The zero value of a func
// field turns its feature off (the button explains why).
type Env struct {
	Profiles ProfileStore
	Keychain Keychain
	Diagnose func(ctx context.Context, cfg impersonation.Config, obs impersonation.Observer) (*result.Result, error)
	// StartDemo starts the simulated Exchange on 127.0.0.1.
	StartDemo func() (*DemoServer, error)
	// Export writes r to path; the extension (.json, .html, .pdf) picks the format.
	Export func(path string, r *result.Result) error
	// ExportFormats are the extensions Export understands, first = default.
	ExportFormats []string
	// Discover finds the EWS URL for an address (Autodiscover); nil: not available.
	Discover func(ctx context.Context, address string, o autodiscover.Options) (*autodiscover.Result, error)
	// Ticker paces UI updates during a run (FlushInterval when nil).
	Ticker func() (<-chan time.Time, func())
	Now    func() time.Time
	// OAuth reaches Entra ID for Exchange Online profiles (keychain, authority override);
	// nil: the real clouds without a keychain.
	OAuth *OAuthEnv
	// Version is shown in the window and written into results.
	Version string
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) ticker() (<-chan time.Time, func()) {
	if e.Ticker != nil {
		return e.Ticker()
	}
	t := time.NewTicker(FlushInterval)
	return t.C, t.Stop
}
