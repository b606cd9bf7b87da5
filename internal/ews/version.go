package ews

import (
	"fmt"
	"sync"
)

// DefaultVersion is the RequestServerVersion Deputy starts with: the EWS Managed API's
// default, understood by Exchange 2013 and every later server including Exchange Online.
const DefaultVersion = "Exchange2013_SP1"

// ladder is the order in which RequestServerVersion steps down on version errors. It stops
// at Exchange2010: the ExchangeImpersonation/SmtpAddress header needs the 2010 schema.
var ladder = []string{"Exchange2013_SP1", "Exchange2013", "Exchange2010_SP2", "Exchange2010_SP1", "Exchange2010"}

// knownVersions is ExchangeVersionType of types.xsd (what the schema lets us send).
var knownVersions = map[string]bool{
	"Exchange2007": true, "Exchange2007_SP1": true, "Exchange2009": true, "Exchange2010": true,
	"Exchange2010_SP1": true, "Exchange2010_SP2": true, "Exchange2012": true, "Exchange2013": true,
	"Exchange2013_SP1": true, "Exchange2015": true, "Exchange2016": true, "V2015_10_05": true,
	"V2016_01_06": true, "V2016_04_13": true, "V2016_07_13": true, "V2016_10_10": true,
	"V2017_01_07": true, "V2017_04_14": true, "V2017_07_11": true, "V2017_10_09": true, "V2018_01_08": true,
}

// ValidVersion reports whether s is a RequestServerVersion value of the EWS schema.
func ValidVersion(s string) bool { return knownVersions[s] }

// Version is the RequestServerVersion shared by every worker of one diagnosis: when one
// request learns that the server wants an older schema, all later requests use it.
// It is safe for concurrent use.
type Version struct {
	mu  sync.Mutex
	cur string
}

// NewVersion starts at start ("" = DefaultVersion). A value outside the schema's
// ExchangeVersionType would only earn ErrorSchemaValidation, so it falls back to the
// default too; callers that take the value from a user should check ValidVersion first.
func NewVersion(start string) *Version {
	if !knownVersions[start] {
		start = DefaultVersion
	}
	return &Version{cur: start}
}

// Get returns the version to send now.
func (v *Version) Get() string {
	if v == nil {
		return DefaultVersion
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cur
}

// StepDown is called after the server rejected version from. It returns true when a
// retry is worth it: either it stepped one rung down the ladder, or another worker had
// already moved below from. It returns false at the floor (Exchange2010) — then the
// server's answer stands. Values above the ladder (Exchange2016, V2017_…) step to its top;
// values below the floor (Exchange2007…) cannot step.
func (v *Version) StepDown(from string) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cur != from {
		// Someone else already changed it; retry only if that moved us lower.
		return rank(v.cur) < rank(from)
	}
	next, ok := nextRung(from)
	if ok {
		v.cur = next
	}
	return ok
}

// nextRung is the version below from on the ladder.
func nextRung(from string) (string, bool) {
	i := indexOf(from)
	switch {
	case i < 0 && rank(from) > rank(ladder[0]):
		return ladder[0], true
	case i < 0 || i == len(ladder)-1:
		return "", false
	}
	return ladder[i+1], true
}

func indexOf(s string) int {
	for i, l := range ladder {
		if l == s {
			return i
		}
	}
	return -1
}

// rank orders versions from old to new (0 = unknown).
func rank(s string) int {
	order := []string{"Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
		"Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016",
		"V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10", "V2017_01_07",
		"V2017_04_14", "V2017_07_11", "V2017_10_09", "V2018_01_08"}
	for i, o := range order {
		if o == s {
			return i + 1
		}
	}
	return 0
}

// ServerVersion is the s:Header/ServerVersionInfo of the last reply that carried one.
type ServerVersion struct {
	Major, Minor, Build, Revision int
	Version                       string // schema version the server speaks, e.g. V2017_07_11
}

// IsZero reports whether no ServerVersionInfo has been seen.
func (s ServerVersion) IsZero() bool { return s == ServerVersion{} }

// String is e.g. "15.2.1544.4 (V2017_07_11)"; "" when unknown.
func (s ServerVersion) String() string {
	if s.IsZero() {
		return ""
	}
	n := fmt.Sprintf("%d.%d.%d.%d", s.Major, s.Minor, s.Build, s.Revision)
	if s.Version != "" {
		n += " (" + s.Version + ")"
	}
	return n
}
