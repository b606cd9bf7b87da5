//go:build !windows

package main

import (
	"fmt"
	"os"
)

// On Linux and macOS a missing GL shows up on the terminal the app was started from (or in
// the desktop's log); there is no console-less case to cover, so these stay trivial.

func ensureGL() {}

func watchGLFailure() {}

func recoverStartup() {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "deputy: unexpected error: %v\n", r)
		os.Exit(2)
	}
}
