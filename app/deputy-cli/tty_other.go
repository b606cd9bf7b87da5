//go:build !unix && !windows

package main

func isTerminalFd(uintptr) bool { return false }
