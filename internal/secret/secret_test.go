package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBackend(t *testing.T) {
	want := map[string]string{"windows": "Windows Credential Manager", "darwin": "macOS Keychain", "linux": "Secret Service"}[runtime.GOOS]
	if want != "" && Backend() != want {
		t.Fatalf("Backend() = %q on %s, want %q", Backend(), runtime.GOOS, want)
	}
}

func TestSplitKeepsRunesWhole(t *testing.T) {
	for _, v := range []string{
		strings.Repeat("a", 4001),
		strings.Repeat("ä", 3000),          // 2-byte runes straddle every boundary
		strings.Repeat("€", 1700),          // 3 bytes
		strings.Repeat("x𝄞", 900) + "tail", // 4 bytes, odd phase
	} {
		parts := split(v, ChunkSize)
		if strings.Join(parts, "") != v {
			t.Fatalf("split/join changed the value (len %d)", len(v))
		}
		for i, p := range parts {
			if len(p) > ChunkSize || len(p) == 0 || !utf8.ValidString(p) {
				t.Fatalf("part %d: len %d valid %v", i, len(p), utf8.ValidString(p))
			}
		}
	}
}

func TestParseIndexRejectsNonsense(t *testing.T) {
	good := "n=3;len=5000;sha256=" + strings.Repeat("ab", 32)
	if _, _, _, err := parseIndex(good); err != nil {
		t.Fatalf("good index: %v", err)
	}
	for _, spec := range []string{
		"", "n=0;len=1;sha256=" + strings.Repeat("ab", 32), "n=x;len=1", "n=2;len=-1;sha256=" + strings.Repeat("ab", 32),
		"n=99999999;len=5;sha256=" + strings.Repeat("ab", 32), "n=2;len=5000;sha256=zz", "n=2;len=5000;sha256=abab",
	} {
		if _, _, _, err := parseIndex(spec); err == nil {
			t.Errorf("parseIndex(%q) accepted", spec)
		}
	}
}

func TestKeyValidation(t *testing.T) {
	s := New()
	for _, k := range []Key{{"", Password}, {"a/b", Password}, {"p#1", Password}, {"p", ""}, {"p", "x#y"}} {
		if err := s.Set(context.Background(), k, "v"); err == nil {
			t.Errorf("Set with key %+v accepted", k)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	k := Key{Profile: "p1", Kind: Password}
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Kind: Timeout, Backend: "Secret Service", Op: "read", Key: k, Timeout: DefaultTimeout}, "the Secret Service did not answer within 5s — is it locked?"},
		{&Error{Kind: Locked, Backend: "Secret Service", Op: "save", Key: k}, "is locked"},
		{&Error{Kind: Torn, Backend: "Secret Service", Op: "read", Key: k, Detail: "part 2 of 5 is missing"}, "damaged (part 2 of 5 is missing); save it again"},
		{&Error{Kind: TooBig, Backend: "Windows Credential Manager", Op: "save", Key: k, Detail: "x"}, "too large"},
		{&Error{Kind: Unavailable, Backend: "Secret Service", Op: "save", Key: k, Err: errors.New("dial unix /x: no such file")}, "not available (is gnome-keyring or KeePassXC running in this desktop session?): dial unix"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%v error = %q, want it to contain %q", tc.e.Kind, got, tc.want)
		}
	}
}

func TestTooBigNeverTouchesKeychain(t *testing.T) {
	// A too-large value is refused before any keychain call, so this runs anywhere.
	err := New().Set(context.Background(), Key{"p", TokenCache}, strings.Repeat("z", MaxSize+1))
	var e *Error
	if !errors.As(err, &e) || e.Kind != TooBig {
		t.Fatalf("err = %v, want TooBig", err)
	}
}

func TestScrubRemovesSecret(t *testing.T) {
	secret := "Tr0ub4dor&3-distinctive"
	inner := fmt.Errorf("backend echoed %s back", secret)
	for _, err := range []error{inner, &Error{Kind: Unavailable, Backend: "Secret Service", Op: "save", Err: inner}} {
		got := scrub(err, secret)
		if strings.Contains(got.Error(), secret) {
			t.Fatalf("scrub left the secret in %q", got)
		}
	}
	var e *Error
	if !errors.As(scrub(&Error{Kind: Locked, Err: inner}, secret), &e) || e.Kind != Locked {
		t.Fatal("scrub lost the error kind")
	}
}

// Without any D-Bus session there is no Secret Service: every call must fail as
// Unavailable, quickly, and never fall back to storing the secret elsewhere. go-keyring
// shares one D-Bus connection per process, so this runs in a child process with a broken
// bus address.
func TestUnavailableWithoutDBus(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Secret Service is the Linux backend")
	}
	for _, tc := range []struct{ name, addr, path string }{
		{"bus socket missing", "unix:path=/nonexistent/deputy-bus", os.Getenv("PATH")},
		{"no bus and no dbus-launch", "", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNoDBus$", "-test.v")
			cmd.Env = append(os.Environ(), "DEPUTY_SECRET_HELPER=nodbus", "DBUS_SESSION_BUS_ADDRESS="+tc.addr, "PATH="+tc.path, "DISPLAY=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper failed: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "helper-ok") {
				t.Fatalf("helper did not run:\n%s", out)
			}
		})
	}
}

func TestHelperNoDBus(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_HELPER") != "nodbus" {
		t.Skip("helper for TestUnavailableWithoutDBus")
	}
	const secret = "nodbus-S3cret-7f3a9"
	s := New()
	k := Key{Profile: "nodbus", Kind: Password}
	errs := []error{s.Set(context.Background(), k, secret)}
	_, err := s.Get(context.Background(), k)
	errs = append(errs, err, s.Delete(context.Background(), k))
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) || e.Kind != Unavailable {
			t.Fatalf("err = %v (%T), want Kind Unavailable", err, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("secret in error %q", err)
		}
		if !strings.Contains(err.Error(), "Secret Service is not available") {
			t.Fatalf("message %q does not say the keychain is unavailable", err)
		}
	}
	fmt.Println("helper-ok:", errs[0])
}
