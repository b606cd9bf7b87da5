package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"deputy/internal/profile"
	"deputy/internal/secret"
)

// profCLI runs deputy-cli with a private config dir, the given environment and stdin,
// and stdin never a terminal (as under Task Scheduler).
func profCLI(t *testing.T, dir string, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if k == "DEPUTY_CONFIG_DIR" {
				return dir
			}
			return vars[k]
		},
		isTTY: func(any) bool { return false }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func profWriteFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const profTestPin = "3b7f0c6f1d2e4a5b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"

// TestProfileCommands walks the commands that do not touch the keychain: add, edit,
// list, import, delete --keep-secrets, and every kind of bad input.
func TestProfileCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	files := t.TempDir()
	good := profWriteFile(t, files, "mb.csv", "#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\n\"Name\",\"PrimarySmtpAddress\"\n\"A\",\"alice@contoso.com\"\n\"B\",\"bob@contoso.com\"\n\"A2\",\"ALICE@contoso.com\"\n")
	bad := profWriteFile(t, files, "bad.txt", "alice@contoso.com\n\nbob.contoso.com\n")
	rooms := profWriteFile(t, files, "rooms.txt", "room401@contoso.com\n")
	notPEM := profWriteFile(t, files, "ca.pem", "not a certificate")
	colonPin := strings.ToUpper(profTestPin[:2])
	for i := 2; i < len(profTestPin); i += 2 {
		colonPin += ":" + strings.ToUpper(profTestPin[i:i+2])
	}
	base := []string{"--url", "https://mail.contoso.com/EWS/Exchange.asmx", "--auth", "ntlm", "--user", `CONTOSO\svc-deputy`}
	add := func(name string, extra ...string) []string {
		return append(append([]string{"profile", "add", name}, base...), extra...)
	}

	steps := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{"no subcommand", []string{"profile"}, "", exitUsage, nil, []string{"usage:", "profile add NAME"}, nil},
		{"unknown subcommand", []string{"profile", "frobnicate"}, "", exitUsage, nil, []string{`unknown subcommand "frobnicate"`}, nil},
		{"empty list", []string{"profile", "list"}, "", exitOK, []string{"No profiles in"}, nil, nil},
		{"add", add("Interview scheduling", "--mailboxes", good, "--rooms", rooms, "--check-rooms", "--pin-sha256", colonPin, "--concurrency", "8", "--service-mailbox", "svc-deputy@contoso.com"),
			"", exitOK, []string{`Added profile "Interview scheduling"`, `password: not saved; add it with: deputy-cli profile edit "Interview scheduling" --password-stdin`}, []string{"1 duplicate address(es) merged"}, nil},
		{"add without a name", []string{"profile", "add", "--url", "https://x.contoso.com/EWS/Exchange.asmx"}, "", exitUsage, nil, []string{"needs a profile NAME"}, nil},
		{"add name taken (any case)", add("INTERVIEW SCHEDULING"), "", exitUsage, nil, []string{"exists", "profile edit"}, nil},
		{"add invalid fields", []string{"profile", "add", "Broken", "--url", "http://mail.contoso.com/EWS/Exchange.asmx", "--user", "Service Deputy", "--concurrency", "40"}, "", exitUsage,
			nil, []string{`"Broken" is not valid`, "ewsUrl: use https://", "user: contains a space", "concurrency: 40 is out of range"}, nil},
		{"add exo with basic", []string{"profile", "add", "Cloud", "--environment", "exo", "--auth", "basic", "--user", "svc@contoso.com"}, "", exitUsage,
			nil, []string{"auth: Exchange Online no longer accepts Basic"}, nil},
		{"add with rejected mailbox lines", add("Rejects", "--mailboxes", bad), "", exitUsage, nil, []string{"bad.txt:3: missing @", "1 line(s) rejected"}, nil},
		{"add with a bad pin", add("Pin", "--pin-sha256", strings.Repeat("ab", 20)), "", exitUsage, nil, []string{"SHA-1 thumbprint"}, nil},
		{"add with a CA file that is no PEM", add("CA", "--ca-file", notPEM), "", exitUsage, nil, []string{"no PEM certificate"}, nil},
		{"add with a missing CA file", add("CA", "--ca-file", filepath.Join(files, "nope.pem")), "", exitUsage, nil, []string{"no such file"}, nil},
		{"stdin wanted twice", add("Twice", "--mailboxes", "-", "--password-stdin"), "x@contoso.com\n", exitUsage, nil, []string{"both want stdin"}, nil},
		{"empty --password-stdin", add("Empty pw", "--password-stdin"), "", exitUsage, nil, []string{"stdin was empty"}, nil},
		{"stray argument", []string{"profile", "add", "A", "B"}, "", exitUsage, nil, []string{`unexpected argument "B"`}, nil},
		{"bad flag", []string{"profile", "add", "A", "--colour", "blue"}, "", exitUsage, nil, []string{"flag provided but not defined: -colour"}, nil},
		{"add second (flags before name)", append(append([]string{"profile", "add"}, base...), "--mailboxes", "-", "CRM sync"), "carol@contoso.com\n", exitOK,
			[]string{`Added profile "CRM sync"`}, nil, nil},
		{"edit keeps what is not given", []string{"profile", "edit", "crm SYNC", "--concurrency", "4", "--write-test"}, "", exitOK,
			[]string{`Updated profile "CRM sync"`}, nil, []string{"password"}},
		{"edit to invalid is refused", []string{"profile", "edit", "CRM sync", "--url", "ftp://x"}, "", exitUsage, nil, []string{"ewsUrl"}, nil},
		{"edit unknown profile", []string{"profile", "edit", "Nope", "--concurrency", "2"}, "", exitUsage, nil, []string{`no profile named "Nope"`}, nil},
		{"rename onto a taken name", []string{"profile", "edit", "CRM sync", "--name", "interview scheduling"}, "", exitUsage, nil, []string{"another profile has this name"}, nil},
		{"list", []string{"profile", "list"}, "", exitOK, []string{"NAME", "CRM sync", "Interview scheduling", "CONTOSO\\svc-deputy"}, nil, nil},
		{"import refuses a file with a password", []string{"profile", "import", profWriteFile(t, files, "pw.json", `{"name":"X","environment":"onprem","auth":"basic","user":"a@b.com","ewsUrl":"https://x.y/EWS/Exchange.asmx","password":"hunter2"}`)},
			"", exitUsage, nil, []string{`has a "password" field`, "never hold secrets"}, []string{"hunter2"}},
		{"import of a taken name", []string{"profile", "import", profWriteFile(t, files, "dup.json", `{"name":"crm sync","environment":"onprem","auth":"ntlm","user":"a@b.com","ewsUrl":"https://x.y/EWS/Exchange.asmx"}`)},
			"", exitUsage, nil, []string{"exists", "--name"}, nil},
		{"import of an invalid profile", []string{"profile", "import", profWriteFile(t, files, "inv.json", `{"name":"Inv","environment":"moon","auth":"ntlm","user":"a@b.com","ewsUrl":"https://x.y/EWS/Exchange.asmx"}`)},
			"", exitUsage, nil, []string{`environment: "moon" is not onprem or exo`}, nil},
		{"import of a non-profile", []string{"profile", "import", profWriteFile(t, files, "junk.json", `[1,2]`)}, "", exitUsage, nil, []string{"not a valid profile file"}, nil},
		{"import from stdin under a new name", []string{"profile", "import", "-", "--name", "Lab"},
			`{"schemaVersion":1,"id":"crash-into-me","name":"whatever","environment":"onprem","auth":"basic","user":"LAB\\admin","ewsUrl":"https://lab.example/EWS/Exchange.asmx"}`,
			exitOK, []string{`Imported profile "Lab"`}, nil, []string{"crash-into-me"}},
		{"delete keeping secrets", []string{"profile", "delete", "lab", "--keep-secrets"}, "", exitOK, []string{`Deleted profile "Lab"`}, nil, nil},
		{"delete unknown", []string{"profile", "delete", "lab"}, "", exitUsage, nil, []string{`no profile named "lab"`}, nil},
	}
	for _, st := range steps {
		code, stdout, stderr := profCLI(t, dir, nil, st.stdin, st.args...)
		if code != st.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", st.name, code, st.code, stdout, stderr)
			continue
		}
		for _, w := range st.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", st.name, w, stdout)
			}
		}
		for _, w := range st.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", st.name, w, stderr)
			}
		}
		for _, w := range st.notStdout {
			if strings.Contains(stdout, w) {
				t.Errorf("%s: stdout has %q:\n%s", st.name, w, stdout)
			}
		}
	}

	// What the commands left in the store.
	store, err := profile.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, problems, err := store.List()
	if err != nil || len(problems) > 0 || len(list) != 2 {
		t.Fatalf("store: %d profiles, problems %v, err %v", len(list), problems, err)
	}
	crm, is := list[0], list[1]
	if crm.Concurrency != 4 || !crm.WriteTest || crm.User != `CONTOSO\svc-deputy` || len(crm.Mailboxes) != 1 || crm.Mailboxes[0] != "carol@contoso.com" {
		t.Errorf("edit lost or changed fields: %+v", crm)
	}
	if is.TLS.PinSHA256 != profTestPin || is.Concurrency != 8 || !is.CheckRooms || len(is.Rooms) != 1 ||
		strings.Join(is.Mailboxes, ",") != "alice@contoso.com,bob@contoso.com" || is.ServiceMailbox != "svc-deputy@contoso.com" {
		t.Errorf("add stored: %+v", is)
	}

	// list --json is the profiles, importable one by one.
	code, stdout, _ := profCLI(t, dir, nil, "", "profile", "list", "--json")
	var got []profile.Profile
	if code != exitOK || json.Unmarshal([]byte(stdout), &got) != nil || len(got) != 2 || got[1].TLS.PinSHA256 != profTestPin {
		t.Fatalf("list --json: %d %q", code, stdout)
	}

	// A corrupt file is reported on stderr, moved aside, and the rest still lists.
	profWriteFile(t, dir, "0000.json", "{not json")
	code, stdout, stderr := profCLI(t, dir, nil, "", "profile", "list")
	if code != exitOK || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "0000.json.bad-") || !strings.Contains(stdout, "CRM sync") {
		t.Fatalf("list with a corrupt file: %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestProfileSecrets runs add/show/edit/delete against a real Secret Service and then
// looks for the password everywhere the commands wrote: stdout, stderr and the config dir,
// as plain text, base64 and UTF-16LE.
func TestProfileSecrets(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cfg")
	const pw1 = "Pr0file-CLI-Leak-Canary-51f3!"
	const pw2 = "Second-Canary-From-Env-77c0"
	var transcript strings.Builder
	do := func(vars map[string]string, stdin string, want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := profCLI(t, dir, vars, stdin, args...)
		transcript.WriteString(stdout + stderr)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
		}
		return stdout
	}
	out := do(nil, pw1+"\r\nsecond line ignored\n", exitOK, "profile", "add", "Vault", "--url", "https://mail.contoso.com/EWS/Exchange.asmx",
		"--auth", "basic", "--user", "svc@contoso.com", "--password-stdin")
	if !strings.Contains(out, "password: saved in "+secret.Backend()) {
		t.Fatalf("add output: %s", out)
	}
	store, _ := profile.Open(dir)
	p, err := store.Get("vault")
	if err != nil {
		t.Fatal(err)
	}
	keys := secret.New()
	if got, err := p.Secret(ctx, keys); err != nil || got != pw1 {
		t.Fatalf("keychain holds %d bytes, %v; want the first stdin line", len(got), err)
	}
	if out := do(nil, "", exitOK, "profile", "show", "Vault"); !strings.Contains(out, "password:") || !strings.Contains(out, "saved in Secret Service") {
		t.Fatalf("show: %s", out)
	}
	var shown struct {
		ID       string
		Keychain profKeychain
	}
	if err := json.Unmarshal([]byte(do(nil, "", exitOK, "profile", "show", "Vault", "--json")), &shown); err != nil ||
		shown.Keychain.State != "saved" || shown.Keychain.Kind != "password" || shown.ID != p.ID {
		t.Fatalf("show --json: %+v %v", shown, err)
	}
	// $DEPUTY_PASSWORD replaces it on edit; a rename keeps it (keys use the ID).
	do(map[string]string{"DEPUTY_PASSWORD": pw2}, "", exitOK, "profile", "edit", "Vault", "--name", "Vault 2")
	if got, err := p.Secret(ctx, keys); err != nil || got != pw2 {
		t.Fatalf("after edit with DEPUTY_PASSWORD: %v", err)
	}
	do(nil, "", exitOK, "profile", "edit", "Vault 2", "--forget-password")
	if out := do(nil, "", exitOK, "profile", "show", "Vault 2"); !strings.Contains(out, "not saved") {
		t.Fatalf("show after --forget-password: %s", out)
	}
	// Delete removes the secrets with the profile, chunked ones included.
	do(nil, pw1+"\n", exitOK, "profile", "edit", "Vault 2", "--password-stdin")
	if err := keys.Set(ctx, p.Key(secret.TokenCache), strings.Repeat(pw1, 200)); err != nil {
		t.Fatal(err)
	}
	do(nil, "", exitOK, "profile", "delete", "vault 2")
	for _, kind := range secret.Kinds {
		if _, err := keys.Get(ctx, p.Key(kind)); !errors.Is(err, secret.ErrNotFound) {
			t.Errorf("%s survived profile delete: %v", kind, err)
		}
	}
	if _, err := store.Get(p.ID); !errors.Is(err, profile.ErrNotFound) {
		t.Fatalf("profile survived delete: %v", err)
	}

	// The leak scan (leak_test.go).
	sources := map[string][]byte{"the commands' output": []byte(transcript.String())}
	addDirFiles(t, sources, dir)
	scanLeaks(t, sources, map[string]string{"first password": pw1, "second password": pw2})
}
