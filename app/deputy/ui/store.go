package ui

import (
	"net/url"
	"strconv"
	"strings"

	"deputy/internal/profile"
)

// FileStore keeps profiles in internal/profile's directory store, shared with deputy-cli.
type FileStore struct {
	S *profile.Store
	// raw keeps each profile as read, so fields the form does not edit (OAuth settings,
	// notes) survive a save from the window.
	raw map[string]profile.Profile
}

// NewFileStore opens the profile directory dir ("" = the standard location).
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		d, err := profile.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s, err := profile.Open(dir)
	if err != nil {
		return nil, err
	}
	return &FileStore{S: s, raw: map[string]profile.Profile{}}, nil
}

// List implements ProfileStore.
func (f *FileStore) List() ([]StoredProfile, []string, error) {
	ps, probs, err := f.S.List()
	if err != nil {
		return nil, nil, err
	}
	var warns []string
	for _, p := range probs {
		w := p.Reason
		if p.BackupPath != "" {
			w += " — kept as " + p.BackupPath
		} else if p.File != "" {
			w += " (" + p.File + ")"
		}
		warns = append(warns, w)
	}
	out := make([]StoredProfile, 0, len(ps))
	for _, p := range ps {
		f.raw[p.ID] = p
		out = append(out, StoredProfile{ID: p.ID, Values: ValuesFromProfile(p), Demo: isDemo(p)})
	}
	return out, warns, nil
}

// Save implements ProfileStore.
func (f *FileStore) Save(sp StoredProfile) (StoredProfile, error) {
	p := f.raw[sp.ID]
	if sp.ID == "" {
		p = profile.Profile{ID: profile.NewID()}
	}
	p = ApplyValues(p, sp.Values)
	if sp.Demo {
		p.Notes = demoNote
	}
	if err := f.S.Save(p); err != nil {
		return sp, err
	}
	f.raw[p.ID] = p
	sp.ID = p.ID
	return sp, nil
}

// Delete implements ProfileStore.
func (f *FileStore) Delete(id string) error {
	delete(f.raw, id)
	return f.S.Delete(id)
}

const demoNote = "Created by “Try the demo”: a simulated Exchange started inside Deputy on 127.0.0.1."

func isDemo(p profile.Profile) bool {
	u, err := url.Parse(p.EWSURL)
	return p.Notes == demoNote && err == nil && u.Hostname() == "127.0.0.1"
}

// ValuesFromProfile is what the form shows for a stored profile.
func ValuesFromProfile(p profile.Profile) FormValues {
	v := FormValues{
		Name: p.Name, Environment: p.Environment, URL: p.EWSURL, UseAutodiscover: p.UseAutodiscover,
		Auth: p.Auth, User: p.User,
		ServiceMailbox: p.ServiceMailbox,
		Mailboxes:      strings.Join(p.Mailboxes, "\n"),
		Rooms:          strings.Join(p.Rooms, "\n"),
		CAFile:         p.TLS.CAFile, PinSHA256: p.TLS.PinSHA256,
		WriteTest: p.WriteTest, CheckRooms: p.CheckRooms,
	}
	if p.Concurrency > 0 {
		v.Concurrency = strconv.Itoa(p.Concurrency)
	}
	return OAuthValuesFromProfile(v, p)
}

// ApplyValues writes the form's values into p, leaving the fields the form does not show.
func ApplyValues(p profile.Profile, v FormValues) profile.Profile {
	p.Name = strings.TrimSpace(v.Name)
	p.Environment = v.Environment
	p.EWSURL = strings.TrimSpace(v.URL)
	p.UseAutodiscover = v.UseAutodiscover
	p.Auth = v.Auth
	p.User = strings.TrimSpace(v.User)
	p.ServiceMailbox = strings.TrimSpace(v.ServiceMailbox)
	p.Mailboxes = ParseList(v.Mailboxes).Addresses
	p.Rooms = ParseList(v.Rooms).Addresses
	p.TLS.CAFile = strings.TrimSpace(v.CAFile)
	p.TLS.PinSHA256 = ""
	if strings.TrimSpace(v.PinSHA256) != "" {
		if h, err := NormalizePin(v.PinSHA256); err == nil {
			p.TLS.PinSHA256 = h
		} else {
			p.TLS.PinSHA256 = strings.TrimSpace(v.PinSHA256)
		}
	}
	p.Concurrency = 0
	if n, err := ParseConcurrency(v.Concurrency); err == nil && strings.TrimSpace(v.Concurrency) != "" {
		p.Concurrency = n
	}
	p.WriteTest, p.CheckRooms = v.WriteTest, v.CheckRooms
	return ApplyOAuthValues(p, v)
}
