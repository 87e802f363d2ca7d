package traceback

import (
	"fmt"
	"html"
	"html/template"
	"path/filepath"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// Highlight splits text into lines of HTML, each token a span whose class is
// chroma's short class name ("k", "nf", "s"…), styled by the CSS from
// StyleCSS. Every byte of source is HTML-escaped here.
func Highlight(name, text string) []template.HTML {
	return highlight(name, text, nil)
}

// highlight is Highlight with no span for the token types in plain, which
// look like the source's text (plainTypes).
func highlight(name, text string, plain map[chroma.TokenType]bool) []template.HTML {
	lexer := lexers.Get("go")
	if filepath.Ext(name) != ".go" {
		if l := lexers.Match(filepath.Base(name)); l != nil {
			lexer = l
		} else {
			lexer = lexers.Fallback
		}
	}
	lexer = chroma.Coalesce(lexer)
	it, err := lexer.Tokenise(nil, text)
	if err != nil {
		return nil
	}
	lines := chroma.SplitTokensIntoLines(it.Tokens())
	out := make([]template.HTML, 0, len(lines))
	var b strings.Builder
	for _, line := range lines {
		b.Reset()
		for _, tok := range line {
			v := strings.TrimSuffix(tok.Value, "\n")
			if v == "" {
				continue
			}
			// Whitespace needs no colour: its span only weighed the page.
			if cls := tokenClass(tok.Type); cls != "" && tok.Type != chroma.TextWhitespace && !plain[tok.Type] {
				fmt.Fprintf(&b, `<span class="%s">%s</span>`, cls, html.EscapeString(v))
			} else {
				b.WriteString(html.EscapeString(v))
			}
		}
		out = append(out, template.HTML(b.String()))
	}
	// SplitTokensIntoLines yields no line for a trailing newline; the file
	// reader drops it too, so both agree on the count.
	return out
}

func tokenClass(t chroma.TokenType) string {
	for t != 0 {
		if cls, ok := chroma.StandardTypes[t]; ok {
			return cls
		}
		t = t.Parent()
	}
	return ""
}

func style(name, fallback string) *chroma.Style {
	if s, ok := styles.Registry[name]; ok {
		return s
	}
	return styles.Get(fallback)
}
