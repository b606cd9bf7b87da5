package ui

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"deputy/internal/setup"
	"deputy/resources"
)

// saveDialog asks where to save with Fyne's file dialog (folders, favourites, overwrite
// prompt) and calls save with the chosen path. A name typed without one of exts gets the
// first; save's error is shown.
func (u *Window) saveDialog(title, name string, exts []string, save func(path string) error) *dialog.FileDialog {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			u.showError(title, err)
			return
		}
		if w == nil {
			return // cancelled
		}
		path := w.URI().Path()
		w.Close()
		if ext := strings.ToLower(filepath.Ext(path)); !slices.Contains(exts, ext) && len(exts) > 0 {
			// The dialog created the file as typed; the file gets the right extension instead.
			if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
				os.Remove(path)
			}
			path += exts[0]
		}
		if err := save(path); err != nil {
			u.showError(title, err)
		}
	}, u.win)
	d.SetTitleText(title)
	d.SetFileName(name)
	if len(exts) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(exts))
	}
	if home, err := os.UserHomeDir(); err == nil {
		for _, dir := range []string{filepath.Join(home, "Documents"), home} {
			if l, err := storage.ListerForURI(storage.NewFileURI(dir)); err == nil {
				d.SetLocation(l)
				break
			}
		}
	}
	d.Resize(fyne.NewSize(880, 600))
	d.Show()
	return d
}

// saveScript saves the Setup tab's script as a .ps1 file.
func (u *Window) saveScript(s *setup.Script) {
	u.saveDialog("Save the PowerShell script", s.FileName, []string{".ps1"}, func(path string) error {
		if err := SaveScript(path, s); err != nil {
			return err
		}
		u.setup.SetStatus("Saved to " + path)
		return nil
	})
}

// offerOpen tells the admin where the file went and offers to open it.
func (u *Window) offerOpen(title, path string) {
	u.ask(title, fmt.Sprintf("Saved to %s", path), []string{"Open", "Close"}, func(a string) {
		if a == "Open" {
			if err := fyne.CurrentApp().OpenURL(FileURL(path)); err != nil {
				u.showError("Cannot open the file", err)
			}
		}
	})
}

// FileURL is path as a file:// URL (Windows drive paths become file:///C:/...).
func FileURL(path string) *url.URL {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return &url.URL{Scheme: "file", Path: p}
}

// Icon is Deputy's application icon (window, taskbar, welcome view).
func Icon() fyne.Resource { return fyne.NewStaticResource("deputy.png", resources.IconPNG) }
