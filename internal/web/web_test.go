package web

import (
	"io/fs"
	"testing"
)

// TestContentTypes: every file under static/ has a Content-Type of its
// own kind. The types are a fixed table: an asset of a new kind would
// otherwise go out as application/octet-stream, which, with nosniff, the
// browser refuses to apply.
func TestContentTypes(t *testing.T) {
	names, err := fs.Glob(FS, "static/*")
	if err != nil || len(names) < 4 {
		t.Fatalf("static/ holds %d files (%v)", len(names), err)
	}
	for _, name := range append(names, "chroma.css") { // chroma.css is generated
		if ct := ContentType(name); ct == "application/octet-stream" || ct == "" {
			t.Errorf("%s has no Content-Type of its kind (%q): add its extension to types", name, ct)
		}
	}
	if ct := ContentType("logo.svg"); ct != "application/octet-stream" {
		t.Errorf("logo.svg, a kind static/ does not hold, is typed %q", ct)
	}
}
