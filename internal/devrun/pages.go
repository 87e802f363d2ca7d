package devrun

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/gostack"
	"github.com/panicroom/panicroom/internal/negotiate"
	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/internal/web"
)

// Failure is why the app is down.
type Failure struct {
	Kind    string        `json:"kind"` // "build", "crash" (a Go crash report) or "exit"
	Title   string        `json:"title"`
	Time    time.Time     `json:"time"`
	Package string        `json:"package"`
	Build   *BuildFailure `json:"build,omitempty"`
	Crash   *Crash        `json:"crash,omitempty"`
	Exit    string        `json:"exit,omitempty"` // "exit status 2"
	// Stderr is the end of what the app wrote to stderr before the crash
	// report (or before it exited), at most stderrLines lines.
	Stderr string `json:"stderr,omitempty"`

	// sources was made when the build started, so that a file edited
	// since is marked stale on the page.
	sources *traceback.Sources
	module  string
}

const stderrLines = 80

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// NewBuildFailure describes a failed build.
func NewBuildFailure(pkg string, bf *BuildFailure, sources *traceback.Sources) *Failure {
	n := len(bf.Errors)
	title := "The build failed"
	if n == 1 {
		title += ": 1 error"
	} else if n > 1 {
		title += fmt.Sprintf(": %d errors", n)
	}
	return &Failure{Kind: "build", Title: title, Time: time.Now(), Package: pkg, Build: bf, sources: sources}
}

// NewExitFailure describes an app that exited by itself: a crash report
// when its stderr ends with one, else its exit status and last words.
func NewExitFailure(pkg, exit, stderr, module string, sources *traceback.Sources) *Failure {
	f := &Failure{Kind: "exit", Time: time.Now(), Package: pkg, Exit: exit, sources: sources, module: module}
	if c := ParseCrash(stderr); c != nil {
		f.Kind, f.Crash = "crash", c
		f.Title = "The app crashed: " + c.Reason
		f.Stderr = lastLines(c.Before, stderrLines)
		return f
	}
	f.Title = "The app exited (" + exit + ")"
	f.Stderr = lastLines(stderr, stderrLines)
	return f
}

// Pages renders the runner's pages with the traceback's look: its
// stylesheet, highlighting and editor links.
type Pages struct {
	editor   traceback.Editor
	paths    traceback.EditorPaths
	renderer *traceback.Renderer // for ShortPath
	tmpl     *template.Template
	static   map[string][]byte
	once     sync.Once
}

// NewPages renders editor links through editor (as WithEditor) and maps
// their files through PANICROOM_EDITOR_PATHS.
func NewPages(editor traceback.Editor, paths traceback.EditorPaths) (*Pages, error) {
	if err := editor.Validate(); err != nil {
		return nil, err
	}
	r, err := traceback.NewRenderer(Prefix, editor)
	if err != nil {
		return nil, err
	}
	t, err := template.New("").ParseFS(web.FS, "templates/run.html")
	if err != nil {
		return nil, err
	}
	static := map[string][]byte{"chroma.css": traceback.StyleCSS("github", "github-dark")}
	for _, name := range []string{"panicroom.css", "panicroom.js", "run.css", "run.js"} {
		b, err := fs.ReadFile(web.FS, "static/"+name)
		if err != nil {
			return nil, err
		}
		static[name] = b
	}
	return &Pages{editor: editor, paths: paths, renderer: r, tmpl: t, static: static}, nil
}

// csp is the traceback pages' policy: nothing but the runner's own files.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func pageHeaders(h http.Header, ctype string) {
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Panicroom-Run", "down")
}

// ServeStatic serves the pages' assets.
func (p *Pages) ServeStatic(w http.ResponseWriter, r *http.Request, name string) {
	b, ok := p.static[name]
	if !ok {
		http.Error(w, "404 not found: no such panicroom asset", http.StatusNotFound)
		return
	}
	pageHeaders(w.Header(), web.ContentType(name))
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// ServeFailure answers a request while the app is down, in the format the
// client asked for. The status is 503: the app is unavailable, and a
// client that retries is right to.
func (p *Pages) ServeFailure(w http.ResponseWriter, r *http.Request, st Status) {
	f := st.Failure
	var buf bytes.Buffer
	var ctype string
	switch negotiate.Request(r) {
	case negotiate.JSON:
		ctype = "application/json"
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	case negotiate.HTML:
		ctype = "text/html; charset=utf-8"
		if err := p.tmpl.ExecuteTemplate(&buf, "run-page", p.view(st)); err != nil {
			http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
			return
		}
	default:
		ctype = "text/plain; charset=utf-8"
		p.Text(&buf, f)
	}
	pageHeaders(w.Header(), ctype)
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(buf.Bytes())
}

// ServeTimeout answers a request held longer than HoldFor.
func (p *Pages) ServeTimeout(w http.ResponseWriter, r *http.Request, st Status, d time.Duration) {
	pageHeaders(w.Header(), "text/plain; charset=utf-8")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "503 service unavailable: panicroom run held this request for %s and the app is still %s (build %d); see the terminal, and retry\n", d, st.Phase, st.Run)
}

type pageView struct {
	Title, Static, Prefix string
	Seq, Run              int
	F                     *Failure
	Errors                []errorView
	Groups                []groupView
	Goroutines            int
	Header                []string
	TextURL, JSONURL      string
}

type errorView struct {
	Loc       string
	EditorURL template.URL
	Message   string
	Rows      template.HTML
	SourceErr string
}

type groupView struct {
	Title   string
	IDs     string
	Crashed bool
	Frames  []frameView
	Created *frameView
	Note    string
	Elided  bool
}

type frameView struct {
	Index     int
	Pkg, Name string
	Args      string
	Kind      string
	Dir, Base string
	Line      int
	File      string
	EditorURL template.URL
	Rows      template.HTML
	Open      bool
}

func (p *Pages) view(st Status) pageView {
	f := st.Failure
	v := pageView{Title: f.Title + " · panicroom run", Static: Prefix + "static/", Prefix: Prefix, Seq: st.Seq, Run: st.Run, F: f,
		TextURL: "?format=text", JSONURL: "?format=json"}
	if f.Build != nil {
		for _, e := range f.Build.Errors {
			ev := errorView{Message: e.Message}
			if e.File != "" {
				ev.Loc = fmt.Sprintf("%s:%d:%d", p.renderer.ShortPath(e.File), e.Line, e.Col)
				ev.EditorURL = p.editor.URL(p.paths.Map(e.File), e.Line)
				if ctx, err := f.sources.Context(e.File, e.Line, 4); err == nil {
					ev.Rows = ctx.Rows()
				} else {
					ev.SourceErr = err.Error()
				}
			}
			v.Errors = append(v.Errors, ev)
		}
	}
	if c := f.Crash; c != nil {
		if len(c.Header) > 1 {
			v.Header = c.Header[1:]
		}
		cl := traceback.Classifier{MainModule: f.module}
		for _, g := range c.Groups {
			v.Goroutines += len(g.IDs)
			gv := groupView{Crashed: g.Crashed, Note: g.Note, Elided: g.Elided}
			state := g.State
			if len(g.Attrs) > 0 {
				state += ", " + strings.Join(g.Attrs, ", ")
			}
			if w := gostack.WaitText(g.MinWait, g.MaxWait); w != "" {
				state += ", " + w
			}
			ids := make([]string, len(g.IDs))
			for i, id := range g.IDs {
				ids[i] = strconv.Itoa(id)
			}
			if len(g.IDs) == 1 {
				gv.Title = fmt.Sprintf("goroutine %d [%s]", g.IDs[0], state)
			} else {
				gv.Title = fmt.Sprintf("%d goroutines [%s]", len(g.IDs), state)
				gv.IDs = strings.Join(ids, ", ")
			}
			opened := false
			for i, sf := range g.Frames {
				fv := p.frame(cl, sf, f.sources)
				fv.Index = i
				// The source of the first frame of the app's own code in
				// each group: where that goroutine was in the developer's
				// code. In the crashed goroutine, every app frame.
				if fv.Kind == "app" && (g.Crashed || !opened) {
					if ctx, err := f.sources.Context(sf.File, sf.Line, 5); err == nil {
						fv.Rows = ctx.Rows()
						fv.Open = g.Crashed || !opened
						opened = true
					}
				}
				gv.Frames = append(gv.Frames, fv)
			}
			if g.CreatedBy != nil {
				cv := p.frame(cl, *g.CreatedBy, f.sources)
				gv.Created = &cv
			}
			v.Groups = append(v.Groups, gv)
		}
	}
	return v
}

func (p *Pages) frame(cl traceback.Classifier, sf StackFrame, _ *traceback.Sources) frameView {
	pkg, name := traceback.SplitFunction(sf.Function)
	short := p.renderer.ShortPath(sf.File)
	dir, base := path.Split(short)
	pkgLabel := ""
	if pkg != "" {
		pkgLabel = pkg + "."
	}
	return frameView{Pkg: pkgLabel, Name: name, Args: sf.Args, Kind: cl.Kind(pkg, sf.File).String(), Dir: dir, Base: base,
		Line: sf.Line, File: sf.File, EditorURL: p.editor.URL(p.paths.Map(sf.File), sf.Line)}
}

// Text writes f for a terminal: the build errors with the lines around
// each, or the crash report with goroutines grouped, then stderr.
func (p *Pages) Text(w io.Writer, f *Failure) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "panicroom run: %s (%s)\n", f.Title, f.Package)
	if b := f.Build; b != nil {
		for _, e := range b.Errors {
			if e.File == "" {
				fmt.Fprintf(bw, "\n%s\n", e.Message)
				continue
			}
			fmt.Fprintf(bw, "\n%s:%d:%d: %s\n", e.File, e.Line, e.Col, e.Message)
			ctx, err := f.sources.Context(e.File, e.Line, 2)
			if err != nil {
				continue
			}
			writeLines(bw, ctx.Lines())
		}
	}
	if c := f.Crash; c != nil {
		bw.WriteString("\n")
		for _, h := range c.Header {
			bw.WriteString(h + "\n")
		}
		for _, g := range c.Groups {
			state := g.State
			if len(g.Attrs) > 0 {
				state += ", " + strings.Join(g.Attrs, ", ")
			}
			if w := gostack.WaitText(g.MinWait, g.MaxWait); w != "" {
				state += ", " + w
			}
			if len(g.IDs) == 1 {
				fmt.Fprintf(bw, "\ngoroutine %d [%s]:\n", g.IDs[0], state)
			} else {
				ids := make([]string, len(g.IDs))
				for i, id := range g.IDs {
					ids[i] = strconv.Itoa(id)
				}
				fmt.Fprintf(bw, "\n%d goroutines [%s]: %s\n", len(g.IDs), state, strings.Join(ids, ", "))
			}
			if g.Note != "" {
				fmt.Fprintf(bw, "\t%s\n", g.Note)
			}
			for _, sf := range g.Frames {
				fmt.Fprintf(bw, "%s(%s)\n\t%s:%d\n", sf.Function, sf.Args, sf.File, sf.Line)
			}
			if g.Elided {
				bw.WriteString("...additional frames elided...\n")
			}
			if g.CreatedBy != nil {
				fmt.Fprintf(bw, "created by %s\n\t%s:%d\n", g.CreatedBy.Function, g.CreatedBy.File, g.CreatedBy.Line)
			}
		}
	} else if f.Exit != "" {
		fmt.Fprintf(bw, "\n%s\n", f.Exit)
	}
	if f.Stderr != "" {
		fmt.Fprintf(bw, "\nstderr (its last lines):\n%s\n", f.Stderr)
	}
}

func writeLines(w io.Writer, lines []traceback.Line) {
	if len(lines) == 0 {
		return
	}
	width := len(strconv.Itoa(lines[len(lines)-1].Number))
	for _, l := range lines {
		mark := " "
		if l.Current {
			mark = ">"
		}
		fmt.Fprintf(w, "  %s %*d | %s\n", mark, width, l.Number, strings.ReplaceAll(l.Text, "\t", "    "))
	}
}
