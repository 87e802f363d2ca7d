package traceback

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// Highlight splits text into lines of HTML, each token a span whose class is
// chroma's short class name ("k", "nf", "s"…), styled by the CSS from
// StyleCSS. Every byte of source is HTML-escaped here.
func Highlight(name, text string) []template.HTML {
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
			if cls := tokenClass(tok.Type); cls != "" && tok.Type != chroma.TextWhitespace {
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

// StyleCSS returns the stylesheet for highlighted source: the light style
// applies by default and the dark one under prefers-color-scheme: dark.
// Unknown style names fall back to chroma's defaults for each scheme.
func StyleCSS(light, dark string) []byte {
	// Each style lives in its own media block: a token that only the light
	// style colours would otherwise keep its dark-on-light colour at night.
	// Tokens a style leaves alone take the page's text colour.
	f := chromahtml.New(chromahtml.WithClasses(true))
	var b bytes.Buffer
	b.WriteString("/* Generated from chroma styles " + light + " and " + dark + ". */\n")
	b.WriteString("@media not (prefers-color-scheme: dark) {\n")
	f.WriteCSS(&b, style(light, "github"))
	b.WriteString("}\n@media (prefers-color-scheme: dark) {\n")
	f.WriteCSS(&b, style(dark, "github-dark"))
	b.WriteString("}\n")
	// chroma names each rule's token type in a comment: a third of the
	// stylesheet's bytes.
	return tokenComment.ReplaceAll(b.Bytes(), nil)
}

var tokenComment = regexp.MustCompile(`(?m)^/\* [A-Za-z]+ \*/ `)

func style(name, fallback string) *chroma.Style {
	if s, ok := styles.Registry[name]; ok {
		return s
	}
	return styles.Get(fallback)
}
