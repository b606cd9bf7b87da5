// Package resources holds Deputy's artwork for the binaries. It stays free of Fyne so
// internal packages and the CLI may use it; the window wraps the bytes in a Fyne resource.
package resources

import _ "embed"

// IconPNG is Deputy's application icon, 512×512 PNG.
//
//go:embed icon.png
var IconPNG []byte
