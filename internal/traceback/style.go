package traceback

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
	"sync"
)

// The source on a page is a few hundred tokens, and in Go most are names
// and punctuation that the usual styles colour exactly as plain text: a
// span for each was a third of a 20-frame page's HTML and as many nodes
// for the browser to lay out before the first paint. So the stylesheet
// gives highlighted source its style's text colour, and the highlighter
// leaves without a span every token that looks like that text in both
// schemes (SetStyles).
//
// The styles are chroma's, read from styles.txt: each style's text colour
// and, for every token class it sets apart from that text, the CSS
// declarations, as chroma's HTML formatter writes them. The table is
// generated from chroma's registry by the test TestStyleTableIsChromas
// (go test ./internal/traceback -run TestStyleTableIsChromas -update), so
// that chroma's package inits never run in the app (highlight.go says
// why), and it fails when chroma's styles and the table part.

//go:embed styles.txt
var styleTable string

// A sheet is one style: its text colour and its rules, each the classes
// that share one set of declarations, in chroma's order of token types.
type sheet struct {
	text  string
	rules []rule
}

type rule struct {
	classes []string
	css     string
}

// sheets is styles.txt, parsed at the first New.
var sheets = sync.OnceValue(parseSheets)

// parseSheets reads styles.txt: a line "name<TAB>text colour" starts a
// style, and each line "<TAB>classes<TAB>declarations" under it is a rule.
func parseSheets() map[string]*sheet {
	out := make(map[string]*sheet)
	var cur *sheet
	for line := range strings.Lines(styleTable) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "\t"); ok && cur != nil {
			classes, css, _ := strings.Cut(rest, "\t")
			cur.rules = append(cur.rules, rule{strings.Fields(classes), css})
			continue
		}
		name, text, _ := strings.Cut(line, "\t")
		cur = &sheet{text: text}
		out[name] = cur
	}
	return out
}

// style returns the style called name, or fallback's for an unknown name.
func style(name, fallback string) *sheet {
	if s, ok := sheets()[name]; ok {
		return s
	}
	return sheets()[fallback]
}

// styled reports whether s gives class cls a rule.
func (s *sheet) styled(cls string) bool {
	for _, r := range s.rules {
		for _, c := range r.classes {
			if c == cls {
				return true
			}
		}
	}
	return false
}

// highlightClasses are the classes the highlighter gives (goClass).
var highlightClasses = []string{
	classKeyword, classKeywordConst, classKeywordDecl, classKeywordNS, classKeywordType,
	classBuiltin, classFunction, className, classString, classChar,
	classNumber, classNumberBin, classNumberFloat, classNumberHex, classNumberInteger, classNumberOct,
	classOperator, classPunctuation, classComment, classCommentMulti, classCommentPreproc, classError,
}

// plainClasses are the classes that look like plain text in both styles.
func plainClasses(light, dark *sheet) map[string]bool {
	plain := make(map[string]bool)
	for _, c := range highlightClasses {
		if !light.styled(c) && !dark.styled(c) {
			plain[c] = true
		}
	}
	return plain
}

// SetStyles makes s highlight for the chroma styles light and dark, as
// StyleCSS(light, dark) colours them: a token that looks like plain text
// in both gets no span. Call it before the first Context.
func (s *Sources) SetStyles(light, dark string) {
	plain := plainClasses(style(light, "github"), style(dark, "github-dark"))
	s.highlight = func(name, text string) []template.HTML { return highlight(name, text, plain) }
}

// StyleCSS returns the stylesheet for highlighted source: the light style
// applies by default and the dark one under prefers-color-scheme: dark.
// Unknown style names fall back to chroma's defaults for each scheme.
// Token classes that share their declarations share one rule.
func StyleCSS(light, dark string) []byte {
	// Each style lives in its own media block: a token that only the light
	// style colours would otherwise keep its dark-on-light colour at night.
	var b bytes.Buffer
	b.WriteString("/* Generated from chroma styles " + light + " and " + dark + ". */\n")
	b.WriteString("@media not (prefers-color-scheme: dark) {\n")
	writeStyleCSS(&b, style(light, "github"))
	b.WriteString("}\n@media (prefers-color-scheme: dark) {\n")
	writeStyleCSS(&b, style(dark, "github-dark"))
	b.WriteString("}\n")
	return b.Bytes()
}

func writeStyleCSS(b *bytes.Buffer, s *sheet) {
	// The page draws the code's background; the text colour is the
	// style's, for the tokens left without a span.
	if s.text != "" {
		b.WriteString(".chroma { color: " + s.text + " }\n")
	}
	for _, r := range s.rules {
		for i, c := range r.classes {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(".chroma ." + c)
		}
		b.WriteString(" { " + r.css + " }\n")
	}
}
