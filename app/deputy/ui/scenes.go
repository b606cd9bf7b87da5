package ui

import (
	"fmt"
	"log/slog"
	"strings"

	"deputy/internal/exchangesim"
	graphsim "deputy/internal/exchangesim/graph"
	"deputy/internal/impersonation"
	"deputy/internal/result"
)

// Scenes are the states `make screenshots` shows, driven by DEPUTY_SCREENSHOT_SCENE.
var Scenes = []string{"welcome", "profile", "diagnosis", "setup", "export", "unsaved", "migration"}

// sampleCSV is what an admin's Get-Mailbox | Export-Csv looks like, with the usual
// mistakes (a distribution list without an address, a typo) to show rejected lines.
const sampleCSV = `#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox
"DisplayName","PrimarySmtpAddress","RecipientTypeDetails"
"Anna Berg","anna.berg@contoso.com","UserMailbox"
"Ben Carter","ben.carter@contoso.com","UserMailbox"
"Chloé Dubois","chloe.dubois@contoso.com","UserMailbox"
"David Ek","david.ek@contoso.com","UserMailbox"
"Eva Fischer","eva.fischer@contoso.com","UserMailbox"
"Recruiting Team","","MailUniversalDistributionGroup"
"Farid Ghani","farid.ghani@contoso","UserMailbox"
"Greta Holm","greta.holm@contoso.com","UserMailbox"
"Hugo Iversen","hugo iversen@contoso.com","UserMailbox"
"Ines Jansen","ines.jansen@contoso.com","UserMailbox"
"Anna Berg (dup)","ANNA.BERG@contoso.com","UserMailbox"
`

// PlayScene drives the window to a screenshot scene; ready is called once it is on
// screen (for "diagnosis", when the demo run has finished).
func (u *Window) PlayScene(name string, ready func()) error {
	switch name {
	case "", "welcome":
		ready()
	case "profile", "setup":
		u.NewProfile()
		f := u.form
		f.name.SetText("Interview scheduling")
		f.env.SetSelected(labelFor(environments, result.OnPrem))
		f.url.SetText("https://mail.contoso.com/EWS/Exchange.asmx")
		f.auth.SetSelected(labelFor(authModes, AuthNTLM))
		f.user.SetText(`CONTOSO\svc-interviews`)
		f.password.SetText("Scene-Only-Password-1")
		f.svcMailbox.SetText("svc-interviews@contoso.com")
		f.pin.SetText("")
		f.concurrency.SetText("10")
		f.writeTest.SetChecked(true)
		f.checkRooms.SetChecked(true)
		f.rooms.SetText("room.oslo@contoso.com\nroom.bergen@contoso.com")
		u.ImportFrom(strings.NewReader(sampleCSV), "mailboxes.csv")
		if !u.Save() {
			return fmt.Errorf("scene profile: not saved: %s", f.Status())
		}
		if name == "setup" {
			u.ShowSetup()
			u.setup.version.SetSelected(labelFor(setupVersions, "2019"))
		}
		ready()
	case "export": // the save dialog over a finished demo diagnosis
		u.OnRunFinished = func() {
			u.OnRunFinished = nil
			u.export()
			ready()
		}
		u.TryDemo()
	case "unsaved": // the prompt when switching away from unsaved edits
		if err := u.PlayScene("profile", func() {}); err != nil {
			return err
		}
		u.form.name.SetText("Interview scheduling (EU)")
		u.form.edited(FieldName)
		u.Guard(u.NewProfile)
		ready()
	case "diagnosis":
		u.OnRunFinished = func() {
			u.OnRunFinished = nil
			d := u.diag
			if i := d.Model.Index("ceo@fabrikam.test"); i >= 0 {
				d.SelectMailbox(i)
			} else if d.Model.Len() > 0 {
				d.SelectMailbox(0)
			}
			ready()
		}
		u.TryDemo()
	case "migration": // Exchange Online, EWS and Microsoft Graph side by side, a blocker open
		return u.playMigration(ready)
	default:
		return fmt.Errorf("unknown scene %q (known: %s)", name, strings.Join(Scenes, ", "))
	}
	return nil
}

// playMigration starts the simulated Exchange Online with Microsoft Graph (the CLI's
// `demo --scenario exo-demo --protocol both`), fills an app-only profile for it as an
// admin would, runs it and opens a migration blocker: a mailbox EWS reaches and Graph
// does not. ready is not called when the run brings no migration view, so
// screenshots.sh fails with this log instead of capturing a broken state.
func (u *Window) playMigration(ready func()) error {
	x, err := exchangesim.EXODemo()
	if err != nil {
		return fmt.Errorf("scene migration: %w", err)
	}
	graphsim.PrepareEXODemo(x)
	srv, err := exchangesim.StartEXO(x, exchangesim.Options{})
	if err != nil {
		return fmt.Errorf("scene migration: starting the simulator: %w", err)
	}
	// Closed with the window, as "Try the demo"'s server is (shutdown). Nothing else
	// reads u.demo here: the scene's profile is no Demo profile and the welcome view,
	// whose button would reuse it, is gone once the profile is saved.
	if u.demo != nil && u.demo.Close != nil {
		u.demo.Close()
	}
	u.demo = &DemoServer{URL: srv.URL, SHA256: srv.SHA256, Close: func() { srv.Close() }}
	if _, err := graphsim.MountEXO(srv, 0); err != nil {
		return fmt.Errorf("scene migration: %w", err)
	}
	u.env.OAuth.Authority = srv.Authority // the simulator's Entra ID; Graph on its origin

	u.NewProfile()
	f := u.form
	f.name.SetText("Fabrikam — EWS to Graph")
	f.env.SetSelected(labelFor(environments, result.EXO))
	f.auth.SetSelected(labelFor(authModes, AuthAppSecret))
	f.url.SetText(srv.URL)
	f.oa.tenant.SetText(srv.Tenant)
	f.oa.clientID.SetText(exchangesim.EXODemoAppID)
	f.oa.secret.SetText(exchangesim.EXODemoSecret)
	f.oa.protocol.SetSelected(labelFor(protocols, impersonation.ProtocolBoth))
	f.pin.SetText(srv.SHA256)
	f.mailboxes.SetText(strings.Join(x.Targets(), "\n"))
	f.rooms.SetText(strings.Join(x.Rooms(), "\n"))
	f.checkRooms.SetChecked(true)
	f.concurrency.SetText("4")
	if !u.Save() {
		return fmt.Errorf("scene migration: not saved: %s", f.Status())
	}
	u.OnRunFinished = func() {
		u.OnRunFinished = nil
		d := u.diag
		if d.Result == nil || d.Result.Migration == nil {
			slog.Error("scene migration: the run brought no migration view", "verdict", d.VerdictLine())
			return
		}
		// The Graph row of a blocker (mia.wong's when there): its Fix is what to do.
		row := -1
		for i := 0; i < d.Model.Len(); i++ {
			r, _ := d.Model.Row(i)
			if r.Protocol == result.Graph && d.Model.Verdict(r.Address) == impersonation.VerdictEWSOnly && (row < 0 || r.Address == migrationSceneMailbox) {
				row = i
			}
		}
		if row < 0 {
			slog.Error("scene migration: no EWS-only mailbox in the result", "verdict", d.VerdictLine())
			return
		}
		d.SelectMailbox(row)
		ready()
	}
	u.Run()
	return nil
}

// migrationSceneMailbox is the blocker the migration scene opens: inside the EWS scope,
// outside the Graph one (graphsim.DeptOutOfScope).
const migrationSceneMailbox = "mia.wong@" + exchangesim.DemoDomain
