package impersonation

import (
	"testing"
	"time"
)

// Overload cuts concurrency once per cooldown, however many in-flight replies report it,
// and successes grow it back to the ceiling.
func TestSchedAIMD(t *testing.T) {
	s := newSched(27)
	if got := s.feedback(true); got != 20 {
		t.Fatalf("first overload: limit %d, want 20 (27·¾)", got)
	}
	for range 10 {
		if got := s.feedback(true); got != 20 {
			t.Fatalf("overload within the cooldown cut again: %d", got)
		}
	}
	s.lastCut = time.Now().Add(-cutCooldown)
	if got := s.feedback(true); got != 15 {
		t.Fatalf("overload after the cooldown: %d, want 15", got)
	}
	n := 0
	for s.feedback(false) < 27 {
		if n++; n > 1000 {
			t.Fatal("never grew back to the ceiling")
		}
	}
	if n < 15*12/2 {
		t.Errorf("grew back after only %d successes: too eager", n)
	}
	for range 100 {
		s.feedback(false)
	}
	if got := s.feedback(false); got != 27 {
		t.Fatalf("grew past the ceiling: %d", got)
	}
	s2 := newSched(1)
	s2.lastCut = time.Time{}
	if got := s2.feedback(true); got != 1 {
		t.Fatalf("limit fell below 1: %d", got)
	}
}
