package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"deputy/internal/profile"
	"deputy/internal/secret"
)

func init() {
	register("profile", "add|edit|delete|list|show|import ... (saved profiles; 'profile help' for details)", runProfile)
}

const profileUsage = `usage:
  deputy-cli profile add NAME --environment onprem|exo --url URL --auth basic|ntlm --user USER
             [--password-stdin] [--service-mailbox ADDR] [--mailboxes FILE] [--rooms FILE]
             [--pin-sha256 HEX] [--ca-file PEM] [--concurrency N] [--write-test] [--check-rooms]
  deputy-cli profile edit NAME [the same flags] [--name NEW] [--forget-password]
  deputy-cli profile delete NAME [--keep-secrets]
  deputy-cli profile list [--json]
  deputy-cli profile show NAME [--json]
  deputy-cli profile import FILE [--name NAME]     (a profile JSON without secrets; - for stdin)

Profiles are JSON files in the Deputy folder of the user's configuration directory
(DEPUTY_CONFIG_DIR overrides it); passwords go only to the OS keychain. The password is
read from the first line of stdin with --password-stdin, else from $DEPUTY_PASSWORD;
deputy-cli never prompts for it.
Exit: 0 done, 1 failed (keychain, disk), 2 usage or input error.`

// openProfiles opens the profile store the window also uses, or DEPUTY_CONFIG_DIR.
func openProfiles(e *env) (*profile.Store, error) {
	dir := e.getenv("DEPUTY_CONFIG_DIR")
	if dir == "" {
		var err error
		if dir, err = profile.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return profile.Open(dir)
}

func runProfile(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, profileUsage)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add":
		return profileAddEdit(ctx, e, rest, false)
	case "edit":
		return profileAddEdit(ctx, e, rest, true)
	case "delete", "remove", "rm":
		return profileDelete(ctx, e, rest)
	case "list", "ls":
		return profileList(e, rest)
	case "show":
		return profileShow(ctx, e, rest)
	case "import":
		return profileImport(e, rest)
	case "help", "-h", "--help":
		fmt.Fprintln(e.stdout, profileUsage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "deputy-cli profile: unknown subcommand %q\n\n%s\n", sub, profileUsage)
	return exitUsage
}

func profErr(e *env, code int, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "deputy-cli profile: "+format+"\n", args...)
	return code
}

// profParseWithName parses "NAME [flags]" or "[flags] NAME": the flag package stops at the
// first non-flag, and admins write the name first.
func profParseWithName(e *env, fs *flag.FlagSet, args []string, what string) (string, int) {
	var name string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", exitOK
		}
		return "", exitUsage
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", profErr(e, exitUsage, "unexpected argument %q (quote a NAME with spaces)", rest[0])
	}
	if strings.TrimSpace(name) == "" {
		return "", profErr(e, exitUsage, "%s needs a profile NAME", what)
	}
	return name, -1
}

type profFlags struct {
	environment, url, auth, user, serviceMailbox, mailboxes, rooms, pin, caFile string
	tenant, clientID, certFile, notes, newName                                  string
	concurrency                                                                 int
	passwordStdin, writeTest, checkRooms, allowHTTP, autodiscover, forget       bool
}

func (f *profFlags) register(fs *flag.FlagSet, edit bool) {
	fs.StringVar(&f.environment, "environment", "onprem", "onprem (Exchange Server) or exo (Exchange Online)")
	fs.StringVar(&f.url, "url", "", "EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx")
	fs.BoolVar(&f.autodiscover, "autodiscover", false, "find the EWS URL with Autodiscover at run time")
	fs.StringVar(&f.auth, "auth", "ntlm", "basic or ntlm (OAuth modes: oauth-app-secret, oauth-app-cert, oauth-delegated)")
	fs.StringVar(&f.user, "user", "", "service account: UPN (svc@contoso.com) or DOMAIN\\user")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password (or client secret) from the first line of stdin; else $DEPUTY_PASSWORD")
	fs.StringVar(&f.serviceMailbox, "service-mailbox", "", "the service account's own mailbox address")
	fs.StringVar(&f.mailboxes, "mailboxes", "", "target mailboxes: a `FILE` (CSV export or one address per line; - for stdin)")
	fs.StringVar(&f.rooms, "rooms", "", "room mailboxes: a `FILE` like --mailboxes")
	fs.StringVar(&f.pin, "pin-sha256", "", "trust the server certificate with this SHA-256 fingerprint (hex, colons optional)")
	fs.StringVar(&f.caFile, "ca-file", "", "trust this PEM CA bundle in addition to the system's")
	fs.BoolVar(&f.allowHTTP, "allow-http", false, "allow a plain http:// URL (lab only: credentials travel unencrypted)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "parallel requests, 1 to 27 (0: the default)")
	fs.BoolVar(&f.writeTest, "write-test", false, "create and hard-delete a calendar item in every reachable mailbox")
	fs.BoolVar(&f.checkRooms, "check-rooms", false, "also check room lists and rooms")
	fs.StringVar(&f.tenant, "tenant", "", "Exchange Online: tenant ID or domain (OAuth)")
	fs.StringVar(&f.clientID, "client-id", "", "Exchange Online: application (client) ID (OAuth)")
	fs.StringVar(&f.certFile, "cert-file", "", "Exchange Online: certificate file (oauth-app-cert)")
	fs.StringVar(&f.notes, "notes", "", "free text")
	if edit {
		fs.StringVar(&f.newName, "name", "", "rename the profile")
		fs.BoolVar(&f.forget, "forget-password", false, "remove the saved password (or client secret) from the keychain")
	}
}

func profileAddEdit(ctx context.Context, e *env, args []string, edit bool) int {
	verb := map[bool]string{false: "add", true: "edit"}[edit]
	fs := flag.NewFlagSet("profile "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f profFlags
	f.register(fs, edit)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: deputy-cli profile %s NAME [flags]\n\nFlags:\n", verb)
		fs.PrintDefaults()
	}
	name, code := profParseWithName(e, fs, args, "profile "+verb)
	if code >= 0 {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.passwordStdin && (f.mailboxes == "-" || f.rooms == "-") {
		return profErr(e, exitUsage, "--password-stdin and a list on stdin (-) both want stdin; put the list in a file")
	}
	if f.forget && f.passwordStdin {
		return profErr(e, exitUsage, "--forget-password and --password-stdin contradict each other")
	}

	store, err := openProfiles(e)
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	var p profile.Profile
	if edit {
		if p, err = store.Get(name); err != nil {
			return profErr(e, exitUsage, "%v", err)
		}
		if set["name"] {
			p.Name = f.newName
		}
	} else {
		if _, err := store.Get(name); err == nil {
			return profErr(e, exitUsage, "a profile named %q exists; use 'deputy-cli profile edit'", name)
		}
		p = profile.Profile{ID: profile.NewID(), Name: strings.TrimSpace(name)}
		set["environment"], set["auth"] = true, true // their defaults apply to a new profile
	}

	// Apply what was given; on edit, everything else stays.
	str := func(flagName string, dst *string, v string) {
		if set[flagName] {
			*dst = strings.TrimSpace(v)
		}
	}
	str("environment", &p.Environment, strings.ToLower(f.environment))
	str("url", &p.EWSURL, f.url)
	str("auth", &p.Auth, strings.ToLower(f.auth))
	str("user", &p.User, f.user)
	str("service-mailbox", &p.ServiceMailbox, f.serviceMailbox)
	str("ca-file", &p.TLS.CAFile, f.caFile)
	str("tenant", &p.Tenant, f.tenant)
	str("client-id", &p.ClientID, f.clientID)
	str("cert-file", &p.CertFile, f.certFile)
	if set["notes"] {
		p.Notes = f.notes
	}
	if set["autodiscover"] {
		p.UseAutodiscover = f.autodiscover
	}
	if set["allow-http"] {
		p.TLS.AllowHTTP = f.allowHTTP
	}
	if set["concurrency"] {
		p.Concurrency = f.concurrency
	}
	if set["write-test"] {
		p.WriteTest = f.writeTest
	}
	if set["check-rooms"] {
		p.CheckRooms = f.checkRooms
	}
	if set["pin-sha256"] {
		if f.pin == "" {
			p.TLS.PinSHA256 = ""
		} else if pin, err := profile.NormalizePin(f.pin); err != nil {
			return profErr(e, exitUsage, "--pin-sha256: %v", err)
		} else {
			p.TLS.PinSHA256 = pin
		}
	}
	if set["ca-file"] && p.TLS.CAFile != "" {
		if msg := profCheckCAFile(p.TLS.CAFile); msg != "" {
			return profErr(e, exitUsage, "--ca-file %s: %s", p.TLS.CAFile, msg)
		}
	}
	for _, l := range []struct {
		flag, path string
		dst        *[]string
	}{{"mailboxes", f.mailboxes, &p.Mailboxes}, {"rooms", f.rooms, &p.Rooms}} {
		if !set[l.flag] {
			continue
		}
		if l.path == "" {
			*l.dst = nil
			continue
		}
		list, code := profReadList(e, l.flag, l.path)
		if code != exitOK {
			return code
		}
		*l.dst = list
	}

	if err := p.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli profile %s: %q is not valid:\n", verb, p.Name)
		for _, fe := range profile.FieldErrors(err) {
			fmt.Fprintf(e.stderr, "  %s\n", fe)
		}
		return exitUsage
	}

	// The password is read before saving so bad input changes nothing.
	var pw string
	if f.passwordStdin {
		if pw, err = readPasswordLine(e.stdin); err != nil {
			return profErr(e, exitUsage, "--password-stdin: %v", err)
		}
	} else if !f.forget {
		pw = e.getenv("DEPUTY_PASSWORD")
	}
	kind := p.SecretKind()
	if pw != "" && kind == "" {
		return profErr(e, exitUsage, "authentication %q takes no password", p.Auth)
	}

	if err := store.Save(p); err != nil {
		if errors.Is(err, profile.ErrNameTaken) {
			return profErr(e, exitUsage, "%v", err)
		}
		return profErr(e, exitFailed, "%v", err)
	}
	verbed := map[bool]string{false: "Added", true: "Updated"}[edit]
	fmt.Fprintf(e.stdout, "%s profile %q (id %s) in %s\n", verbed, p.Name, p.ID, store.Dir)

	keys := secret.New()
	switch {
	case pw != "":
		if err := keys.Set(ctx, p.Key(kind), pw); err != nil {
			fmt.Fprintf(e.stderr, "deputy-cli profile %s: the profile was saved, but its %s was NOT: %v\n", verb, kind, err)
			fmt.Fprintln(e.stderr, "  Give it at run time with --password-stdin or DEPUTY_PASSWORD, or save it again once the keychain works.")
			return exitFailed
		}
		fmt.Fprintf(e.stdout, "%s: saved in %s\n", kind, secret.Backend())
	case f.forget:
		if err := keys.DeleteProfile(ctx, p.ID); err != nil {
			return profErr(e, exitFailed, "removing the saved secrets: %v", err)
		}
		fmt.Fprintf(e.stdout, "Saved secrets removed from %s\n", secret.Backend())
	case !edit && kind != "":
		fmt.Fprintf(e.stdout, "%s: not saved; add it with: deputy-cli profile edit %s --password-stdin\n", kind, profQuote(p.Name))
	}
	return exitOK
}

func profCheckCAFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return "no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"
	}
	return ""
}

// profReadList reads a mailbox list file; every rejected line is an input error, so
// nothing is dropped without the admin seeing it.
func profReadList(e *env, flagName, path string) ([]string, int) {
	var r io.Reader = e.stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, profErr(e, exitUsage, "--%s: %v", flagName, err)
		}
		defer fh.Close()
		r = fh
	}
	imp, err := profile.ParseMailboxList(r)
	if err != nil {
		return nil, profErr(e, exitUsage, "--%s %s: %v", flagName, path, err)
	}
	if len(imp.Rejected) > 0 {
		for _, rj := range imp.Rejected {
			fmt.Fprintf(e.stderr, "%s:%d: %s (%q)\n", path, rj.Line, rj.Reason, rj.Text)
		}
		return nil, profErr(e, exitUsage, "--%s %s: %d line(s) rejected; fix or remove them", flagName, path, len(imp.Rejected))
	}
	if len(imp.Addresses) == 0 {
		return nil, profErr(e, exitUsage, "--%s %s: no addresses found", flagName, path)
	}
	if imp.Duplicates > 0 {
		fmt.Fprintf(e.stderr, "--%s %s: %d duplicate address(es) merged\n", flagName, path, imp.Duplicates)
	}
	return imp.Addresses, exitOK
}

func profQuote(s string) string {
	if strings.ContainsAny(s, " \t'\"") {
		return strconv.Quote(s)
	}
	return s
}

func profileDelete(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("profile delete", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	keep := fs.Bool("keep-secrets", false, "delete only the profile file, leave its keychain entries")
	name, code := profParseWithName(e, fs, args, "profile delete")
	if code >= 0 {
		return code
	}
	store, err := openProfiles(e)
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	p, err := store.Get(name)
	if err != nil {
		return profErr(e, exitUsage, "%v", err)
	}
	if *keep {
		if err := store.Delete(p.ID); err != nil {
			return profErr(e, exitFailed, "%v", err)
		}
		fmt.Fprintf(e.stdout, "Deleted profile %q; its keychain entries (if any) were kept\n", p.Name)
		return exitOK
	}
	if _, err := store.Remove(ctx, secret.New(), p.ID); err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli profile delete: %v\n", err)
		var se *secret.Error
		if errors.As(err, &se) {
			fmt.Fprintln(e.stderr, "  Unlock the keychain and try again, or delete only the profile file with --keep-secrets.")
		}
		return exitFailed
	}
	fmt.Fprintf(e.stdout, "Deleted profile %q and its saved secrets\n", p.Name)
	return exitOK
}

func profileList(e *env, args []string) int {
	fs := flag.NewFlagSet("profile list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the profiles as a JSON array")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		return profErr(e, exitUsage, "list takes no arguments (got %q)", fs.Arg(0))
	}
	store, err := openProfiles(e)
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	list, problems, err := store.List()
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	profPrintProblems(e, problems)
	if *asJSON {
		if list == nil {
			list = []profile.Profile{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return profErr(e, exitFailed, "%v", err)
		}
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(e.stdout, "No profiles in %s. Create one with 'deputy-cli profile add NAME ...'.\n", store.Dir)
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENVIRONMENT\tAUTH\tUSER\tMAILBOXES\tEWS URL")
	for _, p := range list {
		url := p.URL()
		if url == "" && p.UseAutodiscover {
			url = "(Autodiscover)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, p.Environment, p.Auth, p.User, len(p.Mailboxes), url)
	}
	tw.Flush()
	return exitOK
}

func profPrintProblems(e *env, problems []profile.Problem) {
	for _, pr := range problems {
		fmt.Fprintf(e.stderr, "warning: %s: %s", pr.File, pr.Reason)
		if pr.BackupPath != "" {
			fmt.Fprintf(e.stderr, " (now %s)", pr.BackupPath)
		}
		fmt.Fprintln(e.stderr)
	}
}

// profKeychain is what show reports about a profile's secret. It never holds the secret.
type profKeychain struct {
	Kind    string `json:"kind"`
	State   string `json:"state"` // saved | not-saved | locked | timeout | unavailable | torn | too-big | none
	Backend string `json:"backend"`
	Error   string `json:"error,omitempty"`
}

func profKeychainState(ctx context.Context, p profile.Profile) profKeychain {
	st := profKeychain{Kind: p.SecretKind(), Backend: secret.Backend()}
	if st.Kind == "" {
		st.State = "none"
		return st
	}
	ok, err := secret.New().Has(ctx, p.Key(st.Kind))
	var se *secret.Error
	switch {
	case ok:
		st.State = "saved"
	case err == nil:
		st.State = "not-saved"
	case errors.As(err, &se):
		st.State, st.Error = se.Kind.String(), err.Error()
	default:
		st.State, st.Error = "unavailable", err.Error()
	}
	return st
}

func profileShow(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("profile show", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the profile as JSON (importable with 'profile import')")
	name, code := profParseWithName(e, fs, args, "profile show")
	if code >= 0 {
		return code
	}
	store, err := openProfiles(e)
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	p, err := store.Get(name)
	if err != nil {
		return profErr(e, exitUsage, "%v", err)
	}
	kc := profKeychainState(ctx, p)
	if *asJSON {
		// The profile's own fields in their order, then the keychain state.
		data, err := json.Marshal(p)
		if err != nil {
			return profErr(e, exitFailed, "%v", err)
		}
		kcJSON, _ := json.Marshal(kc)
		data = append(append(append(data[:len(data)-1], `,"keychain":`...), kcJSON...), '}')
		var out bytes.Buffer
		_ = json.Indent(&out, data, "", "  ")
		out.WriteByte('\n')
		_, _ = out.WriteTo(e.stdout)
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", k, v)
		}
	}
	yes := func(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }
	row("name", p.Name)
	row("id", p.ID)
	row("environment", profEnvLabel(p.Environment))
	url := p.URL()
	if url == "" && p.UseAutodiscover {
		url = "(found with Autodiscover at run time)"
	}
	row("EWS URL", url)
	row("authentication", p.Auth)
	row("service account", p.User)
	row("tenant", p.Tenant)
	row("client ID", p.ClientID)
	row("certificate file", p.CertFile)
	if kc.Kind != "" {
		switch kc.State {
		case "saved":
			row(kc.Kind, "saved in "+kc.Backend)
		case "not-saved":
			row(kc.Kind, "not saved ("+kc.Backend+")")
		default:
			row(kc.Kind, "unknown: "+kc.Error)
		}
	}
	row("service mailbox", p.ServiceMailbox)
	row("mailboxes", profSummary(p.Mailboxes))
	row("rooms", profSummary(p.Rooms))
	row("check rooms", yes(p.CheckRooms))
	row("write test", yes(p.WriteTest))
	if p.Concurrency > 0 {
		row("concurrency", strconv.Itoa(p.Concurrency))
	}
	row("pinned certificate (SHA-256)", p.TLS.PinSHA256)
	row("CA file", p.TLS.CAFile)
	if p.TLS.AllowHTTP {
		row("plain http", "allowed (lab only)")
	}
	row("protocol", p.Protocol)
	if !p.Modified.IsZero() {
		row("modified", p.Modified.Local().Format(time.DateTime))
	}
	row("notes", p.Notes)
	w.Flush()
	if err := p.Validate(); err != nil {
		fmt.Fprintln(e.stdout, "\nThis profile cannot run yet:")
		for _, fe := range profile.FieldErrors(err) {
			fmt.Fprintf(e.stdout, "  %s\n", fe)
		}
	}
	return exitOK
}

func profEnvLabel(env string) string {
	switch env {
	case profile.OnPrem:
		return "Exchange Server on-premises (onprem)"
	case profile.EXO:
		return "Exchange Online (exo)"
	}
	return env
}

func profSummary(list []string) string {
	if len(list) == 0 {
		return ""
	}
	const show = 5
	s := strings.Join(list[:min(show, len(list))], ", ")
	if len(list) > show {
		s += fmt.Sprintf(", … (%d in all)", len(list))
	}
	return s
}

// profSecretishKey matches JSON keys that would hold a secret; an import file with one is
// refused rather than silently dropping (or, worse, storing) the value.
var profSecretishKey = regexp.MustCompile(`(?i)pass(word)?|secret|token|pwd|credential|privatekey`)

func profileImport(e *env, args []string) int {
	fs := flag.NewFlagSet("profile import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	newName := fs.String("name", "", "save it under this name instead of the one in the file")
	path, code := profParseWithName(e, fs, args, "profile import")
	if code >= 0 {
		return code
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(e.stdin, 64<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return profErr(e, exitUsage, "import: %v", err)
	}
	if key := profFindSecretKey(data); key != "" {
		return profErr(e, exitUsage, "import %s: the file has a %q field; profiles never hold secrets. Remove it, import, then save the secret with 'deputy-cli profile edit NAME --password-stdin'", path, key)
	}
	p, err := profile.Decode(data)
	if err != nil {
		return profErr(e, exitUsage, "import %s: %v", path, err)
	}
	if *newName != "" {
		p.Name = *newName
	}
	store, err := openProfiles(e)
	if err != nil {
		return profErr(e, exitFailed, "%v", err)
	}
	if _, err := store.Get(p.Name); err == nil {
		return profErr(e, exitUsage, "import: a profile named %q exists; choose another with --name", p.Name)
	}
	// An imported profile is a new profile here: a fresh ID, so it can never take over
	// another profile's file or keychain entries.
	p.ID = profile.NewID()
	if err := p.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "deputy-cli profile import: %q is not valid:\n", p.Name)
		for _, fe := range profile.FieldErrors(err) {
			fmt.Fprintf(e.stderr, "  %s\n", fe)
		}
		return exitUsage
	}
	if err := store.Save(p); err != nil {
		if errors.Is(err, profile.ErrNameTaken) {
			return profErr(e, exitUsage, "%v", err)
		}
		return profErr(e, exitFailed, "%v", err)
	}
	fmt.Fprintf(e.stdout, "Imported profile %q (id %s)\n", p.Name, p.ID)
	if kind := p.SecretKind(); kind != "" {
		fmt.Fprintf(e.stdout, "%s: not saved; add it with: deputy-cli profile edit %s --password-stdin\n", kind, profQuote(p.Name))
	}
	return exitOK
}

// profFindSecretKey returns the first JSON object key that looks like it holds a secret.
func profFindSecretKey(data []byte) string {
	var v any
	if json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &v) != nil {
		return ""
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if profSecretishKey.MatchString(k) {
					return k
				}
				if k := walk(c); k != "" {
					return k
				}
			}
		case []any:
			for _, c := range t {
				if k := walk(c); k != "" {
					return k
				}
			}
		}
		return ""
	}
	return walk(v)
}
