package graphsim

import (
	"fmt"
	"strings"
	"time"

	"deputy/internal/exchangesim"
	"deputy/internal/exchangesim/entra"
)

// PrepareEXODemo gives the exo-demo scenario (exchangesim.EXODemo) its Microsoft Graph
// side before it is started: the demo app gets Place.Read.All consented for Graph (its
// calendar access comes from RBAC for Applications only, the recommended scoped set-up),
// and four mailboxes that EWS reaches today but Graph will not — the migration blockers a
// real tenant has: one outside the Graph scope (Marketing), one kept out by a legacy
// Application Access Policy (Legal), two still on-premises in the hybrid (Operations).
// Call it once, before exchangesim.StartEXO.
func PrepareEXODemo(x *exchangesim.EXOScenario) {
	d := x.Domain
	x.Mailboxes = append(x.Mailboxes,
		exchangesim.Mailbox{Address: "mia.wong@" + d, Name: "Mia Wong", Department: DeptOutOfScope},
		exchangesim.Mailbox{Address: "luca.rossi@" + d, Name: "Luca Rossi", Department: DeptPolicyDeny},
		exchangesim.Mailbox{Address: "oslo.frontdesk@" + d, Name: "Oslo Front Desk (on-premises)", Department: DeptOnPrem},
		exchangesim.Mailbox{Address: "tom.hall@" + d, Name: "Tom Hall (on-premises)", Department: DeptOnPrem},
	)
	for ti := range x.EXO.Entra.Tenants {
		apps := x.EXO.Entra.Tenants[ti].Apps
		for ai := range apps {
			if !strings.EqualFold(apps[ai].ClientID, x.ClientID) {
				continue
			}
			roles := map[string][]string{}
			for k, v := range apps[ai].AppRoles {
				roles[k] = v
			}
			roles[entra.ResourceGraph] = append(roles[entra.ResourceGraph], RolePlaces)
			apps[ai].AppRoles = roles
		}
	}
}

// MountEXO serves the Graph view of a running Exchange Online simulator (FromScenario of
// its scenario, for its demo app) on the same origin, verifying tokens with its Entra ID.
func MountEXO(srv *exchangesim.EXOServer, latency time.Duration) (*Sim, error) {
	cfg := FromScenario(srv.X.Scenario, srv.X.ClientID)
	cfg.Key, cfg.Tenant, cfg.Latency = srv.Entra.PublicKey(), srv.Tenant, latency
	sim, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("graphsim: %w", err)
	}
	sim.Mount(srv.Mux())
	return sim, nil
}
