package ui

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Prompts and file choosers are Fyne's own dialogs (title bar, keyboard, theme); modal keeps
// the small API the window's code calls.

// modal shows content with a title and buttons in a Fyne dialog over the window; the
// returned func hides it.
func modal(c fyne.Canvas, title string, content fyne.CanvasObject, buttons ...fyne.CanvasObject) func() {
	if win := windowFor(c); win != nil {
		d := dialog.NewCustomWithoutButtons(title, content, win)
		d.SetButtons(buttons)
		d.Show()
		return d.Hide
	}
	// No window owns c (an object not yet shown): a plain modal pop-up on the canvas.
	t := widget.NewLabel(title)
	t.TextStyle.Bold = true
	t.SizeName = theme.SizeNameSubHeadingText
	bar := container.NewHBox(append([]fyne.CanvasObject{layout.NewSpacer()}, buttons...)...)
	pop := widget.NewModalPopUp(container.NewPadded(container.NewBorder(t, bar, nil, nil, content)), c)
	pop.Show()
	return pop.Hide
}

// fixedWidth wraps content so it lays out at width w (wrapping labels need a width).
func fixedWidth(w float32, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(&widthLayout{w: w}, content)
}

type widthLayout struct{ w float32 }

func (l *widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (l *widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		o.Resize(fyne.NewSize(l.w, o.MinSize().Height))
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.w, h)
}

// pickFile opens Fyne's file dialog (favourites, folders, filter by exts, overwrite prompt
// when saving) over the window that shows c; done gets the chosen path, never on Cancel.
// A saved name typed without one of exts gets the first.
func pickFile(c fyne.Canvas, title, startDir, fileName string, exts []string, save bool, done func(string)) *dialog.FileDialog {
	win := windowFor(c)
	if win == nil {
		slog.Error("file dialog: no window for the canvas", "title", title)
		return nil
	}
	var d *dialog.FileDialog
	if save {
		d = dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
			if err != nil {
				dialog.ShowError(err, win)
				return
			}
			if w == nil {
				return
			}
			path := w.URI().Path()
			w.Close()
			done(savePath(path, exts))
		}, win)
		d.SetFileName(fileName)
		d.SetConfirmText("Save")
	} else {
		d = dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil {
				dialog.ShowError(err, win)
				return
			}
			if r == nil {
				return
			}
			path := r.URI().Path()
			r.Close()
			done(path)
		}, win)
	}
	d.SetTitleText(title)
	if len(exts) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(exts))
	}
	if l := startLocation(startDir); l != nil {
		d.SetLocation(l)
	}
	d.Show()
	d.Resize(fyne.NewSize(880, 600)) // after Show: before it the dialog has no content
	return d
}

// savePath gives a name typed without one of exts the first of them. The dialog has
// already created the file as typed; an empty one is removed so no stray file is left.
func savePath(path string, exts []string) string {
	if len(exts) == 0 || slices.Contains(exts, strings.ToLower(filepath.Ext(path))) {
		return path
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		os.Remove(path)
	}
	return path + exts[0]
}

// startLocation is dir, else Documents, else home — the first that can be listed.
func startLocation(dir string) fyne.ListableURI {
	var dirs []string
	if dir != "" {
		dirs = append(dirs, dir)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "Documents"), home)
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if l, err := storage.ListerForURI(storage.NewFileURI(d)); err == nil {
			return l
		}
	}
	return nil
}

// windowFor finds the window whose canvas is c (dialogs need a window, callers have a canvas).
func windowFor(c fyne.Canvas) fyne.Window {
	for _, w := range fyne.CurrentApp().Driver().AllWindows() {
		if w.Canvas() == c {
			return w
		}
	}
	return nil
}
