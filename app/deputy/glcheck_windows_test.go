//go:build windows

package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseGLVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"4.5 (Compatibility Profile) Mesa 22.3.6", 4, 5, true},
		{"1.1.0", 1, 1, true},                       // Microsoft "GDI Generic": too old
		{"2.1", 2, 1, true},                         // the minimum
		{"4.6.0 NVIDIA 551.86", 4, 6, true},         // vendor suffix after a space
		{"3.3.0 - Build 31.0.101.4502", 3, 3, true}, // Intel's dash suffix
		{"  3.0 ", 3, 0, true},                      // stray spaces
		{"", 0, 0, false},                           // no context / no string
		{"OpenGL ES 3.2", 0, 0, false},              // not desktop GL
		{"x.y", 0, 0, false},                        // garbage
		{"4", 0, 0, false},                          // no minor
	}
	for _, tt := range tests {
		major, minor, ok := parseGLVersion(tt.in)
		if ok != tt.ok || (ok && (major != tt.major || minor != tt.minor)) {
			t.Errorf("parseGLVersion(%q) = %d, %d, %v; want %d, %d, %v", tt.in, major, minor, ok, tt.major, tt.minor, tt.ok)
		}
	}
}

// TestPreflightGL asks the real WGL of the machine it runs on. Under the Wine smoke test
// that is Mesa llvmpipe (OpenGL 4.5), so the preflight must pass; with Mesa told to offer
// only OpenGL 1.1 like an RDP session's "GDI Generic" (MESA_GL_VERSION_OVERRIDE=1.1,
// DEPUTY_EXPECT_NO_GL=1) it must fail with a clear reason and not panic.
func TestPreflightGL(t *testing.T) {
	err := preflightGL()
	if expectNoGL() {
		if err == nil {
			t.Fatal("preflightGL() = nil without opengl32.dll")
		}
		if !strings.Contains(err.Error(), "OpenGL") {
			t.Errorf("error %q does not mention OpenGL", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("preflightGL() = %v on a machine with OpenGL", err)
	}
	// A second run must work too: the probe cleans up its window class and context.
	if err := preflightGL(); err != nil {
		t.Fatalf("second preflightGL() = %v", err)
	}
}

func TestGLUnavailableMessagePointsToCLI(t *testing.T) {
	msg := glUnavailableMessage(errors.New("this session offers only OpenGL 1.1"))
	for _, want := range []string{"deputy-cli.exe", "OpenGL 2.1", "Remote Desktop", "only OpenGL 1.1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

func TestGLFailureWriterPassesLogThrough(t *testing.T) {
	var buf bytes.Buffer
	w := &glFailureWriter{next: &buf}
	line := "2026/11/23 Fyne error:  something unrelated\n"
	if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if buf.String() != line {
		t.Errorf("log line not passed through: %q", buf.String())
	}
}

func expectNoGL() bool { return strings.TrimSpace(os.Getenv("DEPUTY_EXPECT_NO_GL")) == "1" }
