package traceback

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Context is the source around one frame's line.
type Context struct {
	Lines []Line `json:"lines"`
	// Stale is set when the file changed after the program started, so the
	// lines shown may not be the lines that ran.
	Stale bool `json:"stale,omitempty"`
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
	size    int64
	modTime time.Time
	lines   []string
	html    []template.HTML
	err     error
	ready   chan struct{} // closed once lines/html/err are set
}

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
	ctx := &Context{Lines: make([]Line, 0, hi-lo+1), Stale: f.modTime.After(s.started)}
	for n := lo; n <= hi; n++ {
		ctx.Lines = append(ctx.Lines, Line{Number: n, Text: f.lines[n-1], Current: n == line, html: f.html[n-1]})
	}
	return ctx, nil
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
		f = &sourceFile{size: fi.Size(), modTime: fi.ModTime(), ready: make(chan struct{})}
		s.files[name] = f
		s.mu.Unlock()
		f.load(name, s.highlight)
	} else {
		s.mu.Unlock()
		<-f.ready
	}
	return f, f.err
}

func (f *sourceFile) load(name string, highlight func(string, string) []template.HTML) {
	defer close(f.ready)
	b, err := os.ReadFile(name)
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
	if highlight != nil {
		f.html = highlight(name, text)
	}
	if len(f.html) != len(f.lines) {
		// A highlighter that disagrees about line count must not shift the
		// marked line: fall back to plain escaped text.
		f.html = make([]template.HTML, len(f.lines))
		for i, l := range f.lines {
			f.html[i] = template.HTML(template.HTMLEscapeString(l))
		}
	}
}
