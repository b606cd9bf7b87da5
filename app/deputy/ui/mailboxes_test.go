package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"deputy/internal/result"
)

// bigRun builds n mailbox results with a realistic mix: most pass, some are outside the
// impersonation scope, a few not found, some throttled (warn), a few skipped.
func bigRun(n int) []result.Mailbox {
	rows := make([]result.Mailbox, n)
	for i := range rows {
		m := result.Mailbox{
			Address: fmt.Sprintf("user%05d@contoso.com", (i*7919)%n), Kind: result.KindUser,
			Status: result.Pass, Class: result.OK, Read: result.Pass, Write: result.Skip,
			LatencyMs: int64(20 + (i*37)%900), Attempts: 1,
		}
		switch {
		case i%10 == 3:
			m.Status, m.Class, m.Code = result.Fail, result.ImpersonationDenied, "ErrorImpersonationDenied"
			m.Message = "The account does not have permission to impersonate the requested user."
		case i%50 == 7:
			m.Status, m.Class, m.Code = result.Fail, result.MailboxNotFound, "ErrorNonExistentMailbox"
		case i%25 == 11:
			m.Status, m.Class, m.Code, m.Attempts = result.Warn, result.Throttled, "ErrorServerBusy", 3
		case i%100 == 99:
			m.Status, m.Class, m.Attempts, m.LatencyMs = result.Skip, result.Other, 0, 0
		}
		rows[i] = m
	}
	return rows
}

func visible(m *MailboxModel) []result.Mailbox {
	out := make([]result.Mailbox, m.Len())
	for i := range out {
		out[i], _ = m.Row(i)
	}
	return out
}

func TestMailboxModelFilter(t *testing.T) {
	rows := bigRun(10000)
	count := func(pred func(result.Mailbox) bool) int {
		n := 0
		for _, r := range rows {
			if pred(r) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name   string
		filter Filter
		want   func(result.Mailbox) bool
	}{
		{"everything", Filter{}, func(result.Mailbox) bool { return true }},
		{"failed", Filter{Status: result.Fail}, func(r result.Mailbox) bool { return r.Status == result.Fail }},
		{"class", Filter{Class: result.MailboxNotFound}, func(r result.Mailbox) bool { return r.Class == result.MailboxNotFound }},
		{"status and class", Filter{Status: result.Fail, Class: result.ImpersonationDenied},
			func(r result.Mailbox) bool { return r.Class == result.ImpersonationDenied }},
		{"search address, any case", Filter{Search: "USER0012"}, func(r result.Mailbox) bool { return strings.Contains(r.Address, "user0012") }},
		{"search code", Filter{Search: "serverbusy"}, func(r result.Mailbox) bool { return r.Code == "ErrorServerBusy" }},
		{"search message", Filter{Search: "permission to impersonate"}, func(r result.Mailbox) bool { return r.Class == result.ImpersonationDenied }},
		{"no match", Filter{Status: result.Pass, Class: result.Throttled}, func(result.Mailbox) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMailboxModel()
			m.Set(rows)
			m.SetFilter(tt.filter)
			want := count(tt.want)
			if m.Len() != want {
				t.Fatalf("Len = %d, want %d", m.Len(), want)
			}
			for _, r := range visible(m) {
				if !tt.want(r) {
					t.Fatalf("row %+v does not match %+v", r, tt.filter)
				}
			}
			if m.Total() != len(rows) {
				t.Errorf("Total = %d, want %d", m.Total(), len(rows))
			}
		})
	}
}

func TestMailboxModelSort(t *testing.T) {
	rows := bigRun(10000)
	tests := []struct {
		col  Column
		desc bool
		less func(a, b result.Mailbox) bool // a must not come after b
	}{
		{ColStatus, true, func(a, b result.Mailbox) bool { return a.Status.Rank() >= b.Status.Rank() }},
		{ColStatus, false, func(a, b result.Mailbox) bool { return a.Status.Rank() <= b.Status.Rank() }},
		{ColAddress, false, func(a, b result.Mailbox) bool { return a.Address <= b.Address }},
		{ColAddress, true, func(a, b result.Mailbox) bool { return a.Address >= b.Address }},
		{ColLatency, true, func(a, b result.Mailbox) bool { return a.LatencyMs >= b.LatencyMs }},
		{ColAttempts, false, func(a, b result.Mailbox) bool { return a.Attempts <= b.Attempts }},
		{ColCode, false, func(a, b result.Mailbox) bool { return a.Code <= b.Code }},
		{ColClass, false, func(a, b result.Mailbox) bool {
			return slices.Index(result.Classes, a.Class) <= slices.Index(result.Classes, b.Class)
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s desc=%v", tt.col.Title(), tt.desc), func(t *testing.T) {
			m := NewMailboxModel()
			m.Set(rows)
			m.SetSort(tt.col, tt.desc)
			v := visible(m)
			if len(v) != len(rows) {
				t.Fatalf("sorting lost rows: %d of %d", len(v), len(rows))
			}
			for i := 1; i < len(v); i++ {
				if !tt.less(v[i-1], v[i]) {
					t.Fatalf("rows %d and %d out of order: %+v then %+v", i-1, i, v[i-1], v[i])
				}
			}
		})
	}
}

func TestMailboxModelToggleAndAppend(t *testing.T) {
	m := NewMailboxModel()
	m.ToggleSort(ColAddress)
	if c, desc := m.Sort(); c != ColAddress || desc {
		t.Fatalf("first toggle on Mailbox: %v desc=%v, want ascending", c, desc)
	}
	m.ToggleSort(ColAddress)
	if _, desc := m.Sort(); !desc {
		t.Fatal("second toggle should flip to descending")
	}
	m.SetFilter(Filter{Status: result.Fail})
	m.Append(result.Mailbox{Address: "a@x.com", Status: result.Pass}, result.Mailbox{Address: "b@x.com", Status: result.Fail})
	if m.Len() != 1 || m.Total() != 2 {
		t.Fatalf("after append with a fail filter: Len %d Total %d, want 1 and 2", m.Len(), m.Total())
	}
	if m.Index("B@X.COM") != 0 || m.Index("a@x.com") != -1 {
		t.Fatal("Index should find visible rows case-insensitively and only those")
	}
	if _, ok := m.Row(5); ok {
		t.Fatal("Row past the end must report false")
	}
}

func BenchmarkMailboxModelLoad10k(b *testing.B) {
	rows := bigRun(10000)
	for b.Loop() {
		m := NewMailboxModel()
		m.Set(rows)
		m.SetFilter(Filter{Search: "user00"})
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/load")
}
