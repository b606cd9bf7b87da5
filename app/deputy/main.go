// Command deputy is Deputy's window. Everything but starting the app lives in package ui.
//
// Hidden switches (environment) for screenshots and benchmarks:
//
//	DEPUTY_CONFIG_DIR=dir          profiles in dir instead of the user's config folder
//	DEPUTY_SCREENSHOT_SCENE=name   drive the window to welcome|profile|diagnosis|setup (also export,
//	                               unsaved: the save dialog, the unsaved-changes prompt), then print
//	                               "deputy: scene ready" on stdout
//	DEPUTY_FIRST_FRAME=1           print time to first frame and idle RSS, then quit
package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"deputy"
	"deputy/app/deputy/ui"
)

func main() {
	start := time.Now()
	defer recoverStartup()
	ensureGL()
	watchGLFailure()

	a := app.NewWithID(deputy.ID)
	a.SetIcon(ui.Icon())
	w := a.NewWindow(deputy.Name)
	w.SetMaster()
	w.Resize(fyne.NewSize(1200, 800))

	store, err := ui.NewFileStore(os.Getenv("DEPUTY_CONFIG_DIR"))
	if err != nil {
		// Without a profile folder the window can still explain; it must not vanish.
		l := widget.NewLabel("Deputy cannot open its profile folder:\n" + err.Error())
		l.Wrapping = fyne.TextWrapWord
		w.SetContent(l)
		w.ShowAndRun()
		os.Exit(1)
	}
	env := ui.DefaultEnv(deputy.Version, store)
	u := ui.New(w, env)
	w.SetContent(u.Content())

	a.Lifecycle().SetOnStarted(func() {
		go releaseStartupMemory()
		if os.Getenv("DEPUTY_FIRST_FRAME") != "" {
			go reportStartup(a, start)
		}
		if scene := os.Getenv("DEPUTY_SCREENSHOT_SCENE"); scene != "" {
			if err := u.PlayScene(scene, func() { fmt.Println("deputy: scene ready") }); err != nil {
				slog.Error("screenshot scene", "scene", scene, "err", err)
				fmt.Println("deputy: scene failed:", err)
			}
		}
	})
	w.ShowAndRun()
	u.Close()
}

// releaseStartupMemory hands the start-up garbage (font parsing, icon decoding, the
// first layout) back to the OS once the window is idle: the Go heap would otherwise keep
// those pages resident until memory pressure, and an idle admin tool should be small.
func releaseStartupMemory() {
	time.Sleep(time.Second)
	debug.FreeOSMemory()
}

// reportStartup prints the time from process start to the first frame and the resident
// memory once idle, for BenchmarkColdStart, then quits.
func reportStartup(a fyne.App, start time.Time) {
	// OnStarted runs just before the event loop; the loop draws on its first 60 Hz tick.
	// Two round trips through the loop, a tick apart, guarantee a frame has been drawn.
	fyne.DoAndWait(func() {})
	time.Sleep(time.Second / 30)
	fyne.DoAndWait(func() {})
	fmt.Printf("deputy: first-frame-ms=%.1f\n", float64(time.Since(start).Microseconds())/1000)
	time.Sleep(2 * time.Second) // idle
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// RSS includes the GL stack (Mesa's llvmpipe under Xvfb); Go's own share is go-sys.
	fmt.Printf("deputy: idle-rss-mb=%.1f go-sys-mb=%.1f\n", rssMB(), float64(ms.Sys)/(1<<20))
	fyne.Do(a.Quit)
}

// rssMB reads the resident set size (Linux /proc; -1 elsewhere).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return -1
}
