package impersonation

import (
	"strings"

	"deputy/internal/result"
)

// Migration verdicts (MigrationAddress.Verdict; see result).
const (
	VerdictBothReady = result.VerdictBothReady
	VerdictEWSOnly   = result.VerdictEWSOnly
	VerdictGraphOnly = result.VerdictGraphOnly
	VerdictNeither   = result.VerdictNeither
	VerdictUntested  = result.VerdictUntested
)

// Migrate compares, per address, the EWS and the Graph result of a run that proved both
// protocols. An address one protocol did not check (its class there is empty) is
// untested, not a blocker. Addresses keep the order of first appearance.
func Migrate(mbx []result.Mailbox) *result.Migration {
	mg := &result.Migration{Addresses: []result.MigrationAddress{}}
	pos := map[string]int{}
	seen := map[string]bool{} // address|protocol already taken (a room listed twice)
	for _, m := range mbx {
		k := strings.ToLower(m.Address)
		if m.Protocol != result.EWS && m.Protocol != result.Graph || seen[k+"|"+m.Protocol] {
			continue
		}
		seen[k+"|"+m.Protocol] = true
		i, ok := pos[k]
		if !ok {
			i = len(mg.Addresses)
			pos[k] = i
			mg.Addresses = append(mg.Addresses, result.MigrationAddress{Address: m.Address})
		}
		class := m.Class
		if m.Status == result.Skip {
			class = "" // not checked (cancelled)
		}
		if m.Protocol == result.EWS {
			mg.Addresses[i].EWS = class
		} else {
			mg.Addresses[i].Graph = class
		}
	}
	for i := range mg.Addresses {
		a := &mg.Addresses[i]
		switch e, g := a.EWS == result.OK, a.Graph == result.OK; {
		case a.EWS == "" || a.Graph == "":
			a.Verdict = VerdictUntested
			mg.Untested++
		case e && g:
			a.Verdict = VerdictBothReady
			mg.BothReady++
		case e:
			a.Verdict = VerdictEWSOnly
			mg.EWSOnly++
		case g:
			a.Verdict = VerdictGraphOnly
			mg.GraphOnly++
		default:
			a.Verdict = VerdictNeither
			mg.Neither++
		}
	}
	return mg
}
