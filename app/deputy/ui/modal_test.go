package ui

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestFilePicker(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1000, 700))
	dir := t.TempDir()
	for _, f := range []string{"b.txt", "a.csv", "key.pem", ".hidden.csv"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "c.csv"), []byte("x"), 0o600)

	tests := []struct {
		name   string
		save   bool
		pick   func(p *FilePicker)
		want   string
		chosen bool
	}{
		{"open a listed file", false, func(p *FilePicker) { p.list.Select(1); p.confirm() }, filepath.Join(dir, "a.csv"), true},
		{"open into a folder", false, func(p *FilePicker) { p.list.Select(0); p.list.Select(0); p.confirm() }, filepath.Join(dir, "sub", "c.csv"), true},
		{"open a missing file is refused", false, func(p *FilePicker) { p.name.SetText("nope.csv"); p.confirm() }, "", false},
		{"save a new file", true, func(p *FilePicker) { p.name.SetText("out.json"); p.confirm() }, filepath.Join(dir, "out.json"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			called := false
			p := pickFile(w.Canvas(), "Pick", dir, "", []string{".csv", ".txt", ".json"}, tt.save, func(s string) { got, called = s, true })
			if tt.name == "open a listed file" {
				var names []string
				for _, e := range p.entries {
					names = append(names, e.Name())
				}
				if len(names) != 3 || names[0] != "sub" || names[1] != "a.csv" || names[2] != "b.txt" {
					t.Fatalf("entries %v: folders first, filtered by extension, no hidden files", names)
				}
			}
			tt.pick(p)
			if called != tt.chosen || got != tt.want {
				t.Fatalf("chose %q (called %v), want %q (%v); message %q", got, called, tt.want, tt.chosen, p.msg.Text)
			}
			if !tt.chosen {
				p.hide()
			}
		})
	}
}
