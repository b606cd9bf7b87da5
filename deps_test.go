package deputy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The layering rules, as tests (tailscale's deptest): the core knows no UI, the EWS layer
// knows no plan, the simulator shares no code with the clients it tests, and the CLI
// builds without cgo.
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(t *testing.T, env []string, pkgs ...string) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for _, p := range pkgs {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", p)
			cmd.Env = append(os.Environ(), env...)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", p, err, b)
			}
			out[p] = strings.Fields(string(b))
		}
		return out
	}
	list := func(t *testing.T, pattern string) []string {
		b, err := exec.Command("go", "list", pattern).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pattern, err)
		}
		return strings.Fields(string(b))
	}
	rules := []struct {
		name   string
		pkgs   []string
		env    []string
		banned []string
	}{
		{"core imports no UI", list(t, "deputy/internal/..."), nil, []string{"fyne.io/", "deputy/app/"}},
		{"ews does not know the plan", []string{"deputy/internal/ews"}, nil, []string{"deputy/internal/impersonation", "deputy/internal/exchangesim"}},
		{"simulator shares no client code", list(t, "deputy/internal/exchangesim/..."), nil, []string{"deputy/internal/ews", "deputy/internal/transport", "deputy/internal/autodiscover", "deputy/internal/impersonation", "github.com/Azure/go-ntlmssp"}},
		{"cli has no Fyne and no cgo", []string{"deputy/app/deputy-cli"}, []string{"CGO_ENABLED=0"}, []string{"fyne.io/", "github.com/go-gl/"}},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for p, ds := range deps(t, r.env, r.pkgs...) {
				for _, d := range ds {
					for _, b := range r.banned {
						if strings.HasPrefix(d, b) || d == strings.TrimSuffix(b, "/") {
							t.Errorf("%s imports %s", p, d)
						}
					}
				}
			}
		})
	}
	t.Run("cli builds with CGO_ENABLED=0", func(t *testing.T) {
		cmd := exec.Command("go", "build", "-o", os.DevNull, "./app/deputy-cli")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("CGO_ENABLED=0 go build ./app/deputy-cli: %v\n%s", err, b)
		}
	})
}
