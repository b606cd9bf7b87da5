package exchangesim

import "fmt"

// Demo identity. The company, domain and people are fictitious (.test is reserved, RFC 2606).
const (
	DemoDomain   = "fabrikam.test"
	DemoNetBIOS  = "FABRIKAM"
	DemoUser     = "svc-deputy@" + DemoDomain
	DemoPassword = "Demo-Only-Pa55word!"
)

// Demo returns the built-in scenario of the fictitious company Fabrikam (fabrikam.test).
//
// mailboxes <= 0: about 40 target mailboxes covering every diagnosis class. The service
// account svc-deputy@fabrikam.test has a mailbox and an ApplicationImpersonation right
// scoped to everybody except department "Executive" (a management scope with
// RecipientFilter "Department -ne 'Executive'"), so the executives are
// impersonation-denied. Two more accounts exist for tests of the other set-ups:
// svc-nomailbox@ (right to all, no mailbox) and svc-noright@ (mailbox, no right); they
// share the demo password. Three room lists; the executive rooms are out of scope.
//
// mailboxes > 0: exactly that many healthy target mailboxes (user00001@… upward) plus
// the rooms, for benchmarks; set ThrottleOncePercent on the result to throttle some once.
func Demo(mailboxes int) *Scenario {
	sc := &Scenario{
		Name:    "demo",
		Domain:  DemoDomain,
		NetBIOS: DemoNetBIOS,
		Host:    "mail." + DemoDomain,
		Accounts: []Account{
			{User: DemoUser, Sam: "svc-deputy", Password: DemoPassword, Mailbox: true,
				Impersonation: Impersonation{Mode: ModeScope, ExcludeDepartments: []string{"Executive"},
					ScopeName: "Deputy-NotExecutive", ScopeFilter: "Department -ne 'Executive'"}},
			{User: "svc-nomailbox@" + DemoDomain, Sam: "svc-nomailbox", Password: DemoPassword, Mailbox: false,
				Impersonation: Impersonation{Mode: ModeAll}},
			{User: "svc-noright@" + DemoDomain, Sam: "svc-noright", Password: DemoPassword, Mailbox: true,
				Impersonation: Impersonation{Mode: ModeNone}},
		},
	}
	addr := func(local string) string { return local + "@" + DemoDomain }
	sc.Mailboxes = append(sc.Mailboxes,
		Mailbox{Address: DemoUser, Name: "Deputy Service", Department: "IT"},
		Mailbox{Address: addr("svc-noright"), Name: "Deputy No Right", Department: "IT"},
	)
	if mailboxes > 0 {
		for i := 1; i <= mailboxes; i++ {
			sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: addr(fmt.Sprintf("user%05d", i)),
				Name: fmt.Sprintf("User %05d", i), Department: "Sales"})
		}
	} else {
		people := []struct{ local, name, dept, state string }{
			{"anna.berg", "Anna Berg", "Sales", ""},
			{"ben.carter", "Ben Carter", "Sales", ""},
			{"chloe.dubois", "Chloé Dubois", "Sales", ""},
			{"david.ek", "David Ek", "Engineering", ""},
			{"eva.fischer", "Eva Fischer", "Engineering", ""},
			{"farid.ghani", "Farid Ghani", "Engineering", ""},
			{"greta.holm", "Greta Holm", "Engineering", ""},
			{"hugo.iversen", "Hugo Iversen", "Finance", ""},
			{"ines.jansen", "Ines Jansen", "Finance", ""},
			{"jonas.keller", "Jonas Keller", "Finance", ""},
			{"karin.lund", "Karin Lund", "HR", ""},
			{"leo.moreau", "Leo Moreau", "HR", ""},
			{"maria.nilsson", "Maria Nilsson", "Support", ""},
			{"nils.olsen", "Nils Olsen", "Support", ""},
			{"olga.petrova", "Olga Petrova", "Support", ""},
			{"paul.quinn", "Paul Quinn", "Marketing", ""},
			{"rosa.schmidt", "Rosa Schmidt", "Marketing", ""},
			{"sven.thorsen", "Sven Thorsen", "IT", ""},
			{"tara.underwood", "Tara Underwood", "IT", ""},
			{"uma.varga", "Uma Varga", "Legal", ""},
			{"victor.weiss", "Victor Weiss", "Legal", ""},
			{"wendy.xu", "Wendy Xu", "Operations", ""},
			{"yara.zimmer", "Yara Zimmer", "Operations", StateThrottleOnce},
			// impersonation-denied: outside the scope (Department -ne 'Executive')
			{"ceo", "Olivia Chen (CEO)", "Executive", ""},
			{"cfo", "Marcus Rahman (CFO)", "Executive", ""},
			{"coo", "Sofia Alvarez (COO)", "Executive", ""},
			// no-impersonation-right: the right has not reached this mailbox's CAS
			{"branch.manager", "Branch Manager (Oslo)", "Operations", StateCASDenied},
			// mailbox-not-found: misspelt / deleted
			{"jon.smiht", "Jon Smith (misspelt)", "Sales", StateMissing},
			{"former.employee", "Former Employee", "Sales", StateMissing},
			{"audit.archive", "Audit Archive", "Finance", StateAccessDenied},
			{"contractor.kim", "Kim Contractor (no mailbox)", "Engineering", StateNoMailbox},
			{"newsletter", "Newsletter Sender", "Marketing", StateThrottleHard},
			{"moving.user", "Mia Moving", "Sales", StateMoveInProgress},
			{"db3.user", "Dan Database", "Support", StateStoreUnavailable},
			{"forest.partner", "Partner Forest User", "Operations", StateImpersonationFailed},
			{"legacy.2010", "Legacy Mailbox (2010)", "Finance", StateLegacyVersion},
			{"schema.victim", "Sam Schema", "Engineering", StateSchema},
			{"proxy.address", "Proxy-only Address", "Sales", StateInvalidSMTP},
			{"kiosk.web", "Kiosk (behind web proxy)", "Operations", StateHTML},
			{"broken.store", "Bob Broken", "Support", StateInternal},
		}
		for _, p := range people {
			sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: addr(p.local), Name: p.name, Department: p.dept, State: p.state})
		}
	}
	rooms := []struct{ local, name, dept string }{
		{"room.oslo", "Oslo (HQ 1st floor)", "Facilities"},
		{"room.bergen", "Bergen (HQ 2nd floor)", "Facilities"},
		{"room.trondheim", "Trondheim (HQ 3rd floor)", "Facilities"},
		{"room.b2-lab", "Building 2 Lab", "Facilities"},
		{"room.b2-training", "Building 2 Training", "Facilities"},
		{"room.boardroom", "Boardroom", "Executive"},
		{"room.exec-huddle", "Executive Huddle", "Executive"},
	}
	for _, r := range rooms {
		sc.Mailboxes = append(sc.Mailboxes, Mailbox{Address: addr(r.local), Name: r.name, Department: r.dept, Kind: "room"})
	}
	sc.RoomLists = []RoomList{
		{Name: "HQ Rooms", Address: addr("rooms-hq"), Rooms: []string{addr("room.oslo"), addr("room.bergen"), addr("room.trondheim")}},
		{Name: "Building 2 Rooms", Address: addr("rooms-b2"), Rooms: []string{addr("room.b2-lab"), addr("room.b2-training")}},
		{Name: "Executive Suite", Address: addr("rooms-exec"), Rooms: []string{addr("room.boardroom"), addr("room.exec-huddle")}},
	}
	return sc
}
