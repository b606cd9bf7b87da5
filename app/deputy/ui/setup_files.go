package ui

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"

	"deputy/internal/setup"
	"deputy/resources"
)

// saveScript saves the Setup tab's script as a .ps1 file.
func (u *Window) saveScript(s *setup.Script) {
	pickFile(u.win.Canvas(), "Save the PowerShell script", "", s.FileName, []string{".ps1"}, true, func(path string) {
		if err := SaveScript(path, s); err != nil {
			u.showError("Save failed", err)
			return
		}
		u.setup.SetStatus("Saved to " + path)
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
