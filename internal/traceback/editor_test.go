package traceback

import (
	"net/url"
	"strings"
	"testing"
)

func TestEditorPaths(t *testing.T) {
	m, err := ParseEditorPaths(" /app=/Users/me/src/shop , /app/vendor/=/Users/me/src/vendored/,/go/pkg/mod=C:/Users/me/go/pkg/mod,example.com/shop=/Users/me/src/trimmed,")
	if err != nil || len(m) != 4 {
		t.Fatalf("ParseEditorPaths: %v, %v", m, err)
	}
	for _, tt := range []struct{ in, want string }{
		{"/app/handlers.go", "/Users/me/src/shop/handlers.go"},
		{"/app/internal/cart/cart.go", "/Users/me/src/shop/internal/cart/cart.go"},
		{"/app/vendor/x/y.go", "/Users/me/src/vendored/x/y.go"}, // the longest prefix wins
		{"/application/main.go", "/application/main.go"},        // whole elements only
		{"/app", "/Users/me/src/shop"},
		{"/go/pkg/mod/github.com/x/y@v1/z.go", "C:/Users/me/go/pkg/mod/github.com/x/y@v1/z.go"},
		{"example.com/shop/handlers.go", "/Users/me/src/trimmed/handlers.go"}, // a -trimpath name
		{"/usr/local/go/src/runtime/panic.go", "/usr/local/go/src/runtime/panic.go"},
		{"", ""},
	} {
		if got := m.Map(tt.in); got != tt.want {
			t.Errorf("Map(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Pairs appended later win over an equal prefix: the environment's
	// over the options'.
	over := append(m, EditorPath{From: "/app", To: "/home/other/shop"})
	if got := over.Map("/app/handlers.go"); got != "/home/other/shop/handlers.go" {
		t.Errorf("an appended pair did not override: %q", got)
	}
	root, _ := ParseEditorPaths("/=/Volumes/vm")
	if got := root.Map("/app/x.go"); got != "/Volumes/vm/app/x.go" {
		t.Errorf("mapping / : %q", got)
	}
	var none EditorPaths
	if got := none.Map("/app/x.go"); got != "/app/x.go" {
		t.Errorf("no pairs: %q", got)
	}
}

func TestParseEditorPathsInvalid(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/app", "want from=to"},
		{"/app=", "both sides"},
		{"=/Users/me", "both sides"},
		{"/app=src/shop", `"src/shop" is not an absolute path`},
		{"/app=C:shop", "not an absolute path"},
	} {
		if _, err := ParseEditorPath(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseEditorPath(%q): %v, want an error saying %q", tt.in, err, tt.want)
		}
	}
	m, err := ParseEditorPaths("/app=/Users/me/shop,/bad,/x=rel")
	if len(m) != 1 || err == nil || !strings.Contains(err.Error(), `"/bad"`) || !strings.Contains(err.Error(), `"/x=rel"`) {
		t.Errorf("a list with two bad pairs: %v, %v; want the good one and both named", m, err)
	}
}

// The mapping reaches the page's editor links, and only them: the frame
// still shows the path the binary records.
func TestEditorPathsInPage(t *testing.T) {
	r, err := NewRenderer("/__panicroom__/", "vscode")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := ParseEditorPaths("/app=/Users/me/src/shop")
	r.SetEditorPaths(m)
	v := r.frameView(Frame{Function: "main.handler", File: "/app/handlers.go", Line: 12})
	if v.EditorURL != "vscode://file/Users/me/src/shop/handlers.go:12" {
		t.Errorf("editor link %q", v.EditorURL)
	}
	if v.File != "/app/handlers.go" || !strings.Contains(v.Short, "handlers.go") || strings.Contains(v.Short, "Users") {
		t.Errorf("the frame shows %q (%q), want the app's own path", v.File, v.Short)
	}
}

// TestEditorURLAsReplacer: links are what a strings.Replacer of {file} and
// {line} made, for every editor and for file names that hold the
// placeholders themselves (replaced once, never again).
func TestEditorURLAsReplacer(t *testing.T) {
	for _, e := range []Editor{"", "vscode", "goland", "zed", "idea://open?file={file}&line={line}&again={file}", "x-edit://{line}/{file}{line}"} {
		for _, file := range []string{"/src/app/main.go", "/weird/{line}/{file}.go", "rel/a b.go"} {
			tmpl, ok := editorTemplates[e]
			if e == "" {
				tmpl = editorTemplates["vscode"]
			} else if !ok {
				tmpl = string(e)
			}
			f := file
			if !strings.HasPrefix(f, "/") && strings.Contains(tmpl, "file{file}") {
				f = "/" + f
			}
			escaped := (&url.URL{Path: f}).EscapedPath()
			if strings.Contains(tmpl, "?") && strings.Index(tmpl, "?") < strings.Index(tmpl, "{file}") {
				escaped = url.QueryEscape(f)
			}
			want := strings.NewReplacer("{file}", escaped, "{line}", "42").Replace(tmpl)
			if got := string(e.URL(file, 42)); got != want {
				t.Errorf("%q, %q: %q, want %q", e, file, got, want)
			}
		}
	}
}
