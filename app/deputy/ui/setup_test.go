package ui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"deputy/internal/result"
	"deputy/internal/setup"
)

const (
	testAppID = "11111111-2222-3333-4444-555555555555"
	testSPID  = "66666666-7777-8888-9999-000000000000"
)

func TestSetupViewSituations(t *testing.T) {
	tests := []struct {
		name   string
		sit    Situation
		edit   func(v *SetupView)
		kind   setup.Kind
		want   []string // in the preview
		field  string   // a field that must show an error ("" = none)
		errHas string
		saves  bool
	}{
		{
			name: "on-premises profile with listed mailboxes is scoped to them",
			sit: Situation{Profile: "Interview scheduling", Setup: setup.Situation{Environment: result.OnPrem, Account: `CONTOSO\svc-interviews`},
				Mailboxes: []string{"anna@contoso.com", "ben@contoso.com"}},
			kind:  setup.OnPremScoped,
			want:  []string{`'CONTOSO\svc-interviews'`, "New-ManagementScope", "'anna@contoso.com'", "'" + setup.DefaultTargetGroup + "'"},
			saves: true,
		},
		{
			name: "every mailbox is the org-wide assignment",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com"}},
			kind: setup.OnPremOrgWide, want: []string{"New-ManagementRoleAssignment", "'svc@contoso.com'"}, saves: true,
		},
		{
			name: "a recipient filter",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com", ScopeFilter: "Department -eq 'Sales'"}},
			kind: setup.OnPremScoped, want: []string{"Department -eq ''Sales''"}, saves: true,
		},
		{
			name: "undo writes the removal",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com"}},
			edit: func(v *SetupView) { v.undo.SetChecked(true) },
			kind: setup.OnPremOrgWide, want: []string{"Remove-ManagementRoleAssignment"}, saves: true,
		},
		{
			name: "a hostile account is rejected beside the field",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com"}},
			edit: func(v *SetupView) { v.account.SetText("svc';Remove-Mailbox x;'") },
			kind: setup.OnPremOrgWide, field: SetupFieldAccount, errHas: "service account",
		},
		{
			name: "no account yet",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem}},
			kind: setup.OnPremOrgWide, field: SetupFieldAccount, errHas: "is required",
		},
		{
			name: "a group scope without a group",
			sit:  Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com"}},
			edit: func(v *SetupView) { v.scope.SetSelected(ScopeGroup) },
			kind: setup.OnPremScoped, field: SetupFieldScope, errHas: "scope",
		},
		{
			name: "Exchange Online with a user account gets the explanation, not a script",
			sit:  Situation{Setup: setup.Situation{Environment: result.EXO, Account: "svc@contoso.onmicrosoft.com"}},
			kind: setup.EXOClassic, want: []string{"no longer exists in Exchange Online", "RBAC for Applications"},
		},
		{
			name: "Exchange Online app without the object ID says where to find it",
			sit:  Situation{Setup: setup.Situation{Environment: result.EXO, AppID: testAppID}},
			kind: setup.EXORBACApps, field: SetupFieldSP, errHas: "Enterprise applications",
		},
		{
			name: "Exchange Online app with both IDs",
			sit:  Situation{Setup: setup.Situation{Environment: result.EXO, AppID: testAppID}},
			edit: func(v *SetupView) { v.spID.SetText(testSPID) },
			kind: setup.EXORBACApps, want: []string{"New-ServicePrincipal", "'" + testAppID + "'", "'" + testSPID + "'", "EwsAllowedAppIDs"}, saves: true,
		},
		{
			name: "a Graph-only profile gets the Graph RBAC script with the chosen permission",
			sit:  Situation{Setup: setup.Situation{Environment: result.EXO, AppID: testAppID, Protocol: "graph"}},
			edit: func(v *SetupView) {
				v.spID.SetText(testSPID)
				if !v.graphRole.Visible() {
					t.Error("Graph permission choice hidden for exo-graph-rbac-apps")
				}
				v.role.SetSelected(setup.GraphRoleRead)
			},
			kind: setup.EXOGraphRBACApps, want: []string{"'Application Calendars.Read'", "'" + testAppID + "'"}, saves: true,
		},
	}
	test.NewTempApp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewSetupView()
			w := test.NewTempWindow(t, v.Content())
			w.Resize(fyne.NewSize(1000, 700))
			v.Prefill(tt.sit)
			if tt.edit != nil {
				tt.edit(v)
			}
			if k := v.selectedKind(); k != tt.kind {
				t.Fatalf("kind = %s, want %s", k, tt.kind)
			}
			text := v.PreviewText()
			for _, s := range tt.want {
				if !strings.Contains(text, s) {
					t.Errorf("preview lacks %q:\n%s", s, clip(text, 600))
				}
			}
			for _, f := range []string{SetupFieldAccount, SetupFieldAppID, SetupFieldSP, SetupFieldScope, SetupFieldVersion} {
				got := v.FieldError(f)
				if f == tt.field {
					if !strings.Contains(got, tt.errHas) {
						t.Errorf("error beside %s = %q, want %q", f, got, tt.errHas)
					}
				} else if got != "" {
					t.Errorf("unexpected error beside %s: %q", f, got)
				}
			}
			if (v.Script != nil) != tt.saves || v.saveBtn.Disabled() == tt.saves {
				t.Errorf("script %v, Save disabled %v; want saving %v", v.Script != nil, v.saveBtn.Disabled(), tt.saves)
			}
			if tt.saves {
				if !strings.HasPrefix(v.title.Text, v.Script.Title) {
					t.Errorf("title %q does not name the script %q", v.title.Text, v.Script.Title)
				}
				path := filepath.Join(t.TempDir(), v.Script.FileName)
				if err := SaveScript(path, v.Script); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
					t.Error("saved script has no UTF-8 BOM")
				}
				if n, crlf := bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")); n == 0 || n != crlf {
					t.Errorf("%d of %d line endings are CRLF", crlf, n)
				}
			}
		})
	}
}

func TestSetupVersionSwitchOffersMatchingKinds(t *testing.T) {
	test.NewTempApp(t)
	v := NewSetupView()
	test.NewTempWindow(t, v.Content())
	v.Prefill(Situation{Setup: setup.Situation{Environment: result.OnPrem, Account: "svc@contoso.com"}})
	v.version.SetSelected(labelFor(setupVersions, "2016"))
	if _, in, _ := v.Input(); in.Exchange != "2016" || !strings.Contains(v.PreviewText(), "2016") {
		t.Errorf("Exchange 2016 not in input (%q) or preview", in.Exchange)
	}
	v.version.SetSelected(labelFor(setupVersions, "exo"))
	for _, o := range v.kind.Options {
		if strings.HasPrefix(o, "On-premises") {
			t.Errorf("Exchange Online offers an on-premises kind %q", o)
		}
	}
	if v.onprem.Visible() {
		t.Error("Exchange Online must ask for the app ID, not the account")
	}
	if !strings.Contains(strings.Join(v.kind.Options, "|"), setup.EXOGraphRBACApps.Title()) {
		t.Errorf("Exchange Online does not offer the Graph RBAC script: %q", v.kind.Options)
	}
	if !v.exo.Visible() {
		t.Error("app ID field hidden for Exchange Online")
	}
	v.version.SetSelected(labelFor(setupVersions, "SE"))
	for _, o := range v.kind.Options {
		if strings.HasPrefix(o, "Exchange Online") {
			t.Errorf("on-premises offers %q", o)
		}
	}
	if v.exo.Visible() || !v.onprem.Visible() {
		t.Error("app ID field shown (or account hidden) for on-premises")
	}
}

func TestSetupTabFollowsProfile(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	if !h.u.Save() {
		t.Fatalf("not saved: %s", h.u.form.Status())
	}
	h.u.ShowSetup()
	v := h.u.Setup()
	if v.account.Text != goodValues.User || v.scope.Selected != ScopeListed || v.Script == nil {
		t.Fatalf("not prefilled from the profile: account %q scope %q err %v", v.account.Text, v.scope.Selected, v.Err)
	}
	if !strings.Contains(v.source.Text, goodValues.Name) {
		t.Errorf("source note %q does not name the profile", v.source.Text)
	}
	// The admin's choices on the tab stay while the profile is unchanged.
	v.undo.SetChecked(true)
	h.u.ShowProfile()
	h.u.ShowSetup()
	if !v.undo.Checked {
		t.Error("switching tabs reset the Setup tab")
	}
	// A changed profile fills it again.
	h.u.ShowProfile()
	h.u.form.user.SetText("svc-other@contoso.com")
	h.u.ShowSetup()
	if v.account.Text != "svc-other@contoso.com" || v.undo.Checked {
		t.Errorf("Setup tab not refilled after the profile changed: %q undo %v", v.account.Text, v.undo.Checked)
	}
	if !strings.Contains(v.PreviewText(), "'svc-other@contoso.com'") {
		t.Error("preview does not use the new account")
	}
}

func TestExportIncludesScriptAndOffersOpen(t *testing.T) {
	h := newHarness(t, nil)
	h.u.env.Export = ExportReport
	r := &result.Result{Schema: result.Schema, Verdict: result.Fail,
		Profile: result.Profile{Name: "Interview scheduling", Environment: result.OnPrem, ServiceAccount: "svc-interviews@contoso.com"}}
	h.u.diag.Result = r
	path := filepath.Join(t.TempDir(), "report.html")
	if err := h.u.ExportTo(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := setup.ForResult(r); want == "" || !strings.Contains(string(b), "New-ManagementRoleAssignment") {
		t.Errorf("the report does not carry the setup script (script %d bytes)", len(want))
	}
	h.u.offerOpen("Report exported", path)
	p := h.u.Pending()
	if p == nil || p.Answers[0] != "Open" || !strings.Contains(p.Message, path) {
		t.Fatalf("no Open offer after export: %+v", p)
	}
	p.Choose("Open")
	if h.u.Pending() != nil {
		t.Error("the offer stayed open")
	}
}

func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ in, want string }{
		{filepath.Join(dir, "report.html"), "file://" + filepath.ToSlash(filepath.Join(dir, "report.html"))},
		{filepath.Join(dir, "a b#c.pdf"), "file://" + filepath.ToSlash(dir) + "/a%20b%23c.pdf"},
	}
	for _, tt := range tests {
		if got := FileURL(tt.in).String(); got != tt.want {
			t.Errorf("FileURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSituationOfProfile(t *testing.T) {
	tests := []struct {
		v    FormValues
		kind setup.Kind
		app  string
	}{
		{FormValues{Name: "a", Environment: result.OnPrem, Auth: AuthNTLM, User: `CONTOSO\svc`}, setup.OnPremOrgWide, ""},
		{FormValues{Name: "b", Environment: result.OnPrem, Auth: AuthBasic, User: "svc@contoso.com", Mailboxes: "x@contoso.com"}, setup.OnPremOrgWide, ""},
		{FormValues{Name: "c", Environment: result.EXO, Auth: AuthBasic, User: "svc@contoso.onmicrosoft.com"}, setup.EXOClassic, ""},
		{FormValues{Name: "d", Environment: result.EXO, Auth: AuthAppSecret, ClientID: " " + testAppID + " "}, setup.EXORBACApps, testAppID},
		{FormValues{Name: "e", Environment: result.EXO, Auth: AuthAppCert, ClientID: testAppID, Protocol: "graph"}, setup.EXOGraphRBACApps, testAppID},
		{FormValues{Name: "f", Environment: result.EXO, Auth: AuthAppCert, ClientID: testAppID, Protocol: "both"}, setup.EXORBACApps, testAppID},
	}
	for _, tt := range tests {
		s := situationOf(tt.v)
		if k := setup.KindFor(s.Setup); k != tt.kind || s.Setup.AppID != tt.app {
			t.Errorf("%s: kind %s app %q, want %s %q", tt.v.Name, k, s.Setup.AppID, tt.kind, tt.app)
		}
		if got := len(s.Mailboxes); got != len(ParseList(tt.v.Mailboxes).Addresses) {
			t.Errorf("%s: %d mailboxes", tt.v.Name, got)
		}
	}
}

// TestSetupCopy: Copy puts exactly the script on screen on the clipboard, as the admin
// will paste it into PowerShell, and says so.
func TestSetupCopy(t *testing.T) {
	h := newHarness(t, nil)
	h.u.NewProfile()
	fill(h.u.form, goodValues)
	if !h.u.Save() {
		t.Fatalf("not saved: %s", h.u.form.Status())
	}
	h.u.ShowSetup()
	v := h.u.Setup()
	clip := fyne.CurrentApp().Clipboard()
	clip.SetContent("")
	test.Tap(v.copyBtn)
	got := clip.Content()
	if got == "" || got != v.PreviewText() {
		t.Fatalf("clipboard holds %d chars, the preview %d", len(got), len(v.PreviewText()))
	}
	if !strings.Contains(got, "New-ManagementRoleAssignment") || !strings.Contains(got, goodValues.User) {
		t.Errorf("the copied script is not this profile's:\n%s", got)
	}
	if v.status.Text != "Copied to the clipboard." {
		t.Errorf("status %q", v.status.Text)
	}
}
