// Package deputy holds the product's identity, read from FyneApp.toml — the single source
// of name, ID and version for the window, the CLI and the Windows packages.
package deputy

import (
	_ "embed"
	"regexp"
)

//go:embed FyneApp.toml
var fyneApp string

var (
	// Name, ID and Version as FyneApp.toml states them.
	Name    = field("Name", "Deputy")
	ID      = field("ID", "app.deputy.desktop")
	Version = field("Version", "0.0.0")
)

func field(key, fallback string) string {
	m := regexp.MustCompile(`(?m)^\s*` + key + `\s*=\s*"([^"]*)"`).FindStringSubmatch(fyneApp)
	if m == nil {
		return fallback
	}
	return m[1]
}
