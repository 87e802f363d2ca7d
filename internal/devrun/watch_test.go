package devrun

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
)

func TestIgnoredNames(t *testing.T) {
	for name, want := range map[string]bool{
		"main.go": false, "page.html": false, "go.mod": false,
		".main.go.swp": true, "main.go~": true, "#main.go#": true, ".#main.go": true,
		"4913": true, "_scratch.go": true, "main.go___jb_tmp___": true, ".main.go.kate-swp": true, "x.tmp": true,
	} {
		if got := isIgnoredName(name); got != want {
			t.Errorf("isIgnoredName(%q) = %v, want %v", name, got, want)
		}
	}
	for path, want := range map[string]bool{
		"/src/app/internal/db": false, "/src/app/vendor/x/y": true, "/src/app/.git/objects": true, "/src/app/testdata/in": true,
	} {
		if got := isIgnoredDir(path); got != want {
			t.Errorf("isIgnoredDir(%q) = %v, want %v", path, got, want)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A module with what a build reads and what it does not: the watch set is
// what go list says the build reads, nothing else.
func TestListWatchSet(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":                 "module example.test/w\n\ngo 1.26\n",
		"cmd/app/main.go":        "package main\n\nimport (\n\t_ \"embed\"\n\t\"example.test/w/lib\"\n)\n\n//go:embed page.html\nvar page string\n\nfunc main() { lib.F() }\n",
		"cmd/app/page.html":      "<p>hi</p>\n",
		"cmd/app/notes.txt":      "not embedded\n",
		"cmd/app/main_test.go":   "package main\n",
		"cmd/app/other_os.go":    "//go:build never\n\npackage main\n",
		"lib/lib.go":             "package lib\n\nfunc F() {}\n",
		"unused/unused.go":       "package unused\n",
		"vendor/modules.txt":     "",
		"cmd/app/.main.go.swp":   "x",
		"web/templates/a.gohtml": "{{.}}",
	})
	ws, err := ListWatchSet(context.Background(), dir, "./cmd/app", nil, []string{"web/templates/*.gohtml"})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range ws.Files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"cmd/app/main.go", "cmd/app/page.html", "go.mod", "go.sum", "lib/lib.go", "web/templates/a.gohtml"}
	if !slices.Equal(rel, want) {
		t.Errorf("watched %q,\nwant %q", rel, want)
	}
	if ws.Package != "example.test/w/cmd/app" {
		t.Errorf("package %q, want the import path of ./cmd/app", ws.Package)
	}
	if ws.Module != "example.test/w" {
		t.Errorf("module %q", ws.Module)
	}
}

func TestWatcherWait(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":  "module example.test/w\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() {}\n",
	})
	w := &Watcher{Dir: dir, Pkg: ".", Interval: 30 * time.Millisecond}
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait := func(d time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return w.Wait(ctx)
	}
	// An editor's scratch files, a test and a file outside the build: no
	// rebuild.
	writeFiles(t, dir, map[string]string{".main.go.swp": "x", "main.go~": "x", "main_test.go": "package main\n", "README.md": "x"})
	if what, err := wait(400 * time.Millisecond); err == nil {
		t.Fatalf("a change reported for %s", what)
	}
	// A new Go file joins the build.
	writeFiles(t, dir, map[string]string{"extra.go": "package main\n"})
	if what, err := wait(3 * time.Second); err != nil || what != dir {
		t.Fatalf("new file: %q, %v", what, err)
	}
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A save of a file of the build.
	time.Sleep(10 * time.Millisecond)
	writeFiles(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { println() }\n"})
	if what, err := wait(3 * time.Second); err != nil || what != filepath.Join(dir, "main.go") {
		t.Fatalf("save: %q, %v", what, err)
	}
}

// BuildArgs must mean what the console's advice says: the flags of
// debugapi.GoBuildFlags.
func TestBuildArgsMatchDebuggerAdvice(t *testing.T) {
	// `-gcflags=all="-N -l"` as a shell reads it.
	want := strings.ReplaceAll(debugapi.GoBuildFlags, `"`, "")
	if want == "" || BuildArgs[0] != want {
		t.Fatalf("BuildArgs[0] = %q, debugapi.GoBuildFlags means %q", BuildArgs[0], want)
	}
}

func TestParseBuildErrors(t *testing.T) {
	// Real go build output of Go 1.26 (two packages, a continuation).
	out := "# example.test/b/cmd/app\ncmd/app/main.go:6:13: too many arguments in call to lib.F\n\thave (number)\n\twant ()\ncmd/app/main.go:7:2: undefined: undefinedThing\n# example.test/b/lib\nlib/lib.go:4:1: syntax error: unexpected EOF, expected }\n"
	errs := ParseBuildErrors(out, "/src/b")
	if len(errs) != 3 {
		t.Fatalf("%d errors: %+v", len(errs), errs)
	}
	if e := errs[0]; e.File != "/src/b/cmd/app/main.go" || e.Line != 6 || e.Col != 13 || e.Message != "too many arguments in call to lib.F\nhave (number)\nwant ()" || e.Package != "example.test/b/cmd/app" {
		t.Errorf("first error %+v", e)
	}
	if e := errs[2]; e.File != "/src/b/lib/lib.go" || e.Line != 4 || e.Package != "example.test/b/lib" {
		t.Errorf("last error %+v", e)
	}
	if errs := ParseBuildErrors("stat /src/b/cmd/nope: directory not found\n", "/src/b"); len(errs) != 1 || errs[0].File != "" {
		t.Errorf("position-less error: %+v", errs)
	}
}
