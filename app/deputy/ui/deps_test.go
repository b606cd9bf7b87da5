package ui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoAppDriver: the view package never imports fyne's app (GL/cgo) driver, so its
// tests run headless without cgo; only app/deputy/main.go creates the app.
func TestNoAppDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "migrated_fynedo", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "fyne.io/fyne/v2/app" || strings.HasPrefix(p, "github.com/go-gl/") {
			t.Errorf("package ui depends on %s", p)
		}
	}
}
