package traceback

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestPlainTokensHaveNoSpan: with the styles set, the highlighter leaves
// out exactly the spans the stylesheet has no rule for (they would look like
// the text around them), and keeps every span it styles, for several pairs
// of styles.
func TestPlainTokensHaveNoSpan(t *testing.T) {
	src, err := os.ReadFile("source.go")
	if err != nil {
		t.Fatal(err)
	}
	span := regexp.MustCompile(`<span class="([a-z0-9]+)">`)
	for _, pair := range [][2]string{{"github", "github-dark"}, {"monokai", "dracula"}, {"solarized-light", "solarized-dark"}} {
		css := string(StyleCSS(pair[0], pair[1]))
		styled := func(cls string) bool {
			return strings.Contains(css, ".chroma ."+cls+" ") || strings.Contains(css, ".chroma ."+cls+",")
		}
		s := NewSources()
		s.SetStyles(pair[0], pair[1])
		all := strings.Join(htmlLines(s.highlight("source.go", string(src))), "\n")
		plainAll := strings.Join(htmlLines(Highlight("source.go", string(src))), "\n")
		kept := map[string]bool{}
		for _, m := range span.FindAllStringSubmatch(all, -1) {
			kept[m[1]] = true
			if !styled(m[1]) {
				t.Errorf("%v: a span of class %q, which the stylesheet does not colour", pair, m[1])
			}
		}
		for _, m := range span.FindAllStringSubmatch(plainAll, -1) {
			if !kept[m[1]] && styled(m[1]) {
				t.Errorf("%v: the spans of class %q were dropped, but the stylesheet colours them", pair, m[1])
			}
		}
		if !kept["kd"] {
			t.Errorf("%v: keywords lost their spans", pair)
		}
		if len(all) >= len(plainAll) {
			t.Errorf("%v: %d bytes with the styles set, %d without: no span was dropped", pair, len(all), len(plainAll))
		}
	}
	// github colours names and punctuation as its text: those spans go.
	s := NewSources()
	s.SetStyles("github", "github-dark")
	line := string(s.highlight("a.go", "x := foo(1)\n")[0])
	if want := `x <span class="o">:=</span> <span class="nf">foo</span>(<span class="mi">1</span>)`; line != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
}

func htmlLines[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = string(s)
	}
	return out
}
