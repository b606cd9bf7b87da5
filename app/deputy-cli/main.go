// Command deputy-cli is Deputy's console front end: the same diagnosis as the window, for
// RDP sessions without OpenGL, servers and Task Scheduler. It must build with
// CGO_ENABLED=0 and import no Fyne.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// Exit codes (documented in the README; scripts rely on them).
const (
	exitOK        = 0 // all checks pass (warnings allowed)
	exitFailed    = 1 // a check or a mailbox failed, or nothing was found
	exitUsage     = 2 // usage or input error
	exitCancelled = 3 // interrupted; partial results were printed
)

// env is what a command may touch: its streams and the process environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	isTTY          func(f any) bool
}

type command struct {
	usage string
	run   func(ctx context.Context, e *env, args []string) int
}

// commands is filled by each cmd_*.go file's init, so a command lives in one file.
var commands = map[string]command{}

func register(name, usage string, run func(ctx context.Context, e *env, args []string) int) {
	commands[name] = command{usage: usage, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTTY: isTerminal}
	os.Exit(run(ctx, e, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "deputy-cli: unknown command %q\n\n", args[0])
		printUsage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: deputy-cli COMMAND [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  deputy-cli %s\n", strings.TrimSpace(n+" "+commands[n].usage))
	}
	fmt.Fprintln(w, "\nRun 'deputy-cli COMMAND -h' for a command's flags.")
}

// isTerminal reports whether f is an interactive terminal (a console on Windows). A
// character device is not enough: /dev/null and NUL are character devices too.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isTerminalFd(file.Fd())
}
