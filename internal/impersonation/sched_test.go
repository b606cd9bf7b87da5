package impersonation

import (
	"strings"
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

// The overload evidence says "and back" only when the limit recovered to its ceiling.
func TestOverloadEvidence(t *testing.T) {
	for _, tc := range []struct {
		st   RunStats
		conc int
		want string
	}{
		{RunStats{Workers: 16, MinLimit: 9, EndLimit: 16, Overloaded: 3}, 16, "overload 3 time(s); concurrency went from 16 down to 9 and back"},
		{RunStats{Workers: 16, MinLimit: 4, EndLimit: 5, Overloaded: 12}, 16, "concurrency went from 16 down to 4 and was 5 at the end"},
		{RunStats{Workers: 8, MinLimit: 6, EndLimit: 8, Overloaded: 1}, 27, "concurrency went from 8 down to 6 and back"},
		{RunStats{Workers: 1, MinLimit: 1, EndLimit: 1, Overloaded: 2}, 1, "concurrency stayed at 1"},
	} {
		got := overloadEvidence(tc.st, tc.conc)
		if !strings.HasSuffix(got, tc.want) {
			t.Errorf("%+v: %q, want it to end %q", tc.st, got, tc.want)
		}
	}
}
