package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"deputy/internal/result"
)

// JSON writes the result itself (deputy.diagnostics/v1), indented, with trace bodies
// redacted once more.
func JSON(w io.Writer, r *result.Result) error {
	if r == nil {
		return fmt.Errorf("report: no result")
	}
	cp := *r
	if len(r.Traces) > 0 {
		cp.Traces = make([]result.Trace, len(r.Traces))
		for i, t := range r.Traces {
			t.Request, t.Response, t.URL = Redact(t.Request), Redact(t.Response), Redact(t.URL)
			cp.Traces[i] = t
		}
	}
	if cp.Schema == "" {
		cp.Schema = result.Schema
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cp); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return bw.Flush()
}

// Formats lists the file extensions Write understands.
var Formats = []string{".html", ".htm", ".pdf", ".json"}

// FormatError says a path's extension names no report format.
type FormatError struct{ Path, Ext string }

func (e *FormatError) Error() string {
	if e.Ext == "" {
		return fmt.Sprintf("report %s: no file extension; use .html, .pdf or .json", e.Path)
	}
	return fmt.Sprintf("report %s: unknown format %q; use .html, .pdf or .json", e.Path, e.Ext)
}

// Write renders r into path, the format chosen by the extension (.html/.htm, .pdf,
// .json). The file appears whole or not at all: it is written to a temporary file in the
// same directory and renamed.
func Write(path string, r *result.Result, o Options) error {
	ext := strings.ToLower(filepath.Ext(path))
	var render func(io.Writer) error
	switch ext {
	case ".html", ".htm":
		render = func(w io.Writer) error { return HTML(w, r, o) }
	case ".pdf":
		render = func(w io.Writer) error { return PDF(w, r, o) }
	case ".json":
		render = func(w io.Writer) error { return JSON(w, r) }
	default:
		return &FormatError{Path: path, Ext: filepath.Ext(path)}
	}
	if r == nil {
		return fmt.Errorf("report %s: no result", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	name := tmp.Name()
	err = render(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp makes the file 0600; a report is meant to be shared.
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}
