package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"deputy/internal/profile"
	"deputy/internal/setup"
)

func init() {
	register("script", "--kind KIND [flags]", runScript)
}

func runScript(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("script", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		kindName, exchange, account, appID, spID, displayName string
		scopeGroup, scopeFilter, mailboxes, verify, out       string
		profileName, graphRole                                string
		rooms, undo                                           bool
	)
	fs.StringVar(&kindName, "kind", "", "onprem-scoped | onprem-orgwide | onprem-rolegroup | exo-rbac-apps | exo-graph-rbac-apps (exo-classic explains why there is none)")
	fs.StringVar(&profileName, "profile", "", "take the account (or app ID), environment and target list from a saved profile; flags override it")
	fs.StringVar(&exchange, "exchange", "", "on-premises version: 2016 | 2019 | SE (shown in the script's header)")
	fs.StringVar(&account, "account", "", "service account (on-premises): svc@contoso.com or DOMAIN\\user")
	fs.StringVar(&appID, "app-id", "", "Exchange Online: the Entra app's application (client) ID (the profile's client ID)")
	fs.StringVar(&spID, "sp-object-id", "", "Exchange Online: the service principal's object ID, from Entra ID > Enterprise applications > the app (not App registrations)")
	fs.StringVar(&displayName, "display-name", "", "Exchange Online: display name for the service principal (default \"EWS app <app ID>\", or \"Graph app <app ID>\")")
	fs.StringVar(&graphRole, "graph-role", "", "exo-graph-rbac-apps: the Graph calendar permission to assign: Calendars.ReadWrite (default) | Calendars.Read | Calendars.ReadBasic")
	fs.StringVar(&scopeGroup, "scope-group", "", "limit to the direct members of this group (name or DN); with --mailboxes, the group to create")
	fs.StringVar(&scopeFilter, "scope-filter", "", "limit with an OPATH recipient filter, e.g. \"Department -eq 'Sales'\"")
	fs.StringVar(&mailboxes, "mailboxes", "", "limit to a listed set: a `FILE` with one address per line or a CSV export (- for stdin); they go into --scope-group (default \""+setup.DefaultTargetGroup+"\")")
	fs.StringVar(&verify, "verify-mailbox", "", "a mailbox the script's verification section tests")
	fs.BoolVar(&rooms, "rooms", false, "room mailboxes are targets too (adds a note on scoping rooms)")
	fs.BoolVar(&undo, "undo", false, "write the removal script instead")
	fs.StringVar(&out, "out", "", "write the script to `FILE` (UTF-8 with BOM, CRLF; default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: deputy-cli script --kind KIND [flags]\n\nWrites the PowerShell that gives the service account (or app) impersonation rights,\nor with --undo removes them. Run the result once with -WhatIf first.\nExit: 0 written, 2 usage or input error.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "deputy-cli script: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}

	in := setup.Input{Exchange: exchange, Rooms: rooms}
	var envFromProfile, protocolFromProfile string
	var profileMailboxes []string
	if profileName != "" {
		p, err := loadScriptProfile(e, profileName)
		if err != nil {
			fmt.Fprintf(e.stderr, "deputy-cli script: %v\n", err)
			return exitUsage
		}
		in.Account, in.AppID = p.account, p.appID
		in.Rooms = in.Rooms || p.rooms
		envFromProfile, protocolFromProfile = p.environment, p.protocol
		profileMailboxes = p.mailboxes
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["account"] {
		in.Account = account
	}
	if set["app-id"] {
		in.AppID = appID
	}
	in.SPObjectID, in.DisplayName = spID, displayName
	in.ScopeGroup, in.ScopeFilter, in.VerifyMailbox = scopeGroup, scopeFilter, verify
	if set["graph-role"] {
		in.GraphRole = graphRole
		if strings.TrimSpace(graphRole) == "" {
			fmt.Fprintf(e.stderr, "deputy-cli script: --graph-role is empty (want %s)\n", strings.Join(setup.GraphRoles, ", "))
			return exitUsage
		}
	}

	if kindName == "" {
		switch {
		case envFromProfile == "exo" && (protocolFromProfile == "graph" || set["graph-role"]):
			kindName = string(setup.EXOGraphRBACApps)
		case envFromProfile == "exo":
			kindName = string(setup.EXORBACApps)
			if protocolFromProfile == "both" {
				fmt.Fprintln(e.stderr, "This profile checks EWS and Graph: this is the EWS script. For Graph, run again with --kind exo-graph-rbac-apps.")
			}
		default:
			// On-premises the choice (scoped, org-wide, role group) is the admin's to make.
			fmt.Fprintln(e.stderr, "deputy-cli script: --kind is required (onprem-scoped, onprem-orgwide, onprem-rolegroup, exo-rbac-apps or exo-graph-rbac-apps)")
			return exitUsage
		}
	}
	kind, err := setup.ParseKind(kindName)
	if err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli script: %v\n", err)
		return exitUsage
	}
	// A profile is either on-premises or Exchange Online; keep only what the kind uses.
	if kind == setup.EXORBACApps || kind == setup.EXOGraphRBACApps {
		in.Account = ""
	} else if !set["app-id"] {
		in.AppID = ""
	}

	if mailboxes != "" {
		list, code := readScriptMailboxes(e, mailboxes)
		if code != exitOK {
			return code
		}
		in.Members = list
	} else if kind == setup.OnPremScoped && !undo && len(profileMailboxes) > 0 && in.ScopeGroup == "" && in.ScopeFilter == "" {
		// Scoped, but no scope given: the profile's target list is the listed set. Say so:
		// a test list is often a sample of what the application needs.
		in.Members = profileMailboxes
		fmt.Fprintf(e.stderr, "Scope: the profile's %d target mailboxes, put into the group %q. If the application needs more mailboxes, use --scope-group or --scope-filter.\n",
			len(profileMailboxes), setup.DefaultTargetGroup)
	}
	if in.VerifyMailbox == "" && len(profileMailboxes) > 0 && !undo {
		in.VerifyMailbox = profileMailboxes[0]
	}

	s, err := setup.Generate(kind, in, undo)
	if err != nil {
		var re *setup.RetiredError
		if errors.As(err, &re) {
			fmt.Fprintln(e.stderr, re.Explanation)
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "deputy-cli script: %v\n", err)
		return exitUsage
	}
	if out == "" || out == "-" {
		io.WriteString(e.stdout, s.Text)
		return exitOK
	}
	if err := scriptWriteFile(out, s.Bytes()); err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli script: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "Wrote %s (%s). Run it once with -WhatIf first.\n", out, s.Title)
	return exitOK
}

func readScriptMailboxes(e *env, path string) ([]string, int) {
	var r io.Reader
	if path == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "deputy-cli script: mailbox list: %v\n", err)
			return nil, exitUsage
		}
		defer f.Close()
		r = f
	}
	imp, err := profile.ParseMailboxList(r)
	if err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli script: mailbox list %s: %v\n", path, err)
		return nil, exitUsage
	}
	for _, rj := range imp.Rejected {
		fmt.Fprintf(e.stderr, "deputy-cli script: %s line %d skipped: %s\n", path, rj.Line, rj.Reason)
	}
	if len(imp.Addresses) == 0 {
		fmt.Fprintf(e.stderr, "deputy-cli script: mailbox list %s holds no addresses\n", path)
		return nil, exitUsage
	}
	return imp.Addresses, exitOK
}

// scriptWriteFile writes via a temporary file in the same directory and a rename, so an
// interrupted write never leaves half a script (or half a report) behind.
func scriptWriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// scriptProfile is what the script command takes from a saved profile.
type scriptProfile struct {
	account, appID, environment, protocol string
	mailboxes                             []string
	rooms                                 bool
}

// loadScriptProfile reads a saved profile (the window's store, or DEPUTY_CONFIG_DIR).
// Exchange Online profiles carry the app (client) ID but never the service principal's
// object ID: that one comes from --sp-object-id.
func loadScriptProfile(e *env, name string) (scriptProfile, error) {
	store, err := openProfiles(e)
	if err != nil {
		return scriptProfile{}, fmt.Errorf("--profile: %w", err)
	}
	p, err := store.Get(strings.TrimSpace(name))
	if err != nil {
		return scriptProfile{}, fmt.Errorf("--profile: %w", err)
	}
	sp := scriptProfile{environment: p.Environment, protocol: p.Protocol, appID: p.ClientID, mailboxes: p.Mailboxes, rooms: p.CheckRooms}
	if p.Environment != "exo" {
		sp.account = p.User
	}
	return sp, nil
}
