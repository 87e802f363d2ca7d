package traceback

import (
	"go/scanner"
	"go/token"
	"html"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Go source is highlighted here with go/scanner, classified as chroma's Go
// lexer classifies it and marked with chroma's short class names, so that
// every chroma style colours it as chroma would. Chroma itself is not
// linked: its lexer and style registries parse their embedded XML in
// package init, about 40 ms of CPU and 5 MB of allocations in every process
// that links it, and the app, its debugging agent and the agent's guardian
// are all this binary (a cost on every start under a reloader, and on the
// console's first use). TestHighlightMatchesChroma holds the two to the
// same HTML over the standard library's sources.

// The classes the highlighter gives, chroma's names for its token types.
const (
	classKeyword        = "k"
	classKeywordConst   = "kc"
	classKeywordDecl    = "kd"
	classKeywordNS      = "kn"
	classKeywordType    = "kt"
	classBuiltin        = "nb"
	classFunction       = "nf"
	className           = "nx"
	classString         = "s"
	classChar           = "sc"
	classNumber         = "m"
	classNumberBin      = "mb"
	classNumberFloat    = "mf"
	classNumberHex      = "mh"
	classNumberInteger  = "mi"
	classNumberOct      = "mo"
	classOperator       = "o"
	classPunctuation    = "p"
	classComment        = "c1"
	classCommentMulti   = "cm"
	classCommentPreproc = "cp"
	classError          = "err"
)

// Highlight splits text into lines of HTML, each token a span whose class is
// chroma's short class name ("k", "nf", "s"…), styled by the CSS from
// StyleCSS. Every byte of source is HTML-escaped here. Only Go is
// highlighted: a file of another language (an assembly frame of the
// runtime, a template mapped by a //line directive) is escaped text.
func Highlight(name, text string) []template.HTML {
	return highlight(name, text, nil)
}

// highlight is Highlight with no span for the classes in plain, which look
// like the source's text (plainClasses).
func highlight(name, text string, plain map[string]bool) []template.HTML {
	var b strings.Builder
	var out []template.HTML
	if !strings.HasSuffix(name, ".go") {
		for line := range strings.Lines(text) {
			b.WriteString(html.EscapeString(strings.TrimSuffix(line, "\n")))
			out = append(out, template.HTML(b.String()))
			b.Reset()
		}
		return out
	}
	out = make([]template.HTML, 0, strings.Count(text, "\n")+1)
	toks := goTokens(text)
	at := 0
	for i := 0; i < len(toks); {
		t := toks[i]
		// Chroma joins neighbouring tokens of one type (its Coalesce), and
		// whitespace between them is a token of its own that keeps them
		// apart.
		end := t.end
		j := i + 1
		for j < len(toks) && toks[j].class == t.class && toks[j].start == end {
			end = toks[j].end
			j++
		}
		emit(&b, &out, "", text[at:t.start]) // whitespace
		cls := t.class
		if plain[cls] {
			cls = ""
		}
		emit(&b, &out, cls, text[t.start:end])
		at, i = end, j
	}
	emit(&b, &out, "", text[at:])
	if b.Len() > 0 {
		out = append(out, template.HTML(b.String()))
	}
	return out
}

// emit adds s, split at its newlines, to the lines: a span of class cls on
// each non-empty piece, or none for cls "".
func emit(b *strings.Builder, out *[]template.HTML, cls, s string) {
	for {
		part, rest, more := strings.Cut(s, "\n")
		if part != "" {
			if cls == "" {
				b.WriteString(html.EscapeString(part))
			} else {
				b.WriteString(`<span class="` + cls + `">` + html.EscapeString(part) + `</span>`)
			}
		}
		if !more {
			return
		}
		*out = append(*out, template.HTML(b.String()))
		b.Reset()
		s = rest
	}
}

// goToken is a token's place in the text and its class.
type goToken struct {
	start, end int
	class      string
}

// Words chroma's Go lexer sets apart, by its rules' order: keywords of
// declaration, namespace and flow, then the predeclared constants, then the
// builtins it marks only when "(" follows at once, then the type names.
var (
	declKeywords = set("var", "func", "struct", "map", "chan", "type", "interface", "const")
	constWords   = set("true", "false", "iota", "nil")
	builtinCalls = set("uint", "uint8", "uint16", "uint32", "uint64", "int", "int8", "int16", "int32", "int64",
		"float", "float32", "float64", "complex64", "complex128", "byte", "rune", "string", "bool", "error",
		"uintptr", "print", "println", "panic", "recover", "close", "complex", "real", "imag", "len", "cap",
		"append", "copy", "delete", "new", "make", "clear", "min", "max")
	typeWords = set("uint", "uint8", "uint16", "uint32", "uint64", "int", "int8", "int16", "int32", "int64",
		"float", "float32", "float64", "complex64", "complex128", "byte", "rune", "string", "bool", "error",
		"uintptr", "any")
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// goTokens scans text and classes its tokens. The scanner's errors are
// ignored: a window of a file may be any Go, even broken, and what it
// cannot read is left as text or marked as an error, never dropped.
func goTokens(text string) []goToken {
	src := []byte(text)
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var sc scanner.Scanner
	sc.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	type scanned struct {
		start, end int
		tok        token.Token
		lit        string
	}
	var all []scanned
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit != ";" {
			continue // inserted at a newline or the end: no text of its own
		}
		start := file.Offset(pos)
		all = append(all, scanned{start, tokenEnd(text, start, tok, lit), tok, lit})
	}
	toks := make([]goToken, len(all))
	for i, s := range all {
		// Chroma's rule for a function name: an identifier starting with an
		// ASCII letter or _, then only whitespace, then "(".
		callNext := i+1 < len(all) && all[i+1].tok == token.LPAREN && strings.TrimSpace(text[s.end:all[i+1].start]) == ""
		toks[i] = goToken{s.start, s.end, goClass(s.tok, s.lit, callNext, callNext && all[i+1].start == s.end)}
	}
	return toks
}

// tokenEnd is where the token at start ends. The scanner drops carriage
// returns from comments and raw strings, so their ends are found in the
// text rather than from the literal's length.
func tokenEnd(text string, start int, tok token.Token, lit string) int {
	rest := text[start:]
	n := len(lit)
	switch {
	case tok == token.COMMENT && strings.HasPrefix(rest, "//"):
		if n = strings.IndexByte(rest, '\n'); n < 0 {
			n = len(rest)
		}
	case tok == token.COMMENT:
		if n = strings.Index(rest[2:], "*/"); n < 0 {
			n = len(rest)
		} else {
			n += 4
		}
	case tok == token.STRING && strings.HasPrefix(rest, "`"):
		if n = strings.IndexByte(rest[1:], '`'); n < 0 {
			n = len(rest)
		} else {
			n += 2
		}
	case lit == "":
		n = len(tok.String())
	}
	return start + min(max(n, 1), len(rest))
}

// goClass is chroma's class for a token; call says "(" follows after only
// whitespace, callNow that it follows at once.
func goClass(tok token.Token, lit string, call, callNow bool) string {
	switch {
	case tok == token.COMMENT:
		switch {
		case strings.HasPrefix(lit, "/*"):
			return classCommentMulti
		case len(lit) > 2 && !unicode.IsSpace(firstRune(lit[2:])):
			// "//go:noinline", "//nolint": chroma's preprocessor comment.
			return classCommentPreproc
		}
		return classComment
	case tok == token.IMPORT || tok == token.PACKAGE:
		return classKeywordNS
	case tok.IsKeyword():
		if declKeywords[tok.String()] {
			return classKeywordDecl
		}
		return classKeyword
	case tok == token.IDENT:
		switch {
		case constWords[lit]:
			return classKeywordConst
		case callNow && builtinCalls[lit]:
			return classBuiltin
		case typeWords[lit]:
			return classKeywordType
		case call && asciiStart(lit):
			return classFunction
		}
		return className
	case tok == token.INT:
		switch {
		case len(lit) > 1 && lit[0] == '0' && (lit[1] == 'x' || lit[1] == 'X'):
			return classNumberHex
		case len(lit) > 1 && lit[0] == '0' && (lit[1] == 'b' || lit[1] == 'B'):
			return classNumberBin
		case len(lit) > 1 && lit[0] == '0':
			return classNumberOct
		}
		return classNumberInteger
	case tok == token.FLOAT:
		return classNumberFloat
	case tok == token.IMAG:
		return classNumber
	case tok == token.CHAR:
		return classChar
	case tok == token.STRING:
		return classString
	case tok == token.ILLEGAL:
		return classError
	case tok.IsOperator():
		switch tok {
		// Chroma's punctuation: delimiters, and these single characters
		// (its "^=" is two of them).
		case token.LPAREN, token.RPAREN, token.LBRACK, token.RBRACK, token.LBRACE, token.RBRACE,
			token.PERIOD, token.COMMA, token.SEMICOLON, token.COLON, token.TILDE,
			token.OR, token.XOR, token.LSS, token.GTR, token.ASSIGN, token.NOT, token.XOR_ASSIGN:
			return classPunctuation
		}
		return classOperator
	}
	return classError
}

func asciiStart(s string) bool {
	c := s[0]
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
