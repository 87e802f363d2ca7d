package traceback

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"html/template"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Context is the source around one frame's line.
//
// It holds the cached file's lines as they are, not a Line per row: a
// parked panic keeps its context for as long as it is parked (and its page
// for as long as it is remembered), and a Line per row of every frame was
// the largest part of what a panic kept (a sixth, 18 KiB of 20 frames).
type Context struct {
	first   int             // number of text[0]
	current int             // the frame's line
	text    []string        // the lines, shared with the cached file
	html    []template.HTML // the lines highlighted, one per text

	// Stale is set when the file changed after the program started, so the
	// lines shown may not be the lines that ran.
	Stale bool
}

// Lines returns the context's lines, in order.
func (c *Context) Lines() []Line {
	out := make([]Line, len(c.text))
	for i := range c.text {
		out[i] = c.line(i)
	}
	return out
}

func (c *Context) line(i int) Line {
	n := c.first + i
	return Line{Number: n, Text: c.text[i], Current: n == c.current, html: c.html[i]}
}

// MarshalJSON writes the context as {"lines": [...], "stale": true}, a Line
// per row: the shape of the JSON view, which predates the compact form.
func (c *Context) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Lines []Line `json:"lines"`
		Stale bool   `json:"stale,omitempty"`
	}{c.Lines(), c.Stale})
}

// Line is one line of source, plain and highlighted.
type Line struct {
	Number  int    `json:"number"`
	Text    string `json:"text"`
	Current bool   `json:"current,omitempty"`

	html template.HTML
}

// HTML is the highlighted line. The chroma token classes and the escaped
// text come from Highlight; this is the only door through which highlighted
// source reaches a template.
func (l Line) HTML() template.HTML { return l.html }

// Rows returns the context as table rows. Executing a template per line costs
// reflection on every field and dominated the time to render a page, so the
// rows are built here: each holds a line number and Line.HTML, which is
// already escaped, and nothing else. The end tags of cells and rows are
// left to the parser (HTML closes them at the next row), and the number is
// the row's header cell, which needs no class: a fifth of a source
// table's bytes.
func (c *Context) Rows() template.HTML {
	var b strings.Builder
	for i := range c.text {
		l := c.line(i)
		if l.Current {
			b.WriteString(`<tr class="current">`)
		} else {
			b.WriteString(`<tr>`)
		}
		b.WriteString(`<th>`)
		b.WriteString(strconv.Itoa(l.Number))
		b.WriteString(`<td>`)
		b.WriteString(string(l.HTML()))
	}
	return template.HTML(b.String())
}

// Limits on what is read from disk for a frame.
const (
	maxSourceSize   = 4 << 20
	maxCachedFiles  = 512
	DefaultContext  = 7
	maxContextLines = 200
)

// Sources reads source files and keeps each one, highlighted, for as long as
// its size and modification time stay the same. Its zero value is not
// ready: use NewSources. It is safe for concurrent use.
type Sources struct {
	mu      sync.Mutex
	files   map[string]*sourceFile
	started time.Time
	// Highlight turns a file into per-line HTML; nil means plain escaping.
	highlight func(name, text string) []template.HTML
}

type sourceFile struct {
	name    string
	size    int64
	modTime time.Time
	lines   []string
	err     error
	ready   chan struct{} // closed once lines and err are set

	// Highlighting is done per window of lines, on demand: chroma lexes about
	// a megabyte a second, and a panic shows a few lines of each of several
	// large standard library files. A window starts and ends outside any
	// token that spans lines (raw strings, block comments), so each line is
	// highlighted exactly as it would be in the whole file.
	//
	// An entry of html is written at most once, under mu, from "" to the
	// line's highlighted text, and only for a line that is not empty (an
	// empty line stays "", which is its highlighting). So once highlighted
	// has returned a window, nothing writes to it again, and contexts share
	// it without the lock instead of keeping a copy each.
	mu    sync.Mutex
	html  []template.HTML // "" entries of non-empty lines are not highlighted yet
	spans []span          // multi-line tokens, for .go files
}

// span is a token covering lines first..last (1-based, inclusive).
type span struct{ first, last int }

// NewSources returns an empty cache that highlights with chroma.
func NewSources() *Sources {
	return &Sources{files: make(map[string]*sourceFile), started: time.Now(), highlight: Highlight}
}

// Errors a frame may show instead of source.
var (
	ErrNoFile   = errors.New("source file not found")
	ErrTooLarge = fmt.Errorf("source file larger than %d MiB", maxSourceSize>>20)
	ErrNotUTF8  = errors.New("source file is not UTF-8 text")
	ErrNoLine   = errors.New("line is past the end of the file")
)

// Context returns the lines within radius of line in file.
func (s *Sources) Context(file string, line, radius int) (*Context, error) {
	radius = min(max(radius, 0), maxContextLines)
	f, err := s.file(file)
	if err != nil {
		return nil, err
	}
	if line < 1 || line > len(f.lines) {
		return nil, fmt.Errorf("%w: line %d of %d (the file changed since the build?)", ErrNoLine, line, len(f.lines))
	}
	lo, hi := max(1, line-radius), min(len(f.lines), line+radius)
	html := f.highlighted(lo, hi, s.highlight)
	// f.lines is never written after the load, so the context may share it.
	return &Context{first: lo, current: line, text: f.lines[lo-1 : hi : hi], html: html, Stale: f.modTime.After(s.started)}, nil
}

// file returns the cached version of name, reading and highlighting it when
// it is new or changed. Concurrent panics in the same new file wait for one
// read instead of each doing it.
func (s *Sources) file(name string) (*sourceFile, error) {
	if name == "" || strings.HasPrefix(name, "<") {
		return nil, fmt.Errorf("%w: the frame has no file name", ErrNoFile)
	}
	fi, err := os.Stat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: the binary was built on another machine or with -trimpath", ErrNoFile, name)
		}
		return nil, fmt.Errorf("reading source: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoFile, name)
	}
	if fi.Size() > maxSourceSize {
		return nil, ErrTooLarge
	}

	s.mu.Lock()
	f := s.files[name]
	if f == nil || f.size != fi.Size() || !f.modTime.Equal(fi.ModTime()) {
		if len(s.files) >= maxCachedFiles {
			for k := range s.files { // any victim will do: the cache is a convenience
				delete(s.files, k)
				break
			}
		}
		f = &sourceFile{name: name, size: fi.Size(), modTime: fi.ModTime(), ready: make(chan struct{})}
		s.files[name] = f
		s.mu.Unlock()
		f.load()
	} else {
		s.mu.Unlock()
		<-f.ready
	}
	return f, f.err
}

func (f *sourceFile) load() {
	defer close(f.ready)
	b, err := os.ReadFile(f.name)
	if err != nil {
		f.err = fmt.Errorf("reading source: %w", err)
		return
	}
	if len(b) > maxSourceSize {
		f.err = ErrTooLarge
		return
	}
	if !utf8.Valid(b) {
		f.err = ErrNotUTF8
		return
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	f.lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	f.html = make([]template.HTML, len(f.lines))
	if strings.HasSuffix(f.name, ".go") {
		f.spans = multiLineTokens(b)
	} else {
		// Without a scanner for the language, only the whole file is a safe
		// window.
		f.spans = []span{{1, len(f.lines)}}
	}
}

// highlighted returns the HTML of lines lo..hi, highlighting what is missing.
func (f *sourceFile) highlighted(lo, hi int, highlight func(string, string) []template.HTML) []template.HTML {
	f.mu.Lock()
	defer f.mu.Unlock()
	missing := false
	for n := lo; n <= hi; n++ {
		if f.html[n-1] == "" && f.lines[n-1] != "" {
			missing = true
			break
		}
	}
	if missing {
		a, b := lo, hi
		for _, sp := range f.spans {
			if sp.first < a && a <= sp.last {
				a = sp.first
			}
			if sp.first <= b && b < sp.last {
				b = sp.last
			}
		}
		// An unterminated comment or raw string at the end of the file
		// "spans" past its last line.
		b = min(b, len(f.lines))
		var out []template.HTML
		if highlight != nil {
			out = highlight(f.name, strings.Join(f.lines[a-1:b], "\n")+"\n")
		}
		if len(out) != b-a+1 {
			// A highlighter that disagrees about the line count must not shift
			// the marked line: fall back to escaped text.
			out = make([]template.HTML, b-a+1)
			for i := range out {
				out[i] = template.HTML(template.HTMLEscapeString(f.lines[a-1+i]))
			}
		}
		for i, h := range out {
			if n := a - 1 + i; f.html[n] == "" && f.lines[n] != "" {
				if h == "" {
					// Never leave a line to be written again.
					h = template.HTML(template.HTMLEscapeString(f.lines[n]))
				}
				f.html[n] = h
			}
		}
	}
	return f.html[lo-1 : hi : hi]
}

// multiLineTokens finds the raw strings and comments of a Go file that span
// lines. go/scanner reads hundreds of megabytes a second, so this is cheap
// next to one chroma window.
func multiLineTokens(src []byte) []span {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var sc scanner.Scanner
	sc.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	var out []span
	for {
		pos, tok, lit := sc.Scan()
		if tok == token.EOF {
			return out
		}
		if (tok == token.STRING || tok == token.COMMENT) && strings.IndexByte(lit, '\n') >= 0 {
			first := file.Line(pos)
			out = append(out, span{first, first + strings.Count(lit, "\n")})
		}
	}
}
