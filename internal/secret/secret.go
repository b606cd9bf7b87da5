// Package secret keeps Deputy's secrets (service-account passwords, client secrets,
// certificate keys, token caches) in the OS keychain through go-keyring: Windows
// Credential Manager, the macOS Keychain or a freedesktop Secret Service. There is no
// plaintext fallback: if the keychain cannot be used the caller gets a typed *Error and
// the secret is not stored anywhere.
//
// # Layout
//
// Every entry uses the keychain service name "Deputy". A secret is addressed by Key
// {Profile, Kind}; Profile is the profile's stable random ID (never its display name, so a
// rename keeps the secrets). The entry whose user name is "<profile>/<kind>" is the index:
//
//	deputy-inline/v1;<value>                            values up to ChunkSize bytes
//	deputy-chunks/v1;n=<count>;len=<bytes>;sha256=<hex>  larger values
//
// A larger value is split (on UTF-8 boundaries) into chunks of at most ChunkSize bytes
// stored as "<profile>/<kind>#1" … "#n", because Windows Credential Manager refuses blobs
// over 2,560 bytes and tokens and PEM keys exceed that. Set writes the chunks first and
// the index last, then removes chunks left over from a longer previous value; Delete
// removes the index first, then the chunks. Get checks that every chunk is present and
// that length and SHA-256 match the index, so an interrupted or concurrent save reads as
// a Torn error — never as truncated or mixed data. An index entry without a known prefix
// (made by hand, e.g. with cmdkey or secret-tool) is returned as is.
//
// # Deadlines
//
// go-keyring calls take no context, and a locked Secret Service waits on an unlock prompt
// forever. Each call runs in its own goroutine and the caller waits at most until ctx ends
// or Store.Timeout passes (per keychain call, 5 s by default), then gets an *Error of Kind
// Timeout. A call that never returns leaks its goroutine; at most
// maxStuck may be outstanding, after which calls fail at once instead of piling up.
//
// Errors never contain a secret value.
package secret

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"
)

// Service is the keychain service name of every Deputy entry.
const Service = "Deputy"

// Secret kinds. A profile has at most one secret of each kind.
const (
	Password     = "password"
	ClientSecret = "client-secret"
	CertKey      = "cert-key"
	TokenCache   = "token-cache"
)

// Kinds lists every kind, for deleting all of a profile's secrets.
var Kinds = []string{Password, ClientSecret, CertKey, TokenCache}

const (
	// ChunkSize is the largest value stored in one keychain entry, safely below Windows
	// Credential Manager's 2,560-byte blob limit and macOS's ~4 KB command line once
	// go-keyring base64-encodes it.
	ChunkSize = 2000
	// MaxSize bounds one secret: a big MSAL token cache is ~100 KB; beyond this a keychain
	// is the wrong place.
	MaxSize = 1 << 20
	// DefaultTimeout is the budget for one keychain call when Store.Timeout is zero.
	DefaultTimeout = 5 * time.Second

	inlinePrefix = "deputy-inline/v1;"
	chunksPrefix = "deputy-chunks/v1;"
	maxStuck     = 8
)

// ErrNotFound means the keychain answered and holds no such secret.
var ErrNotFound = errors.New("not saved in the keychain")

// Kind classifies a keychain failure for the window and CLI.
type Kind int

const (
	Unavailable Kind = iota + 1 // no keychain reachable (no D-Bus, no Secret Service, platform error)
	Locked                      // the keychain is locked and was not unlocked
	Timeout                     // the keychain did not answer in time (typically locked, prompting)
	Torn                        // a chunked secret is incomplete or inconsistent
	TooBig                      // the value exceeds what the keychain (or MaxSize) allows
)

func (k Kind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case Locked:
		return "locked"
	case Timeout:
		return "timeout"
	case Torn:
		return "torn"
	case TooBig:
		return "too-big"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a keychain failure. Its message is written for the user; it never holds the
// secret value.
type Error struct {
	Kind    Kind
	Backend string        // Backend() at the time of the error
	Op      string        // "save", "read" or "delete"
	Key     Key           // which secret
	Timeout time.Duration // the budget that ran out, for Kind Timeout
	Detail  string        // extra context for Torn and TooBig
	Err     error         // the underlying error, if any
}

func (e *Error) Error() string {
	what := e.Key.Kind
	if what == "" {
		what = "secret"
	}
	switch e.Kind {
	case Locked:
		return fmt.Sprintf("cannot %s the %s: the %s is locked; unlock it (log in to the desktop session or open the keychain app) and try again", e.Op, what, e.Backend)
	case Timeout:
		return fmt.Sprintf("cannot %s the %s: the %s did not answer within %s — is it locked?", e.Op, what, e.Backend, e.Timeout.Round(100*time.Millisecond))
	case Torn:
		return fmt.Sprintf("the saved %s in the %s is damaged (%s); save it again", what, e.Backend, e.Detail)
	case TooBig:
		return fmt.Sprintf("cannot %s the %s: it is too large for the %s (%s)", e.Op, what, e.Backend, e.Detail)
	}
	msg := fmt.Sprintf("cannot %s the %s: the %s is not available", e.Op, what, e.Backend)
	if e.Backend == "Secret Service" {
		msg += " (is gnome-keyring or KeePassXC running in this desktop session?)"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Key names one secret: whose (a profile ID) and what (one of Kinds).
type Key struct {
	Profile string
	Kind    string
}

func (k Key) user() string { return k.Profile + "/" + k.Kind }

func (k Key) chunk(i int) string { return k.user() + "#" + strconv.Itoa(i) }

func (k Key) String() string { return k.user() }

func (k Key) validate() error {
	if k.Profile == "" || strings.ContainsAny(k.Profile, "/#") || len(k.Profile) > 200 {
		return fmt.Errorf("secret: invalid profile id %q", k.Profile)
	}
	if k.Kind == "" || strings.ContainsAny(k.Kind, "/#") || len(k.Kind) > 50 {
		return fmt.Errorf("secret: invalid secret kind %q", k.Kind)
	}
	return nil
}

// Backend names the keychain this platform uses, as the window shows it.
func Backend() string {
	switch runtime.GOOS {
	case "windows":
		return "Windows Credential Manager"
	case "darwin", "ios":
		return "macOS Keychain"
	}
	return "Secret Service"
}

// Store reads and writes secrets in the OS keychain.
type Store struct {
	// Timeout bounds each keychain call (a chunked secret makes several); 0 = DefaultTimeout.
	// The ctx passed to each method bounds the operation as a whole.
	Timeout time.Duration
}

// New returns a Store with the default timeout.
func New() *Store { return &Store{Timeout: DefaultTimeout} }

// stuck counts keychain calls whose caller gave up waiting but which have not returned.
var stuck atomic.Int32

// op is one Store operation: the caller's context, the per-call budget and what to name
// in errors.
type op struct {
	ctx     context.Context
	name    string
	key     Key
	timeout time.Duration
}

func (s *Store) begin(ctx context.Context, name string, k Key) (*op, context.CancelFunc) {
	t := s.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	return &op{ctx: ctx, name: name, key: k, timeout: t}, cancel
}

func (o *op) fail(kind Kind, detail string, err error) *Error {
	return &Error{Kind: kind, Backend: Backend(), Op: o.name, Key: o.key, Timeout: o.timeout, Detail: detail, Err: err}
}

// call runs one keychain call in a goroutine and waits for it, for at most the Store's
// Timeout and while ctx lasts. It maps the outcome to nil, ErrNotFound, *Error or an
// error wrapping context.Canceled.
func (o *op) call(f func() error) error {
	if err := o.ctx.Err(); err != nil {
		return o.ctxErr(err)
	}
	if stuck.Load() >= maxStuck {
		return o.fail(Timeout, "", errors.New("earlier keychain calls are still waiting"))
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	var err error
	select {
	case err := <-done:
		return o.classify(err)
	case <-timer.C:
		err = context.DeadlineExceeded
	case <-o.ctx.Done():
		err = o.ctx.Err()
	}
	stuck.Add(1)
	go func() { <-done; stuck.Add(-1) }()
	return o.ctxErr(err)
}

func (o *op) ctxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return o.fail(Timeout, "", err)
	}
	return fmt.Errorf("keychain %s of the %s: %w", o.name, o.key.Kind, err)
}

// classify maps go-keyring, D-Bus and OS errors onto Kinds (see the toolchain notes for
// the messages seen on Linux without a usable Secret Service).
func (o *op) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return o.fail(TooBig, "the keychain refused the entry size", err)
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "failed to unlock"),
		strings.Contains(msg, "islocked"),
		strings.Contains(msg, "is locked"),
		strings.Contains(msg, "prompt dismissed"),
		strings.Contains(msg, "interaction is not allowed"), // macOS errSecInteractionNotAllowed
		strings.Contains(msg, "user canceled"):
		return o.fail(Locked, "", err)
	}
	return o.fail(Unavailable, "", err)
}

// Set stores v under k, replacing any previous value.
func (s *Store) Set(ctx context.Context, k Key, v string) (err error) {
	if err := k.validate(); err != nil {
		return err
	}
	o, cancel := s.begin(ctx, "save", k)
	defer cancel()
	defer func() { err = scrub(err, v) }()
	if len(v) > MaxSize {
		return o.fail(TooBig, fmt.Sprintf("%d bytes, at most %d", len(v), MaxSize), nil)
	}
	var index string
	var chunks []string
	if len(v) <= ChunkSize {
		index = inlinePrefix + v
	} else {
		chunks = split(v, ChunkSize)
		sum := sha256.Sum256([]byte(v))
		index = fmt.Sprintf("%sn=%d;len=%d;sha256=%s", chunksPrefix, len(chunks), len(v), hex.EncodeToString(sum[:]))
	}
	for i, c := range chunks {
		user := k.chunk(i + 1)
		if err := o.call(func() error { return keyring.Set(Service, user, c) }); err != nil {
			return scrub(err, c)
		}
	}
	if err := o.call(func() error { return keyring.Set(Service, k.user(), index) }); err != nil {
		return err
	}
	// Chunks beyond the new count belong to an older, longer value.
	return o.deleteChunksFrom(k, len(chunks)+1)
}

// deleteChunksFrom removes chunks i, i+1, … until one is absent.
func (o *op) deleteChunksFrom(k Key, i int) error {
	for ; i <= MaxSize/ChunkSize+1; i++ {
		user := k.chunk(i)
		err := o.call(func() error { return keyring.Delete(Service, user) })
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Get returns the secret under k, ErrNotFound if there is none, or an *Error.
func (s *Store) Get(ctx context.Context, k Key) (string, error) {
	if err := k.validate(); err != nil {
		return "", err
	}
	o, cancel := s.begin(ctx, "read", k)
	defer cancel()
	var index string
	if err := o.call(func() (err error) { index, err = keyring.Get(Service, k.user()); return err }); err != nil {
		return "", err
	}
	v, err := o.assemble(k, index)
	return v, scrub(err, v)
}

func (o *op) assemble(k Key, index string) (string, error) {
	if v, ok := strings.CutPrefix(index, inlinePrefix); ok {
		return v, nil
	}
	spec, ok := strings.CutPrefix(index, chunksPrefix)
	if !ok {
		return index, nil // an entry made by hand, without Deputy's layout
	}
	n, size, sum, err := parseIndex(spec)
	if err != nil {
		return "", o.fail(Torn, "unreadable chunk index: "+err.Error(), nil)
	}
	var b strings.Builder
	b.Grow(size)
	for i := 1; i <= n; i++ {
		user := k.chunk(i)
		var c string
		err := o.call(func() (err error) { c, err = keyring.Get(Service, user); return err })
		if errors.Is(err, ErrNotFound) {
			return "", o.fail(Torn, fmt.Sprintf("part %d of %d is missing", i, n), nil)
		}
		if err != nil {
			return "", err
		}
		if b.Len()+len(c) > size {
			return "", o.fail(Torn, fmt.Sprintf("part %d of %d does not match the index", i, n), nil)
		}
		b.WriteString(c)
	}
	v := b.String()
	got := sha256.Sum256([]byte(v))
	if len(v) != size || subtle.ConstantTimeCompare(got[:], sum) != 1 {
		return "", o.fail(Torn, fmt.Sprintf("its %d parts do not add up to what was saved", n), nil)
	}
	return v, nil
}

func parseIndex(spec string) (n, size int, sum []byte, err error) {
	for _, f := range strings.Split(spec, ";") {
		name, val, _ := strings.Cut(f, "=")
		switch name {
		case "n":
			n, err = strconv.Atoi(val)
		case "len":
			size, err = strconv.Atoi(val)
		case "sha256":
			sum, err = hex.DecodeString(val)
		}
		if err != nil {
			return 0, 0, nil, fmt.Errorf("field %s: %w", name, err)
		}
	}
	switch {
	case n < 1 || n > MaxSize/ChunkSize+1:
		return 0, 0, nil, fmt.Errorf("chunk count %d out of range", n)
	case size < 1 || size > MaxSize:
		return 0, 0, nil, fmt.Errorf("length %d out of range", size)
	case len(sum) != sha256.Size:
		return 0, 0, nil, errors.New("no SHA-256")
	}
	return n, size, sum, nil
}

// Delete removes the secret under k and all its chunks. Deleting an absent secret is not
// an error.
func (s *Store) Delete(ctx context.Context, k Key) error {
	if err := k.validate(); err != nil {
		return err
	}
	o, cancel := s.begin(ctx, "delete", k)
	defer cancel()
	return o.delete(k)
}

func (o *op) delete(k Key) error {
	// Read the index first: with it, chunks after a gap (a torn set) are found too.
	n := 0
	var index string
	err := o.call(func() (err error) { index, err = keyring.Get(Service, k.user()); return err })
	switch {
	case err == nil:
		if spec, ok := strings.CutPrefix(index, chunksPrefix); ok {
			n, _, _, _ = parseIndex(spec)
		}
		index = ""
		err = o.call(func() error { return keyring.Delete(Service, k.user()) })
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	for i := 1; i <= n; i++ {
		user := k.chunk(i)
		err := o.call(func() error { return keyring.Delete(Service, user) })
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	// Chunks go even without an index: they may be left from a torn or older save.
	return o.deleteChunksFrom(k, n+1)
}

// DeleteProfile removes every secret of the profile with the given ID.
func (s *Store) DeleteProfile(ctx context.Context, profileID string) error {
	o, cancel := s.begin(ctx, "delete", Key{Profile: profileID})
	defer cancel()
	for _, kind := range Kinds {
		k := Key{Profile: profileID, Kind: kind}
		if err := k.validate(); err != nil {
			return err
		}
		o.key = k
		if err := o.delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Has reports whether a secret is saved under k (false with a nil error when it is not);
// an *Error says why the keychain could not tell. Reading is the only portable test, so
// this costs a Get.
func (s *Store) Has(ctx context.Context, k Key) (bool, error) {
	_, err := s.Get(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// split cuts v into pieces of at most n bytes without splitting a UTF-8 sequence.
func split(v string, n int) []string {
	var out []string
	for len(v) > n {
		cut := n
		for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		out = append(out, v[:cut])
		v = v[cut:]
	}
	return append(out, v)
}

// scrub makes sure no error text carries the secret: underlying errors come from D-Bus,
// wincred or /usr/bin/security, which we do not control.
func scrub(err error, v string) error {
	if err == nil || len(v) < 4 || !strings.Contains(err.Error(), v) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Err = errors.New("keychain error (message withheld: it contained the secret)")
		return &c
	}
	return errors.New("keychain error (message withheld: it contained the secret)")
}
