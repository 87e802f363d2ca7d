package traceback

import (
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString("line")
		b.WriteString(strings.Repeat("x", i%3))
		b.WriteString("\n")
	}
	return b.String()
}

func TestContextWindow(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "a.go", "package a\n\nfunc F() {\n\tpanic(\"x\")\n}\n")
	s := NewSources()
	ctx, err := s.Context(p, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ctx.Lines() {
		mark := ""
		if l.Current {
			mark = ">"
		}
		got = append(got, mark+l.Text)
	}
	want := []string{"func F() {", ">\tpanic(\"x\")", "}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("context = %q, want %q", got, want)
	}
	if ctx.Lines()[0].Number != 3 || !strings.Contains(string(ctx.Lines()[1].HTML()), `class="nx"`) && !strings.Contains(string(ctx.Lines()[1].HTML()), `class="nb"`) {
		t.Errorf("numbering or highlighting off: %+v %q", ctx.Lines()[0], ctx.Lines()[1].HTML())
	}
	// Clamped at both ends of the file.
	ctx, err = s.Context(p, 1, 50)
	if err != nil || len(ctx.Lines()) != 5 || ctx.Lines()[0].Number != 1 {
		t.Errorf("clamped context: %v lines, err %v", len(ctx.Lines()), err)
	}
}

func TestContextErrors(t *testing.T) {
	dir := t.TempDir()
	s := NewSources()
	for _, tc := range []struct {
		name string
		path string
		line int
		want error
	}{
		{"missing", filepath.Join(dir, "gone.go"), 1, ErrNoFile},
		{"trimpath", "example.com/app/main.go", 3, ErrNoFile},
		{"no name", "", 1, ErrNoFile},
		{"directory", dir, 1, ErrNoFile},
		{"not utf-8", writeFile(t, dir, "latin1.go", "package a // caf\xe9\n"), 1, ErrNotUTF8},
		{"past end", writeFile(t, dir, "short.go", "package a\n"), 9, ErrNoLine},
		{"too large", writeFile(t, dir, "big.go", strings.Repeat("// padding\n", maxSourceSize/10)), 1, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Context(tc.path, tc.line, 3)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err.Error() == "" {
				t.Fatal("empty reason")
			}
		})
	}
}

// TestSourcesCachePerVersion proves that a file is read and highlighted once
// per version, and again when it changes.
func TestSourcesCachePerVersion(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.go", numbered(20))
	var calls atomic.Int32
	s := NewSources()
	s.highlight = func(name, text string) []template.HTML {
		calls.Add(1)
		return Highlight(name, text)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.Context(p, 10, 2); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("highlighted %d times for one version, want 1", n)
	}
	if _, err := s.Context(p, 11, 1); err != nil || calls.Load() != 1 {
		t.Fatalf("a window inside a highlighted one was highlighted again (%d calls)", calls.Load())
	}
	writeFile(t, dir, "c.go", numbered(21))
	future := time.Now().Add(time.Hour)
	os.Chtimes(p, future, future)
	ctx, err := s.Context(p, 21, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("highlighted %d times after a change, want 2", n)
	}
	if !ctx.Stale {
		t.Error("a file modified after start is not marked stale")
	}
}

// TestWindowsMatchWholeFile checks that highlighting only the lines shown
// gives each line the same HTML as highlighting the whole file, even for a
// window that starts inside a raw string or a block comment.
func TestWindowsMatchWholeFile(t *testing.T) {
	src := "package a\n\n/*\nblock\ncomment\n*/\nvar s = `raw\n\"quoted\"\n// not a comment\n`\n\nfunc F() int { return 1 }\n"
	p := writeFile(t, t.TempDir(), "w.go", src)
	whole := Highlight(p, src)
	for line := 1; line <= len(whole); line++ {
		s := NewSources()
		ctx, err := s.Context(p, line, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ctx.Lines()[0].HTML(); got != whole[line-1] {
			t.Errorf("line %d alone: %q; in the whole file: %q", line, got, whole[line-1])
		}
	}
}

// Contexts share the file's highlighted lines without a lock while other
// panics highlight other windows of the same file (the race detector is
// the assertion), and every context reads as the whole file highlighted.
func TestContextsShareHighlightedLines(t *testing.T) {
	var src strings.Builder
	src.WriteString("package a\n")
	for i := range 400 {
		fmt.Fprintf(&src, "\nfunc F%d() int {\n\treturn %d\n}\n", i, i)
	}
	p := writeFile(t, t.TempDir(), "many.go", src.String())
	whole := Highlight(p, src.String())
	s := NewSources()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for line := 1 + g*3; line <= len(whole); line += 37 {
				ctx, err := s.Context(p, line, 6)
				if err != nil {
					t.Error(err)
					return
				}
				for _, l := range ctx.Lines() {
					if l.HTML() != whole[l.Number-1] {
						t.Errorf("line %d: %q; in the whole file: %q", l.Number, l.HTML(), whole[l.Number-1])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestHighlightKeepsLineCountAndEscapes(t *testing.T) {
	src := "package a\n\n/* a block\ncomment </script> */\nvar s = `raw\n<img src=x onerror=alert(1)>\nstring`\n\nfunc F() {}\n"
	lines := Highlight("a.go", src)
	if want := strings.Count(src, "\n"); len(lines) != want {
		t.Fatalf("%d highlighted lines for %d source lines", len(lines), want)
	}
	all := ""
	for _, l := range lines {
		all += string(l) + "\n"
	}
	if strings.Contains(all, "<img") || strings.Contains(all, "</script>") {
		t.Fatalf("source was not escaped:\n%s", all)
	}
	if !strings.Contains(all, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("escaped payload missing:\n%s", all)
	}
	if !strings.Contains(string(lines[8]), `<span class="kd">func</span>`) {
		t.Errorf("keyword not highlighted: %q", lines[8])
	}
}

func TestStyleCSSHasBothSchemes(t *testing.T) {
	css := string(StyleCSS("github", "no-such-style"))
	if !strings.Contains(css, "@media (prefers-color-scheme: dark)") || !strings.Contains(css, ".chroma .kd") {
		t.Fatalf("stylesheet lacks a scheme or the keyword class:\n%.400s", css)
	}
	if strings.Count(css, ".chroma .kd") != 2 {
		t.Errorf("keyword rule should appear once per scheme")
	}
	if strings.Contains(css, "*/ .chroma") {
		t.Errorf("the rules still carry chroma's comments, which only weigh the page")
	}
}
