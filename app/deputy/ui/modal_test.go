package ui

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// walk visits every object under o (containers and widget renderers).
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	visit(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, visit)
		}
	}
}

func findButton(root fyne.CanvasObject, text string) *widget.Button {
	var b *widget.Button
	walk(root, func(o fyne.CanvasObject) {
		if x, ok := o.(*widget.Button); ok && x.Text == text && b == nil {
			b = x
		}
	})
	return b
}

// TestPickFileSave drives Fyne's own save dialog: it opens over the window in the start
// folder, takes a typed name, and hands back the path (with the extension added).
func TestPickFileSave(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"report.html", "report.html"},
		{"script", "script.ps1"},
	}
	test.NewTempApp(t)
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			w := test.NewTempWindow(t, widget.NewLabel(""))
			w.Resize(fyne.NewSize(1000, 700))
			dir := t.TempDir()
			var got string
			d := pickFile(w.Canvas(), "Save it", dir, tt.typed, []string{".ps1", ".html"}, true, func(p string) { got = p })
			if d == nil {
				t.Fatal("no dialog")
			}
			top := w.Canvas().Overlays().Top()
			if top == nil {
				t.Fatal("the save dialog is not on the window")
			}
			save := findButton(top, "Save")
			if save == nil {
				t.Fatal("no Save button in the dialog")
			}
			test.Tap(save)
			if want := filepath.Join(dir, tt.want); got != want {
				t.Fatalf("saved to %q, want %q", got, want)
			}
			if tt.want != tt.typed {
				if _, err := os.Stat(filepath.Join(dir, tt.typed)); err == nil {
					t.Error("the name as typed was left behind as an empty file")
				}
			}
		})
	}
}

func TestPickFileCancel(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1000, 700))
	called := false
	pickFile(w.Canvas(), "Open it", t.TempDir(), "", []string{".csv"}, false, func(string) { called = true })
	cancel := findButton(w.Canvas().Overlays().Top(), "Cancel")
	if cancel == nil {
		t.Fatal("no Cancel button in the open dialog")
	}
	test.Tap(cancel)
	if called || w.Canvas().Overlays().Top() != nil {
		t.Fatalf("Cancel chose a file (%v) or left the dialog open", called)
	}
}

func TestSavePath(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "typed")
	os.WriteFile(empty, nil, 0o600)
	full := filepath.Join(dir, "kept")
	os.WriteFile(full, []byte("x"), 0o600)
	tests := []struct {
		in   string
		exts []string
		want string
		gone bool
	}{
		{filepath.Join(dir, "a.PS1"), []string{".ps1"}, filepath.Join(dir, "a.PS1"), false},
		{empty, []string{".ps1"}, empty + ".ps1", true},
		{full, []string{".json", ".html"}, full + ".json", false},
		{filepath.Join(dir, "any"), nil, filepath.Join(dir, "any"), false},
	}
	for _, tt := range tests {
		if _, err := os.Stat(tt.in); err != nil {
			os.WriteFile(tt.in, nil, 0o600) // what the dialog leaves: the name as typed, empty
		}
		if got := savePath(tt.in, tt.exts); got != tt.want {
			t.Errorf("savePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if _, err := os.Stat(tt.in); tt.gone != os.IsNotExist(err) {
			t.Errorf("%s: removed %v, want %v", tt.in, os.IsNotExist(err), tt.gone)
		}
	}
}
