package profile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"deputy/internal/secret"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "Deputy"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaultDir(t *testing.T) {
	base, err := os.UserConfigDir()
	if err != nil {
		t.Skip("no user config dir here:", err)
	}
	d, err := DefaultDir()
	if err != nil || d != filepath.Join(base, "Deputy") {
		t.Fatalf("DefaultDir() = %q, %v", d, err)
	}
}

func TestSaveGetListRename(t *testing.T) {
	s := openTemp(t)
	a := validOnPrem()
	b := validOnPrem()
	b.ID, b.Name = NewID(), "CRM sync"
	for _, p := range []Profile{a, b} {
		if err := s.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(s.Dir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("store dir mode %v, %v; want 0700", st.Mode().Perm(), err)
		}
	}
	list, problems, err := s.List()
	if err != nil || len(problems) != 0 {
		t.Fatalf("List: %v %v", problems, err)
	}
	if len(list) != 2 || list[0].Name != "CRM sync" || list[1].Name != "Interview scheduling" {
		t.Fatalf("List order/content: %+v", list)
	}
	for _, q := range []string{"interview SCHEDULING", "  Interview scheduling ", a.ID} {
		got, err := s.Get(q)
		if err != nil || got.ID != a.ID {
			t.Fatalf("Get(%q) = %v, %v", q, got.ID, err)
		}
		if !equalProfiles(got, a) {
			t.Fatalf("round trip changed the profile:\n got %+v\nwant %+v", got, a)
		}
		if got.Modified.IsZero() || got.SchemaVersion != SchemaVersion {
			t.Fatalf("Modified/SchemaVersion not set: %+v", got)
		}
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(nope) = %v", err)
	}

	// Names are unique ignoring case; renaming keeps the ID (and so the keychain entries).
	c := validOnPrem()
	c.ID, c.Name = NewID(), "crm SYNC"
	if err := s.Save(c); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("Save with a taken name = %v", err)
	}
	if err := s.Rename("CRM sync", "interview scheduling"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("Rename onto a taken name = %v", err)
	}
	if err := s.Rename("crm sync", "CRM sync (prod)"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("CRM sync (prod)")
	if err != nil || got.ID != b.ID {
		t.Fatalf("after rename: %v %v", got.ID, err)
	}
	// Saving the same profile again (same ID, same name) is an update, not a clash.
	got.Notes = "updated"
	if err := s.Save(got); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("crm sync (PROD)"); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := s.List(); len(list) != 1 {
		t.Fatalf("after delete: %d profiles", len(list))
	}
	if err := s.Delete("CRM sync (prod)"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete = %v", err)
	}
	if err := s.Save(Profile{Name: "  "}); err == nil {
		t.Fatal("saved a profile without a name")
	}
	if err := s.Save(Profile{Name: "x", ID: "../../evil"}); err == nil {
		t.Fatal("saved a profile with a path in its id")
	}
}

func equalProfiles(a, b Profile) bool {
	a.Modified, b.Modified = time.Time{}, time.Time{}
	a.SchemaVersion, b.SchemaVersion = 0, 0
	return reflect.DeepEqual(a, b)
}

func TestBadFilesAreMovedAsideNotDropped(t *testing.T) {
	s := openTemp(t)
	good := validOnPrem()
	if err := s.Save(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"truncated.json": `{"schemaVersion": 1, "id": "x", "name": "Half`,
		"empty.json":     ``,
		"array.json":     `[1,2,3]`,
		"noname.json":    `{"schemaVersion": 1, "environment": "onprem"}`,
		"zero.json":      `{"schemaVersion": 0, "name": "z"}`,
		"bad id!.json":   `{"schemaVersion": 1, "name": "Bad id"}`,
	}
	for name, content := range bad {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	newer := `{"schemaVersion": 2, "id": "future", "name": "From the future", "newField": {"x": 1}}`
	newerPath := filepath.Join(s.Dir, "future.json")
	if err := os.WriteFile(newerPath, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	list, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != good.ID {
		t.Fatalf("list = %+v", list)
	}
	if len(problems) != len(bad)+1 {
		t.Fatalf("problems = %+v, want %d", problems, len(bad)+1)
	}
	for _, p := range problems {
		name := filepath.Base(p.File)
		if name == "future.json" {
			if p.BackupPath != "" || !strings.Contains(p.Reason, "newer Deputy") {
				t.Errorf("newer file: %+v", p)
			}
			continue
		}
		content, ok := bad[name]
		if !ok {
			t.Errorf("unexpected problem %+v", p)
			continue
		}
		if !strings.HasPrefix(filepath.Base(p.BackupPath), name+".bad-") || p.Reason == "" {
			t.Errorf("problem %+v: want a %s.bad-<time> backup and a reason", p, name)
			continue
		}
		kept, err := os.ReadFile(p.BackupPath)
		if err != nil || string(kept) != content {
			t.Errorf("backup of %s lost its content: %q %v", name, kept, err)
		}
		if _, err := os.Stat(p.File); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still in place", name)
		}
	}
	// The newer file is untouched and cannot be overwritten by this version.
	if got, _ := os.ReadFile(newerPath); string(got) != newer {
		t.Fatalf("newer file changed: %s", got)
	}
	if err := s.Save(Profile{ID: "future", Name: "Overwrite attempt"}); err == nil || !strings.Contains(err.Error(), "newer Deputy") {
		t.Fatalf("Save over a newer file = %v", err)
	}
	if got, _ := os.ReadFile(newerPath); string(got) != newer {
		t.Fatalf("newer file overwritten: %s", got)
	}
	// Listing again reports only the newer file; the moved ones are settled.
	_, problems, _ = s.List()
	if len(problems) != 1 {
		t.Fatalf("second List problems = %+v", problems)
	}
}

func TestHandWrittenFileAndDuplicateNames(t *testing.T) {
	s := openTemp(t)
	// No schemaVersion, no id, a BOM from Notepad: read as version 1 with the file's ID.
	hand := "\xef\xbb\xbf" + `{"name": "Lab", "environment": "onprem", "ewsUrl": "https://lab/EWS/Exchange.asmx", "auth": "basic", "user": "LAB\\admin"}`
	if err := os.WriteFile(filepath.Join(s.Dir, "lab-1.json"), []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	// A copy under another file name has the same name: both load, with a Problem.
	if err := os.WriteFile(filepath.Join(s.Dir, "lab-2.json"), []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	list, problems, err := s.List()
	if err != nil || len(list) != 2 || list[0].ID != "lab-1" || list[1].ID != "lab-2" || list[0].User != `LAB\admin` {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Reason, "two profiles are named") {
		t.Fatalf("problems = %+v", problems)
	}
	if _, err := s.Get("lab"); err == nil || !strings.Contains(err.Error(), "use the id") {
		t.Fatalf("ambiguous Get = %v", err)
	}
	if p, err := s.Get("lab-2"); err != nil || p.Name != "Lab" {
		t.Fatalf("Get by id = %v", err)
	}
}

func TestStaleTempFilesAreCleaned(t *testing.T) {
	s := openTemp(t)
	old := filepath.Join(s.Dir, ".abc.json.tmp-123")
	young := filepath.Join(s.Dir, ".def.json.tmp-456")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("{partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	list, problems, err := s.List()
	if err != nil || len(list) != 0 || len(problems) != 0 {
		t.Fatalf("temp files were read as profiles: %v %v %v", list, problems, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale temp file kept")
	}
	if _, err := os.Stat(young); err != nil {
		t.Error("a temp file of a save in progress was removed")
	}
}

func TestRemoveDeletesSecrets(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	ctx := context.Background()
	s := openTemp(t)
	keys := secret.New()
	p := validOnPrem()
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	if err := keys.Set(ctx, p.Key(secret.Password), "Remove-me-pw-4411"); err != nil {
		t.Fatal(err)
	}
	if err := keys.Set(ctx, p.Key(secret.TokenCache), strings.Repeat("tok", 3000)); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Secret(ctx, keys); err != nil || got != "Remove-me-pw-4411" {
		t.Fatalf("Secret() = %v", err)
	}
	gone, err := s.Remove(ctx, keys, p.Name)
	if err != nil || gone.ID != p.ID {
		t.Fatalf("Remove = %v", err)
	}
	for _, kind := range secret.Kinds {
		if _, err := keys.Get(ctx, p.Key(kind)); !errors.Is(err, secret.ErrNotFound) {
			t.Errorf("%s survived Remove: %v", kind, err)
		}
	}
	if _, err := s.Get(p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("profile survived Remove: %v", err)
	}
}

const crashEnv = "DEPUTY_PROFILE_CRASH_DIR"

// crashProfile is large (about 80 KB of JSON) so a save takes long enough to be killed
// in the middle of it.
func crashProfile(i, gen int) Profile {
	p := validOnPrem()
	p.ID = fmt.Sprintf("crash%02d", i)
	p.Name = fmt.Sprintf("Crash test %d", i)
	p.Notes = fmt.Sprintf("generation %d", gen)
	p.Mailboxes = make([]string, 1500)
	for j := range p.Mailboxes {
		p.Mailboxes[j] = fmt.Sprintf("user%05d.gen%d@contoso-crash-test.example.com", j, gen)
	}
	return p
}

// TestHelperWriter is the child of TestCrashDuringSave: it saves profiles in a loop until
// it is killed, printing a line after each save. Three saves in four go straight to
// writeAtomic with pre-encoded bytes, so most of the child's time is spent inside the
// write that must be atomic and the kills land there.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashDuringSave")
	}
	s := &Store{Dir: dir}
	var encoded [][]byte
	for gen := 1; gen <= 5; gen += 2 {
		data, err := json.MarshalIndent(crashProfile(gen%3, gen), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		encoded = append(encoded, data)
	}
	for gen := 1; ; gen++ {
		var err error
		if gen%4 != 0 {
			i := gen % len(encoded)
			g := 2*i + 1 // the generation encoded[i] holds
			err = writeAtomic(dir, crashProfile(g%3, 0).ID+".json", encoded[i])
		} else {
			err = s.Save(crashProfile(gen%3, gen))
		}
		if err != nil {
			fmt.Println("save error:", err)
			os.Exit(1)
		}
		fmt.Println("saved", gen)
	}
}

// TestCrashDuringSave kills a writer with SIGKILL at random moments; after every kill
// each profile must still be there, complete and parseable.
func TestCrashDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	s := openTemp(t)
	for i := range 3 {
		if err := s.Save(crashProfile(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	deadline := time.Now().Add(8 * time.Second)
	kills, saves, midWrite := 0, 0, 0
	for kills < 30 && time.Now().Before(deadline) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), crashEnv+"="+s.Dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the first completed save, then kill at a random point of a later one.
		select {
		case l := <-lines:
			if !strings.HasPrefix(l, "saved") {
				t.Fatalf("writer: %s", l)
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("writer did not start saving")
		}
		time.Sleep(time.Duration(rng.IntN(60_000)) * time.Microsecond)
		_ = cmd.Process.Kill() // SIGKILL on Unix, TerminateProcess on Windows
		_ = cmd.Wait()
		for l := range lines {
			if strings.HasPrefix(l, "saved") {
				saves++
			} else {
				t.Fatalf("writer: %s", l)
			}
		}
		kills++
		// A leftover temp file means the kill landed between creating and renaming it.
		if torn, _ := filepath.Glob(filepath.Join(s.Dir, ".*"+tmpMarker+"*")); len(torn) > 0 {
			midWrite++
			for _, f := range torn {
				_ = os.Remove(f)
			}
		}

		list, problems, err := s.List()
		if err != nil || len(problems) != 0 {
			t.Fatalf("after kill %d: problems %+v, err %v", kills, problems, err)
		}
		if len(list) != 3 {
			t.Fatalf("after kill %d: %d profiles, want 3", kills, len(list))
		}
		for _, p := range list {
			var gen int
			if _, err := fmt.Sscanf(p.Notes, "generation %d", &gen); err != nil {
				t.Fatalf("after kill %d: %s has notes %q", kills, p.ID, p.Notes)
			}
			if want := crashProfile(int(p.ID[6]-'0'), gen); !equalProfiles(p, want) {
				t.Fatalf("after kill %d: profile %s generation %d is not what was written", kills, p.ID, gen)
			}
		}
	}
	if kills < 5 {
		t.Fatalf("only %d kills in the time budget", kills)
	}
	t.Logf("%d kills (%d in the middle of writing a file), %d completed saves; every profile intact after each kill", kills, midWrite, saves)
}

// Without a keychain, Remove must keep the profile (its secrets could not be deleted) and
// say why; Delete then removes just the file. go-keyring caches its D-Bus connection per
// process, so this runs in a child with a broken bus address.
func TestRemoveKeepsProfileWhenKeychainFails(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("breaks the Secret Service connection, a Linux backend")
	}
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := validOnPrem()
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRemoveNoKeychain$", "-test.v")
	cmd.Env = append(os.Environ(), "DEPUTY_PROFILE_REMOVE_DIR="+dir, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/deputy-bus")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "helper-ok") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if _, err := s.Get(p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete after a failed Remove left the profile: %v", err)
	}
}

func TestHelperRemoveNoKeychain(t *testing.T) {
	dir := os.Getenv("DEPUTY_PROFILE_REMOVE_DIR")
	if dir == "" {
		t.Skip("helper process for TestRemoveKeepsProfileWhenKeychainFails")
	}
	s := &Store{Dir: dir}
	list, _, _ := s.List()
	if len(list) != 1 {
		t.Fatalf("%d profiles", len(list))
	}
	_, err := s.Remove(context.Background(), secret.New(), list[0].Name)
	var se *secret.Error
	if !errors.As(err, &se) || se.Kind != secret.Unavailable || !strings.Contains(err.Error(), "was kept") {
		t.Fatalf("Remove = %v, want a kept profile and an Unavailable keychain", err)
	}
	if _, err := s.Get(list[0].ID); err != nil {
		t.Fatalf("profile gone after a failed Remove: %v", err)
	}
	if err := s.Delete(list[0].ID); err != nil {
		t.Fatal(err)
	}
	fmt.Println("helper-ok")
}
