package graphsim

import (
	"strings"

	"deputy/internal/exchangesim"
)

// Demo departments and their Graph story (see FromScenario).
const (
	DeptOnPrem      = "Operations" // mailboxes still on-premises in the hybrid
	DeptOutOfScope  = "Marketing"  // outside the app's RBAC for Applications scope
	DeptPolicyDeny  = "Legal"      // kept out by a legacy Application Access Policy (DenyAccess)
	DemoGraphScope  = "Graph-Calendar-App-Scope"
	DemoPolicyGroup = "Graph-Deny-Legal"
)

// FromScenario derives a realistic Graph view of an exchangesim scenario, for the demo's
// migration table. The app clientID gets the RBAC for Applications role
// "Application Calendars.ReadWrite" scoped to every mailbox except department Marketing
// (so those are EWS-only: a migration blocker), a legacy Application Access Policy
// (DenyAccess) keeps it out of department Legal ([RAOP]), the Executive department — often
// outside an EWS scope — is inside the Graph scope (Graph-only), department Operations is
// still on-premises in the hybrid (MailboxNotEnabledForRESTAPI), mailboxes EWS cannot find
// do not exist for Graph either, mailboxes without a mailbox have no Exchange Online
// licence, and throttle-once mailboxes are throttled once by Graph too. Everything else is
// ready. With no mailbox in those departments (the benchmark's user00001… set) every
// mailbox is ready. The caller sets Key (and Latency, Budget) before New.
func FromScenario(sc *exchangesim.Scenario, clientID string) Config {
	cfg := Config{}
	app := App{ClientID: clientID, RBACRole: RBACReadWrite}
	var deny []string
	for _, m := range sc.Mailboxes {
		if m.State == exchangesim.StateMissing || m.State == exchangesim.StateInvalidSMTP {
			continue // unknown to the directory: 404 ErrorInvalidUser
		}
		g := Mailbox{Address: m.Address, Name: m.Name, Kind: m.Kind, Hidden: m.Hidden}
		if g.Kind == "" {
			g.Kind = "user"
		}
		switch {
		case m.State == exchangesim.StateNoMailbox:
			g.State = StateNoLicence
		case m.State == exchangesim.StateThrottleOnce:
			g.State = StateThrottleOnce
		case strings.EqualFold(m.Department, DeptOnPrem):
			g.State = StateOnPrem
		}
		if !strings.EqualFold(m.Department, DeptOutOfScope) {
			app.RBACScope = append(app.RBACScope, m.Address)
		}
		if strings.EqualFold(m.Department, DeptPolicyDeny) {
			deny = append(deny, m.Address)
		}
		cfg.Mailboxes = append(cfg.Mailboxes, g)
	}
	if len(deny) > 0 {
		app.AccessPolicy = &AccessPolicy{AccessRight: "DenyAccess", Mailboxes: deny}
	}
	cfg.Apps = []App{app}
	return cfg
}
