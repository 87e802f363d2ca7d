package traceback

import (
	"bytes"
	"html/template"
	"slices"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
)

// The source on a page is a few hundred tokens, and in Go most are names
// and punctuation that the usual styles colour exactly as plain text: a
// span for each was a third of a 20-frame page's HTML and as many nodes
// for the browser to lay out before the first paint. So the stylesheet
// gives highlighted source its style's text colour, and the highlighter
// leaves without a span every token that looks like that text in both
// schemes (SetStyles).

// textColour is the colour of a style's plain source text: its background
// entry's, or for a style that leaves that to the page (github), its
// punctuation's, which such styles set to their text colour.
func textColour(s *chroma.Style) chroma.Colour {
	if c := s.Get(chroma.Background).Colour; c.IsSet() {
		return c
	}
	return s.Get(chroma.Punctuation).Colour
}

// tokenCSS returns the declarations that set token type t apart from the
// plain text of s; "" for a token that looks like plain text.
func tokenCSS(s *chroma.Style, t chroma.TokenType) string {
	base := s.Get(chroma.Background)
	base.Colour = textColour(s)
	return chromahtml.StyleEntryToCSS(s.Get(t).Sub(base))
}

// tokenTypes are the token types that get a class, in a fixed order: the
// lexer's and Error (the formatter's own types, line numbers and such, are
// the other negative ones: our rows are not chroma's).
var tokenTypes = func() []chroma.TokenType {
	var out []chroma.TokenType
	for t := range chroma.StandardTypes {
		if t > 0 || t == chroma.Error {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}()

// plainTypes are the token types that look like plain text in both styles.
func plainTypes(light, dark *chroma.Style) map[chroma.TokenType]bool {
	plain := make(map[chroma.TokenType]bool)
	for _, t := range tokenTypes {
		if tokenCSS(light, t) == "" && tokenCSS(dark, t) == "" {
			plain[t] = true
		}
	}
	return plain
}

// SetStyles makes s highlight for the chroma styles light and dark, as
// StyleCSS(light, dark) colours them: a token that looks like plain text
// in both gets no span. Call it before the first Context.
func (s *Sources) SetStyles(light, dark string) {
	plain := plainTypes(style(light, "github"), style(dark, "github-dark"))
	s.highlight = func(name, text string) []template.HTML { return highlight(name, text, plain) }
}

// StyleCSS returns the stylesheet for highlighted source: the light style
// applies by default and the dark one under prefers-color-scheme: dark.
// Unknown style names fall back to chroma's defaults for each scheme.
// Token types that share their declarations share one rule.
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

func writeStyleCSS(b *bytes.Buffer, s *chroma.Style) {
	// The page draws the code's background; the text colour is the
	// style's, for the tokens left without a span.
	if c := textColour(s); c.IsSet() {
		b.WriteString(".chroma { color: " + c.String() + " }\n")
	}
	var order []string
	selectors := make(map[string][]string)
	for _, t := range tokenTypes {
		css := tokenCSS(s, t)
		if css == "" {
			continue
		}
		if _, ok := selectors[css]; !ok {
			order = append(order, css)
		}
		selectors[css] = append(selectors[css], ".chroma ."+chroma.StandardTypes[t])
	}
	for _, css := range order {
		b.WriteString(strings.Join(selectors[css], ",") + " { " + css + " }\n")
	}
}
