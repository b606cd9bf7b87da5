package ui

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds; it fails the test only after a generous deadline,
// so it waits for asynchronous work without asserting on timing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
