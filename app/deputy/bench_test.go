package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkColdStart execs the real window (bin/deputy, or a fresh build) on the X display
// (make bench runs it under Xvfb) with DEPUTY_FIRST_FRAME=1 and reports:
//   - first-frame-ms: process start to the first drawn frame, measured by the binary
//   - exec-to-frame-ms: the same seen from outside, including exec and dynamic linking
//   - idle-rss-MB: resident memory after two idle seconds on the first-run view
//   - go-sys-MB: of that, what the Go runtime holds (the rest is the GL stack)
//
// Measured here (Xvfb, Mesa llvmpipe): a bare Fyne window with one label already needs
// ~840 ms to its first frame and ~145 MB RSS with 25 MB of Go memory, so under Xvfb the
// floor is the software GL stack, not Deputy.
//
// Targets: first frame < 1 s under Xvfb, idle RSS < 120 MB.
func BenchmarkColdStart(b *testing.B) {
	if os.Getenv("DISPLAY") == "" {
		b.Skip("needs an X display: run through make bench (.ci/with-xvfb.sh)")
	}
	bin := deputyBinary(b)
	var first, wall, rss, gomem float64
	for i := 0; i < b.N; i++ {
		f, w, r, g := startOnce(b, bin)
		first, wall, rss, gomem = first+f, wall+w, rss+r, gomem+g
	}
	n := float64(b.N)
	b.ReportMetric(first/n, "first-frame-ms")
	b.ReportMetric(wall/n, "exec-to-frame-ms")
	b.ReportMetric(rss/n, "idle-rss-MB")
	b.ReportMetric(gomem/n, "go-sys-MB")
	b.ReportMetric(0, "ns/op")
}

func deputyBinary(b *testing.B) string {
	if p := os.Getenv("DEPUTY_BIN"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../bin/deputy"); err == nil {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	out := filepath.Join(b.TempDir(), "deputy")
	cmd := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", out, ".")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the window: %v\n%s", err, msg)
	}
	return out
}

func startOnce(b *testing.B, bin string) (firstMs, wallMs, rssMB, goMB float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DEPUTY_FIRST_FRAME=1", "DEPUTY_CONFIG_DIR="+b.TempDir(), "LANG=en_US.UTF-8")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	sc := bufio.NewScanner(out)
	gotFirst := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "deputy: first-frame-ms="):
			wallMs = float64(time.Since(start).Microseconds()) / 1000
			if _, err := fmt.Sscanf(line, "deputy: first-frame-ms=%f", &firstMs); err != nil {
				b.Fatalf("unreadable report %q: %v", line, err)
			}
			gotFirst = true
		case strings.HasPrefix(line, "deputy: idle-rss-mb=") && gotFirst:
			if _, err := fmt.Sscanf(line, "deputy: idle-rss-mb=%f go-sys-mb=%f", &rssMB, &goMB); err != nil {
				b.Fatalf("unreadable report %q: %v", line, err)
			}
			for sc.Scan() {
			}
			return firstMs, wallMs, rssMB, goMB
		}
	}
	b.Fatalf("the window exited without reporting its first frame and memory")
	return
}
