package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"deputy/internal/secret"
)

// ErrNotFound means no profile has the given name or ID.
var ErrNotFound = errors.New("profile not found")

// ErrNameTaken means another profile already has the name (names are unique ignoring case).
var ErrNameTaken = errors.New("another profile has this name")

// Problem is a profile file that could not be loaded. It was not deleted: a corrupt file
// was moved to BackupPath, a file from a newer Deputy was left where it is.
type Problem struct {
	File       string // the file as found
	Reason     string
	BackupPath string // where the file is now, if it was moved
}

// Store is the directory of profile files, one "<id>.json" per profile. The window and
// deputy-cli share it.
type Store struct {
	Dir string
}

// DefaultDir is os.UserConfigDir()/Deputy (%AppData%\Deputy on Windows,
// ~/Library/Application Support/Deputy on macOS, $XDG_CONFIG_HOME/Deputy on Linux).
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration folder: %w", err)
	}
	return filepath.Join(d, "Deputy"), nil
}

// Open returns the store in dir, creating the directory (readable only by the user).
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("profile store: no directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the profile folder: %w", err)
	}
	return &Store{Dir: dir}, nil
}

const (
	tmpPrefix = "."          // temp files are hidden: ".<id>.json.tmp-*"
	tmpMarker = ".json.tmp-" // and carry this marker
	staleTemp = 10 * time.Minute
)

func (s *Store) path(id string) string { return filepath.Join(s.Dir, id+".json") }

// List returns every readable profile, sorted by name, and a Problem for every file that
// is not. A file that is not valid JSON (or not a profile) is renamed to
// "<name>.json.bad-<timestamp>" so it no longer shadows anything but stays for the user;
// a file with a newer schemaVersion is left untouched for the Deputy that wrote it. Two
// profiles with the same name are both returned, with a Problem.
func (s *Store) List() ([]Profile, []Problem, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("reading the profile folder: %w", err)
	}
	var out []Profile
	var problems []Problem
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) && strings.Contains(name, tmpMarker) {
			s.removeStaleTemp(name)
			continue
		}
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		p, prob := s.load(name)
		if prob != nil {
			problems = append(problems, *prob)
			continue
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	for i := 1; i < len(out); i++ {
		if strings.EqualFold(strings.TrimSpace(out[i].Name), strings.TrimSpace(out[i-1].Name)) {
			problems = append(problems, Problem{File: s.path(out[i].ID),
				Reason: fmt.Sprintf("two profiles are named %q (ids %s and %s); rename one", out[i].Name, out[i-1].ID, out[i].ID)})
		}
	}
	return out, problems, nil
}

// removeStaleTemp deletes a temp file left by a crashed save. Young ones may belong to a
// save in progress in another process (the window and the CLI share the folder).
func (s *Store) removeStaleTemp(name string) {
	p := filepath.Join(s.Dir, name)
	if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > staleTemp {
		_ = os.Remove(p)
	}
}

// load reads one file; a Problem says why it was not loaded.
func (s *Store) load(name string) (Profile, *Problem) {
	path := filepath.Join(s.Dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, &Problem{File: path, Reason: "cannot read: " + err.Error()}
	}
	p, err := Decode(data)
	var newer *NewerError
	switch {
	case errors.As(err, &newer):
		return Profile{}, &Problem{File: path, Reason: err.Error() + "; left untouched"}
	case err != nil:
		return Profile{}, s.moveAside(path, err.Error())
	}
	// The file name is the ID: a copied or hand-edited file keeps working under it.
	p.ID = strings.TrimSuffix(name, ".json")
	if !ValidID(p.ID) {
		return Profile{}, s.moveAside(path, "the file name is not a valid profile id")
	}
	return p, nil
}

func (s *Store) moveAside(path, reason string) *Problem {
	backup := fmt.Sprintf("%s.bad-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(path, backup); err != nil {
		return &Problem{File: path, Reason: reason + "; could not move it aside: " + err.Error()}
	}
	return &Problem{File: path, Reason: reason + "; moved aside", BackupPath: backup}
}

// NewerError is a profile written by a newer Deputy.
type NewerError struct{ Version int }

func (e *NewerError) Error() string {
	return fmt.Sprintf("written by a newer Deputy (profile schema %d; this version reads %d)", e.Version, SchemaVersion)
}

// Decode parses a profile file. A missing schemaVersion is read as 1 (hand-written
// files); a higher one is a *NewerError.
func Decode(data []byte) (Profile, error) {
	var probe struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Notepad's BOM
	if err := json.Unmarshal(data, &probe); err != nil {
		return Profile{}, fmt.Errorf("not a valid profile file: %w", err)
	}
	if probe.SchemaVersion != nil && *probe.SchemaVersion > SchemaVersion {
		return Profile{}, &NewerError{Version: *probe.SchemaVersion}
	}
	if probe.SchemaVersion != nil && *probe.SchemaVersion < 1 {
		return Profile{}, fmt.Errorf("not a valid profile file: schemaVersion %d", *probe.SchemaVersion)
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return Profile{}, fmt.Errorf("not a valid profile file: %w", err)
	}
	if strings.TrimSpace(p.Name) == "" {
		return Profile{}, errors.New("not a valid profile file: no name")
	}
	p.SchemaVersion = SchemaVersion
	return p, nil
}

// Get finds a profile by ID or by name (ignoring case and surrounding spaces).
func (s *Store) Get(nameOrID string) (Profile, error) {
	list, _, err := s.List()
	if err != nil {
		return Profile{}, err
	}
	return find(list, nameOrID)
}

func find(list []Profile, nameOrID string) (Profile, error) {
	for _, p := range list {
		if p.ID == nameOrID {
			return p, nil
		}
	}
	want := strings.TrimSpace(nameOrID)
	var hits []Profile
	for _, p := range list {
		if strings.EqualFold(strings.TrimSpace(p.Name), want) {
			hits = append(hits, p)
		}
	}
	switch len(hits) {
	case 0:
		return Profile{}, fmt.Errorf("no profile named %q: %w", nameOrID, ErrNotFound)
	case 1:
		return hits[0], nil
	}
	return Profile{}, fmt.Errorf("%d profiles are named %q; use the id (%s or %s)", len(hits), nameOrID, hits[0].ID, hits[1].ID)
}

// Save writes p, creating it or replacing the profile with the same ID. A new profile
// should get its ID from NewID first (Save assigns one when p.ID is empty, but the caller
// then has to find it by name). Save refuses a name another profile has, and checks only
// what the file needs (an ID and a name) so a half-filled form can be kept; call Validate
// before running. The write is atomic: a crash leaves the old file or the new one, never
// a mix or nothing.
func (s *Store) Save(p Profile) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return &FieldError{Field: "name", Message: "a profile needs a name"}
	}
	if p.ID == "" {
		p.ID = NewID()
	}
	if !ValidID(p.ID) {
		return &FieldError{Field: "id", Message: fmt.Sprintf("%q is not a valid profile id", clip(p.ID, 70))}
	}
	list, _, err := s.List()
	if err != nil {
		return err
	}
	for _, q := range list {
		if q.ID != p.ID && strings.EqualFold(q.Name, p.Name) {
			return fmt.Errorf("cannot save %q: %w (id %s)", p.Name, ErrNameTaken, q.ID)
		}
	}
	// Never replace a file this version could not read (newer schema).
	if data, err := os.ReadFile(s.path(p.ID)); err == nil {
		var newer *NewerError
		if _, err := Decode(data); errors.As(err, &newer) {
			return fmt.Errorf("cannot save %q: its file was %w", p.Name, err)
		}
	}
	p.SchemaVersion = SchemaVersion
	p.Modified = time.Now().UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(s.Dir, p.ID+".json", append(data, '\n')); err != nil {
		return fmt.Errorf("saving profile %q: %w", p.Name, err)
	}
	return nil
}

// writeAtomic writes name in dir via a temp file in the same directory: write, fsync,
// close, rename over the target, fsync the directory so the rename itself is durable.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+name[:len(name)-len(".json")]+tmpMarker+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	if runtime.GOOS != "windows" { // directories cannot be fsynced on Windows; MoveFileEx is durable enough
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}

// Delete removes a profile's file. It does not touch the keychain; Remove does both.
func (s *Store) Delete(nameOrID string) error {
	p, err := s.Get(nameOrID)
	if err != nil {
		return err
	}
	if err := os.Remove(s.path(p.ID)); err != nil {
		return fmt.Errorf("deleting profile %q: %w", p.Name, err)
	}
	return nil
}

// Remove deletes a profile's secrets from the keychain, then its file, and returns what
// was deleted. If the keychain cannot delete the secrets (locked, not answering,
// unavailable) nothing is deleted and the *secret.Error says why; the caller may then
// offer Delete, which removes only the file.
func (s *Store) Remove(ctx context.Context, keys *secret.Store, nameOrID string) (Profile, error) {
	p, err := s.Get(nameOrID)
	if err != nil {
		return p, err
	}
	if err := keys.DeleteProfile(ctx, p.ID); err != nil {
		return p, fmt.Errorf("profile %q was kept: removing its secrets failed: %w", p.Name, err)
	}
	if err := os.Remove(s.path(p.ID)); err != nil {
		return p, fmt.Errorf("deleting profile %q: %w", p.Name, err)
	}
	return p, nil
}

// Rename gives a profile a new name; its ID, and so its keychain entries, stay.
func (s *Store) Rename(nameOrID, newName string) error {
	p, err := s.Get(nameOrID)
	if err != nil {
		return err
	}
	p.Name = newName
	return s.Save(p)
}
