//go:build linux

package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// These tests talk to a real Secret Service (gnome-keyring in a private D-Bus session):
//
//	.ci/with-secret-service.sh go test ./internal/secret/
//
// `make test` always runs them that way.
func needSecretService(t *testing.T) {
	t.Helper()
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
}

// distinctive returns a secret of n bytes that cannot occur by accident, built from
// multi-byte runes when unicode is set so chunk boundaries fall inside runes.
func distinctive(tag string, n int, unicode bool) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if unicode {
			fmt.Fprintf(&b, "ü€𝄞%s-%d;", tag, i)
		} else {
			fmt.Fprintf(&b, "%s-%06d|", tag, i)
		}
	}
	s := b.String()
	for len(s) > n { // trim to n bytes on a rune boundary
		s = s[:len(s)-1]
		for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0xC0 {
			s = s[:len(s)-1]
		}
	}
	return s
}

func rawGet(t *testing.T, user string) (string, error) {
	t.Helper()
	return keyring.Get(Service, user)
}

func TestRoundTrip(t *testing.T) {
	needSecretService(t)
	s := New()
	ctx := context.Background()
	tests := []struct {
		name   string
		v      string
		chunks int
	}{
		{"empty", "", 0},
		{"small password", "P@ss-w0rd-RT-small", 0},
		{"exactly one chunk", distinctive("one", ChunkSize, false), 0},
		{"one byte over", distinctive("over", ChunkSize+1, false), 2},
		{"10 KB token cache", distinctive("tenkb", 10*1024, false), 6},
		{"10 KB unicode", distinctive("uni", 10*1024, true), 6},
		{"30 KB", distinctive("big", 30*1024, false), 16},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := Key{Profile: fmt.Sprintf("rt%d", i), Kind: TokenCache}
			if err := s.Set(ctx, k, tc.v); err != nil {
				t.Fatalf("Set: %v", err)
			}
			t.Cleanup(func() { _ = s.Delete(ctx, k) })
			got, err := s.Get(ctx, k)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tc.v {
				t.Fatalf("Get returned %d bytes, want %d (values differ)", len(got), len(tc.v))
			}
			// The layout on the keychain: n chunks, no chunk n+1.
			for c := 1; c <= tc.chunks; c++ {
				part, err := rawGet(t, k.chunk(c))
				if err != nil || len(part) > ChunkSize {
					t.Fatalf("chunk %d: %d bytes, %v", c, len(part), err)
				}
			}
			if _, err := rawGet(t, k.chunk(tc.chunks+1)); !errors.Is(err, keyring.ErrNotFound) {
				t.Fatalf("chunk %d exists: %v", tc.chunks+1, err)
			}
			if ok, err := s.Has(ctx, k); !ok || err != nil {
				t.Fatalf("Has = %v, %v", ok, err)
			}
		})
	}
}

func TestOverwriteShrinksAndDeleteRemovesAll(t *testing.T) {
	needSecretService(t)
	s := New()
	ctx := context.Background()
	k := Key{Profile: "shrink", Kind: CertKey}
	big := distinctive("pem", 9000, false)
	if err := s.Set(ctx, k, big); err != nil {
		t.Fatal(err)
	}
	// A smaller value replaces it and the old chunks go.
	mid := distinctive("mid", 4500, false)
	if err := s.Set(ctx, k, mid); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, k); err != nil || got != mid {
		t.Fatalf("after shrink: %d bytes, %v", len(got), err)
	}
	for c := 4; c <= 5; c++ {
		if _, err := rawGet(t, k.chunk(c)); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("stale chunk %d survived a shorter Set: %v", c, err)
		}
	}
	if err := s.Set(ctx, k, "inline now"); err != nil {
		t.Fatal(err)
	}
	if _, err := rawGet(t, k.chunk(1)); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("chunk 1 survived an inline Set: %v", err)
	}
	if err := s.Set(ctx, k, big); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	for _, user := range []string{k.user(), k.chunk(1), k.chunk(5)} {
		if _, err := rawGet(t, user); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("%s survived Delete: %v", user, err)
		}
	}
	// Deleting what is not there is fine.
	if err := s.Delete(ctx, k); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestDeleteProfileRemovesEveryKind(t *testing.T) {
	needSecretService(t)
	s := New()
	ctx := context.Background()
	other := Key{Profile: "keepme", Kind: Password}
	if err := s.Set(ctx, other, "other-profile-pw"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(ctx, other) })
	for i, kind := range Kinds {
		if err := s.Set(ctx, Key{"gone", kind}, distinctive(kind, 1500*(i+1), false)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteProfile(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, kind := range Kinds {
		k := Key{"gone", kind}
		if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get = %v, want ErrNotFound", kind, err)
		}
		if _, err := rawGet(t, k.chunk(1)); !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("%s: chunk 1 survived", kind)
		}
	}
	if got, err := s.Get(ctx, other); err != nil || got != "other-profile-pw" {
		t.Fatalf("another profile's secret was touched: %v", err)
	}
}

func TestTornSetsAreDetected(t *testing.T) {
	needSecretService(t)
	s := New()
	ctx := context.Background()
	secret := distinctive("TORN-s3cret", 7000, false)
	tests := []struct {
		name   string
		damage func(k Key) error
		detail string
	}{
		{"chunk deleted", func(k Key) error { return keyring.Delete(Service, k.chunk(2)) }, "part 2 of 4 is missing"},
		{"last chunk deleted", func(k Key) error { return keyring.Delete(Service, k.chunk(4)) }, "part 4 of 4 is missing"},
		{"chunk replaced by another save", func(k Key) error { return keyring.Set(Service, k.chunk(3), strings.Repeat("x", ChunkSize)) }, "do not add up"},
		{"chunk truncated", func(k Key) error { return keyring.Set(Service, k.chunk(4), "short") }, "do not add up"},
		{"index mangled", func(k Key) error { return keyring.Set(Service, k.user(), chunksPrefix+"n=4;len=7000") }, "unreadable chunk index"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := Key{Profile: fmt.Sprintf("torn%d", i), Kind: TokenCache}
			if err := s.Set(ctx, k, secret); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Delete(ctx, k) })
			if err := tc.damage(k); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, k)
			var e *Error
			if !errors.As(err, &e) || e.Kind != Torn {
				t.Fatalf("Get = %d bytes, %v; want a Torn error", len(got), err)
			}
			if got != "" {
				t.Fatalf("Get returned %d bytes of partial data", len(got))
			}
			if !strings.Contains(err.Error(), tc.detail) || strings.Contains(err.Error(), "TORN-s3cret") {
				t.Fatalf("message %q: want %q and no secret", err, tc.detail)
			}
			// A torn set is still fully removable.
			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			for c := 1; c <= 4; c++ {
				if _, err := rawGet(t, k.chunk(c)); !errors.Is(err, keyring.ErrNotFound) {
					t.Fatalf("chunk %d survived deleting a torn set", c)
				}
			}
		})
	}
}

func TestNotFoundAndHandMadeEntries(t *testing.T) {
	needSecretService(t)
	s := New()
	ctx := context.Background()
	_, err := s.Get(ctx, Key{"nobody", Password})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing secret = %v, want ErrNotFound", err)
	}
	if ok, err := s.Has(ctx, Key{"nobody", Password}); ok || err != nil {
		t.Fatalf("Has = %v, %v", ok, err)
	}
	// An admin may have stored the password by hand (secret-tool, cmdkey).
	k := Key{"byhand", Password}
	if err := keyring.Set(Service, k.user(), "typed-by-hand"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(ctx, k) })
	if got, err := s.Get(ctx, k); err != nil || got != "typed-by-hand" {
		t.Fatalf("hand-made entry: %q, %v", got, err)
	}
}

// secretService is the bus object tests use to lock and unlock the keyring.
func secretService(t *testing.T) (*dbus.Conn, dbus.BusObject, []dbus.ObjectPath) {
	t.Helper()
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	obj := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	v, err := obj.GetProperty("org.freedesktop.Secret.Service.Collections")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := v.Value().([]dbus.ObjectPath)
	return conn, obj, cols
}

// lockKeyring locks every collection and unlocks them again (with the password
// with-secret-service.sh uses) when the test ends.
func lockKeyring(t *testing.T) {
	t.Helper()
	_, obj, cols := secretService(t)
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := obj.Call("org.freedesktop.Secret.Service.Lock", 0, cols).Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if len(locked) == 0 {
		t.Fatalf("nothing was locked (collections %v)", cols)
	}
	t.Cleanup(func() {
		var alg dbus.Variant
		var session dbus.ObjectPath
		if err := obj.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&alg, &session); err != nil {
			t.Errorf("OpenSession: %v", err)
			return
		}
		type secretStruct struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}
		for _, c := range locked {
			err := obj.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
				c, secretStruct{session, []byte{}, []byte("deputy-test"), "text/plain"}).Err
			if err != nil {
				t.Errorf("unlocking %s again: %v", c, err)
			}
		}
	})
}

// hangingPrompter owns gnome-keyring's prompter name and never answers, like an unlock
// dialog nobody is in front of.
type hangingPrompter struct{ release chan struct{} }

func (p *hangingPrompter) BeginPrompting(callback dbus.ObjectPath) *dbus.Error {
	<-p.release
	return dbus.NewError("org.freedesktop.DBus.Error.Failed", []any{"test over"})
}

func (p *hangingPrompter) PerformPrompt(callback dbus.ObjectPath, typ string, props map[string]dbus.Variant, exchange string) *dbus.Error {
	<-p.release
	return dbus.NewError("org.freedesktop.DBus.Error.Failed", []any{"test over"})
}

func (p *hangingPrompter) StopPrompting(callback dbus.ObjectPath) *dbus.Error { return nil }

func TestLockedKeyring(t *testing.T) {
	needSecretService(t)
	ctx := context.Background()
	const secret = "LOCKED-distinctive-9c1e"
	k := Key{"locked", Password}
	if err := New().Set(ctx, k, secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = New().Delete(ctx, k) })

	t.Run("no prompter: Locked", func(t *testing.T) {
		lockKeyring(t)
		s := &Store{Timeout: 3 * time.Second}
		start := time.Now()
		got, err := s.Get(ctx, k)
		var e *Error
		if !errors.As(err, &e) || e.Kind != Locked || got != "" {
			t.Fatalf("Get on a locked keyring = %q, %v; want Kind Locked", got, err)
		}
		if el := time.Since(start); el > s.Timeout {
			t.Fatalf("took %v", el)
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "Secret Service is locked") {
			t.Fatalf("message %q", err)
		}
		if err := s.Set(ctx, k, secret+"-new"); err == nil || strings.Contains(err.Error(), secret) {
			t.Fatalf("Set on a locked keyring = %v", err)
		}
	})

	t.Run("prompt never answered: Timeout within the deadline", func(t *testing.T) {
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		p := &hangingPrompter{release: make(chan struct{})}
		defer close(p.release)
		if err := conn.Export(p, "/org/gnome/keyring/Prompter", "org.gnome.keyring.internal.Prompter"); err != nil {
			t.Fatal(err)
		}
		reply, err := conn.RequestName("org.gnome.keyring.SystemPrompter", dbus.NameFlagDoNotQueue)
		if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("RequestName: %v %v", reply, err)
		}
		lockKeyring(t)
		for _, timeout := range []time.Duration{700 * time.Millisecond, 1500 * time.Millisecond} {
			s := &Store{Timeout: timeout}
			start := time.Now()
			got, err := s.Get(ctx, k)
			elapsed := time.Since(start)
			var e *Error
			if !errors.As(err, &e) || e.Kind != Timeout || got != "" {
				t.Fatalf("Get with a hanging prompt = %q, %v; want Kind Timeout", got, err)
			}
			if elapsed < timeout || elapsed > timeout+500*time.Millisecond {
				t.Fatalf("returned after %v, deadline %v", elapsed, timeout)
			}
			want := fmt.Sprintf("did not answer within %s — is it locked?", timeout.Round(100*time.Millisecond))
			if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), secret) {
				t.Fatalf("message %q, want %q", err, want)
			}
		}
		// The caller's context bounds the call too.
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = New().Set(cctx, k, secret)
		var e *Error
		if !errors.As(err, &e) || e.Kind != Timeout || time.Since(start) > time.Second {
			t.Fatalf("Set with a 300 ms context = %v after %v", err, time.Since(start))
		}
	})

	// Unlocked again by the subtests' cleanups: the secret is intact.
	if got, err := New().Get(ctx, k); err != nil || got != secret {
		t.Fatalf("after unlocking: %v", err)
	}
}
