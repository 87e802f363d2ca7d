//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/internal/web"
)

var (
	cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cssString  = regexp.MustCompile(`"[^"\n]*"|'[^'\n]*'`)
	jsComment  = regexp.MustCompile(`(?m)^[ \t]*//.*$`)
	anySpace   = regexp.MustCompile(`\s+`)
)

// TestMinifiedAssets holds every served stylesheet and script to what the
// minifier may do: remove comments and whitespace and nothing else, keep
// every string as it is, keep a space between the parts of a selector or
// value, and, in script, keep every line break of the code (automatic
// semicolon insertion) with no template literal to break.
func TestMinifiedAssets(t *testing.T) {
	assets := map[string][]byte{"chroma.css": traceback.StyleCSS("github", "github-dark")}
	fs.WalkDir(web.FS, "static", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			assets[path.Base(p)], _ = fs.ReadFile(web.FS, p)
		}
		return err
	})
	for name, orig := range assets {
		min := minifyAsset(name, orig)
		if len(min) >= len(orig) {
			t.Errorf("%s: %d bytes minified, %d before", name, len(min), len(orig))
		}
		switch path.Ext(name) {
		case ".css":
			if got, want := anySpace.ReplaceAllString(string(min), ""), anySpace.ReplaceAllString(cssComment.ReplaceAllString(string(orig), ""), ""); got != want {
				t.Errorf("%s: minifying changed more than whitespace and comments", name)
			}
			for _, s := range cssString.FindAllString(cssComment.ReplaceAllString(string(orig), ""), -1) {
				if !strings.Contains(string(min), s) {
					t.Errorf("%s: string %s changed", name, s)
				}
			}
			if bytes.Contains(min, []byte("/*")) || bytes.Contains(min, []byte("  ")) {
				t.Errorf("%s: comments or runs of spaces left", name)
			}
		case ".js":
			if bytes.ContainsRune(orig, '`') {
				t.Errorf("%s: a template literal, which minifyJS does not know", name)
			}
			code := jsComment.ReplaceAllString(string(orig), "")
			if got, want := anySpace.ReplaceAllString(string(min), ""), anySpace.ReplaceAllString(code, ""); got != want {
				t.Errorf("%s: minifying changed more than whitespace and comments", name)
			}
			if got, want := strings.Count(string(min), "\n"), len(strings.Fields(strings.ReplaceAll(code, " ", "_"))); got != want {
				t.Errorf("%s: %d lines minified, %d lines of code", name, got, want)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{".a  .b > c:hover ,\n.d { color : red ; }", ".a .b>c:hover,.d{color :red;}"},
		{"/* x */ .a :focus { content: \"a  ;  b\" }", ".a :focus{content:\"a  ;  b\"}"},
		{"@media not (prefers-color-scheme: dark) {\n.x { margin: 0 0 0 1px; }\n}", "@media not (prefers-color-scheme:dark){.x{margin:0 0 0 1px;}}"},
	} {
		if got := string(minifyCSS([]byte(tc.in))); got != tc.want {
			t.Errorf("minifyCSS(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
