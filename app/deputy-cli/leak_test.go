package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"deputy/internal/exchangesim"
	"deputy/internal/result"
)

// secretForms are the shapes a secret takes when it leaks: plain, HTML-escaped, UTF-16LE
// (as Windows APIs and NTLM hold it), and base64 in either alphabet of the secret or of its
// UTF-16LE form at each of the three byte alignments — so it is found inside a longer
// encoded value such as a Basic header's base64("user:password").
func secretForms(secret string) map[string][]byte {
	u16 := utf16.Encode([]rune(secret))
	le := make([]byte, 0, 2*len(u16))
	for _, u := range u16 {
		le = append(le, byte(u), byte(u>>8))
	}
	forms := map[string][]byte{"plain": []byte(secret), "html-escaped": []byte(html.EscapeString(secret)), "utf16le": le}
	for name, raw := range map[string][]byte{"": []byte(secret), "utf16le ": le} {
		for _, enc := range []struct {
			name string
			e    *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			for shift := 0; shift < 3; shift++ {
				// Encode behind shift filler bytes and keep the groups made of the
				// secret's bytes alone: those characters are the same at that offset in
				// any longer value.
				s := enc.e.EncodeToString(append(make([]byte, shift), raw...))
				from, to := 0, 4*((shift+len(raw))/3)
				if shift > 0 {
					from = 4
				}
				forms[name+enc.name+" at +"+string(rune('0'+shift))] = []byte(s[from:to])
			}
		}
	}
	return forms
}

// scanLeaks fails the test for every source in which a secret shows in any of its forms.
func scanLeaks(t *testing.T, sources map[string][]byte, secrets map[string]string) {
	t.Helper()
	for what, secret := range secrets {
		for form, needle := range secretForms(secret) {
			for src, b := range sources {
				if i := bytes.Index(b, needle); i >= 0 {
					t.Errorf("the %s (%s) is in %s: …%q…", what, form, src, b[max(0, i-60):min(len(b), i+len(needle)+20)])
				}
			}
		}
	}
}

// addDirFiles adds every file under dir to sources.
func addDirFiles(t *testing.T, sources map[string][]byte, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		sources[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addReport adds a report file to sources; a PDF as its text, since its page streams are
// compressed and a raw scan would find nothing whatever they hold.
func addReport(t *testing.T, sources map[string][]byte, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report not written: %v", err)
	}
	if filepath.Ext(path) == ".pdf" {
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Fatal("pdftotext is missing: install poppler-utils (.ci/deps.sh test)")
		}
		if b, err = exec.Command("pdftotext", path, "-").Output(); err != nil {
			t.Fatalf("pdftotext %s: %v", path, err)
		}
	}
	sources[path] = b
}

// TestSecretFormsFindEmbeddedBase64: the scan would catch the password inside a Basic
// header and a UTF-16LE blob, whatever the prefix's length.
func TestSecretFormsFindEmbeddedBase64(t *testing.T) {
	const pw = "Canary-Pa55-0f9e"
	u16 := secretForms(pw)["utf16le"]
	for _, hay := range []string{
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("svc@contoso.com:"+pw)),
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("a:"+pw)),
		"x=" + base64.RawURLEncoding.EncodeToString([]byte("ab:"+pw+"&more")),
		base64.StdEncoding.EncodeToString(append([]byte{1, 2, 3, 4, 5}, u16...)),
		"<p>" + html.EscapeString(pw) + "</p>",
	} {
		found := false
		for _, needle := range secretForms(pw) {
			found = found || strings.Contains(hay, string(needle))
		}
		if !found {
			t.Errorf("not found in %q", hay)
		}
	}
}

// TestDiagnoseProfileNoLeaks saves profiles with distinctive secrets, diagnoses them with
// traces into every report format and --json, and scans stdout, stderr, the reports and
// the config folder for the secrets in every form, and for access tokens (JWTs).
func TestDiagnoseProfileNoLeaks(t *testing.T) {
	if os.Getenv("DEPUTY_SECRET_SERVICE") != "1" {
		t.Skip("needs a private Secret Service: run under .ci/with-secret-service.sh (sets DEPUTY_SECRET_SERVICE=1)")
	}
	const canary = "Diag-Leak-Canary-7Qx2-Pw"
	sc := exchangesim.Demo(4)
	for i := range sc.Accounts {
		sc.Accounts[i].Password = canary
	}
	srv := startSimServer(t, sc, exchangesim.Options{})
	dir := filepath.Join(t.TempDir(), "cfg")
	reports := t.TempDir()
	sources := map[string][]byte{}
	run := func(t *testing.T, stdin string, want int, args ...string) string {
		t.Helper()
		code, out, errs := profCLI(t, dir, nil, stdin, args...)
		name := strings.Join(args, " ")
		sources["stdout of "+name], sources["stderr of "+name] = []byte(out), []byte(errs)
		if code != want {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", name, code, want, out, errs)
		}
		return out
	}
	// diagnoseAll runs the profile into each report format (and --json on stdout once).
	diagnoseAll := func(t *testing.T, name, prefix string, extra ...string) []result.Result {
		var rs []result.Result
		for _, ext := range []string{".json", ".html", ".pdf"} {
			path := filepath.Join(reports, prefix+ext)
			args := []string{"diagnose", "--profile", name, "--trace", "--progress", "plain", "--report", path}
			if ext == ".json" {
				args = append(args, "--json")
			}
			args = append(args, extra...) // flags, then mailboxes
			out := run(t, "", exitOK, args...)
			addReport(t, sources, path)
			if ext == ".json" {
				var r result.Result
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatal(err)
				}
				if len(r.Traces) == 0 {
					t.Fatal("--trace recorded no traces: the scan would prove nothing")
				}
				rs = append(rs, r)
			}
		}
		if !bytes.Contains(sources[filepath.Join(reports, prefix+".html")], []byte("Request traces")) {
			t.Error("the HTML report has no traces: the scan would prove nothing")
		}
		return rs
	}

	secrets := map[string]string{"password": canary}
	for _, auth := range []string{"basic", "ntlm"} {
		t.Run(auth, func(t *testing.T) {
			name := "Leak " + auth
			run(t, canary+"\n", exitOK, "profile", "add", name, "--url", srv.URL, "--pin-sha256", srv.SHA256, "--auth", auth,
				"--user", srv.User, "--service-mailbox", srv.User, "--mailboxes", profWriteFile(t, t.TempDir(), "mb.txt", strings.Join(srv.Scenario().Targets(), "\n")),
				"--password-stdin")
			srv.ResetCounters()
			diagnoseAll(t, name, "r-"+auth)
			if auth == "basic" {
				// What Basic puts on the wire: the scan looks for exactly this too.
				userPass := srv.User + ":" + canary
				secrets["user:password"] = userPass
				wire := "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
				sent := false
				for _, h := range srv.Counters().AuthorizationHeaders {
					sent = sent || h == wire
				}
				if !sent {
					t.Fatal("the simulator never received the saved password: the scan would prove nothing")
				}
			}
		})
	}

	t.Run("oauth client secret", func(t *testing.T) {
		s := startEXOSim(t)
		secrets["client secret"] = s.ClientSecret
		name := "Leak OAuth"
		run(t, s.ClientSecret+"\n", exitOK, "profile", "add", name, "--environment", "exo", "--auth", "oauth-app-secret",
			"--tenant", s.Tenant, "--client-id", s.ClientID, "--url", s.URL, "--pin-sha256", s.SHA256, "--password-stdin")
		for _, r := range diagnoseAll(t, name, "r-oauth", "--authority", s.Authority, "anna.berg@fabrikam.test") {
			if st := checkStatus(r, result.CheckToken); st != result.Pass && st != result.Warn { // warn: a token with a remark
				t.Fatalf("no token was obtained (token check %q): the scan would prove nothing", checkStatus(r, result.CheckToken))
			}
		}
	})

	addDirFiles(t, sources, dir)
	scanLeaks(t, sources, secrets)
	for src, b := range sources {
		// An access token is a JWT: base64url of a JSON header, so it starts "eyJ".
		if i := bytes.Index(b, []byte("eyJ")); i >= 0 {
			t.Errorf("a token (JWT) is in %s: …%q…", src, b[max(0, i-40):min(len(b), i+40)])
		}
	}
	if len(sources) < 20 {
		t.Errorf("only %d sources scanned", len(sources))
	}
}
