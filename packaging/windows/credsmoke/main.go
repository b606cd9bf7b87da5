// Command credsmoke is the Wine smoke test's probe of Windows Credential Manager: it
// stores a secret far above the 2,560-byte credential-blob limit through
// deputy/internal/secret, reads it back, compares, deletes it and checks it is gone.
// Built for windows with CGO_ENABLED=0 by packaging/smoke-windows.sh; never shipped.
//
// It prints "OK <backend> <bytes>" and exits 0, or says what went wrong and exits 1.
// The secret value itself is never printed.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"deputy/internal/secret"
)

func main() {
	size := flag.Int("size", 10*1024, "secret size in bytes")
	profile := flag.String("profile", "wine-smoke", "profile name to store the secret under")
	readOnly := flag.String("expect-sha256", "", "only read the secret and compare with this SHA-256 (hex)")
	absent := flag.Bool("expect-absent", false, "only check that the profile has no password saved")
	flag.Parse()
	if *absent {
		*readOnly = "absent"
	}
	if err := run(*profile, *size, *readOnly); err != nil {
		fmt.Fprintln(os.Stderr, "credsmoke: FAIL:", err)
		os.Exit(1)
	}
}

func run(profile string, size int, expect string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := secret.New()
	k := secret.Key{Profile: profile, Kind: secret.Password}

	if expect == "absent" { // deleted by another program (deputy-cli)
		if _, err := s.Get(ctx, k); !errors.Is(err, secret.ErrNotFound) {
			return fmt.Errorf("want ErrNotFound, got %v", err)
		}
		fmt.Printf("OK %s absent\n", secret.Backend())
		return nil
	}
	if expect != "" { // read back a secret stored by another program (deputy-cli)
		got, err := s.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		if sum := fmt.Sprintf("%x", sha256.Sum256([]byte(got))); sum != expect {
			return fmt.Errorf("read back %d bytes with SHA-256 %s, want %s", len(got), sum, expect)
		}
		fmt.Printf("OK %s %d read\n", secret.Backend(), len(got))
		return nil
	}

	raw := make([]byte, size*3/4+3)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	want := base64.RawURLEncoding.EncodeToString(raw)[:size]

	if err := s.Set(ctx, k, want); err != nil {
		return fmt.Errorf("set %d bytes: %w", len(want), err)
	}
	got, err := s.Get(ctx, k)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if got != want {
		return fmt.Errorf("read back %d bytes that differ from the %d stored", len(got), len(want))
	}
	if err := s.Delete(ctx, k); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if _, err := s.Get(ctx, k); !errors.Is(err, secret.ErrNotFound) {
		return fmt.Errorf("get after delete: want ErrNotFound, got %v", err)
	}
	fmt.Printf("OK %s %d\n", secret.Backend(), len(want))
	return nil
}
