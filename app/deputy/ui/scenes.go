package ui

import (
	"fmt"
	"strings"

	"deputy/internal/result"
)

// Scenes are the states `make screenshots` shows, driven by DEPUTY_SCREENSHOT_SCENE.
var Scenes = []string{"welcome", "profile", "diagnosis", "setup", "export", "unsaved"}

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
	default:
		return fmt.Errorf("unknown scene %q (known: %s)", name, strings.Join(Scenes, ", "))
	}
	return nil
}
