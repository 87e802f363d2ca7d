package traceback

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/web"
)

// Banner is a notice shown at the top of a page: why the console is off, why
// the goroutine was not parked, and such.
type Banner struct {
	Level string // "info", "warn" or "error"
	Text  string
}

// Page is one panic with what the page needs beyond the panic itself.
type Page struct {
	Panic   *Panic
	Banners []Banner
	// Meta becomes <meta name="panicroom-KEY" content="VALUE"> tags: what
	// the page's script needs (the console's state and secret) without this
	// package knowing what it is for.
	Meta map[string]string
}

// Summary is one row of the list of recent panics.
type Summary struct {
	ID       string
	Time     time.Time
	Request  string
	Category string
	Message  string
	URL      string
	Live     bool
}

// A Renderer writes the views. Its zero value is not usable: use
// NewRenderer.
type Renderer struct {
	prefix string
	editor Editor
	goroot string
	// assetQuery follows each asset's name in the pages (SetAssetVersion).
	assetQuery string

	// editorPaths rewrite the files of editor links (SetEditorPaths).
	editorPaths EditorPaths

	mu    sync.Mutex
	roots map[string]string // directory → its module's root ("" if none)
}

// templates are parsed at the first page, or by the Debugger's warm-up if
// that comes first, not in NewRenderer: 2 ms of the app's start in a -N -l
// build, before it listens. They are embedded, so an error here is a bug
// of the build that every page reports (and render_test.go fails on).
var templates = sync.OnceValues(func() (*template.Template, error) {
	return template.New("").Funcs(template.FuncMap{"plural": plural}).ParseFS(web.FS, "templates/*.html")
})

// NewRenderer returns a renderer for pages served under prefix (which ends
// with a slash) that link source files through editor.
func NewRenderer(prefix string, editor Editor) (*Renderer, error) {
	if err := editor.Validate(); err != nil {
		return nil, err
	}
	return &Renderer{prefix: prefix, editor: editor, goroot: runtime.GOROOT(), roots: make(map[string]string)}, nil
}

type pageView struct {
	Title, Prefix, Static string
	V                     string // the assets' ?v= query (SetAssetVersion)
	Meta                  map[string]string
	P                     *Panic
	Banners               []Banner
	Groups                []frameGroup
	Origin                *frameView
	AppCount              int
	CategoryClass         string
	TextURL, JSONURL      string
	MarkdownURL           string
	Goroutines            *goroutinesView
}

type frameGroup struct {
	App    bool
	Label  string
	Frames []frameView
	repeat string // the function a folded run of recursion repeats
}

// Recursion is folded after this many consecutive calls of one function,
// and at most maxOpen app frames start open: a 240-deep recursion must not
// make a page of 240 open frames.
const (
	recursionShown = 3
	maxOpen        = 8
)

type frameView struct {
	Frame
	Open bool
	// SourceURL, for a frame that starts closed, is where the page
	// fetches its source when it is opened: a page of 20 frames with the
	// source of each weighed 100 KiB, most of it in frames nobody opens.
	SourceURL string
	EditorURL template.URL
	Dir, Base string
	Short     string
	// Folded, in a goroutine group, stands for that many more calls of
	// the recursion above.
	Folded int
}

// HTML writes the traceback page.
func (r *Renderer) HTML(w io.Writer, pg Page) error {
	t, err := templates()
	if err != nil {
		return err
	}
	p := pg.Panic
	v := pageView{
		Title:         title(p.Value) + " · panicroom",
		Prefix:        r.prefix,
		Static:        r.prefix + "static/",
		V:             r.assetQuery,
		Meta:          pg.Meta,
		P:             p,
		Banners:       pg.Banners,
		CategoryClass: strings.ReplaceAll(p.Value.Category, " ", "-"),
		TextURL:       r.prefix + "panic/" + p.ID + "?format=text",
		JSONURL:       r.prefix + "panic/" + p.ID + "?format=json",
		MarkdownURL:   r.prefix + "panic/" + p.ID + "?format=markdown",
		Goroutines:    r.goroutinesView(p.Goroutines),
	}
	if v.Goroutines != nil {
		v.Goroutines.GroupsURL = r.prefix + "panic/" + p.ID + "/goroutines"
	}
	views := make([]frameView, len(p.Frames))
	run, opened := 0, 0
	for i, f := range p.Frames {
		views[i] = r.frameView(f)
		fv := views[i]
		if i > 0 && p.Frames[i-1].Function == f.Function {
			run++
		} else {
			run = 1
		}
		visible, repeat := f.Kind == App, ""
		if run > recursionShown {
			visible, repeat = false, f.Function
		}
		if f.Kind == App {
			v.AppCount++
			if v.Origin == nil {
				o := fv
				v.Origin = &o
			}
		}
		if visible && opened < maxOpen {
			fv.Open = true
			opened++
		} else {
			fv.SourceURL = r.frameSourceURL(p, i)
		}
		n := len(v.Groups)
		if n == 0 || v.Groups[n-1].App != visible || v.Groups[n-1].repeat != repeat {
			v.Groups = append(v.Groups, frameGroup{App: visible, repeat: repeat})
			n++
		}
		v.Groups[n-1].Frames = append(v.Groups[n-1].Frames, fv)
	}
	if v.AppCount == 0 && len(p.Frames) > 0 {
		// Nothing of the app's own: show everything rather than an empty list.
		v.Groups = []frameGroup{{App: true, Frames: views}}
		for i := range views {
			views[i].SourceURL = r.frameSourceURL(p, i)
		}
		views[0].Open, views[0].SourceURL = true, ""
	}
	for i, g := range v.Groups {
		if g.repeat != "" {
			_, name := SplitFunction(g.repeat)
			call := "calls"
			if len(g.Frames) == 1 {
				call = "call"
			}
			v.Groups[i].Label = fmt.Sprintf("more %s of %s (recursion)", call, name)
			continue
		}
		v.Groups[i].Label = groupLabel(g.Frames)
	}
	bw := bufio.NewWriter(w)
	if err := t.ExecuteTemplate(bw, "page", v); err != nil {
		return err
	}
	return bw.Flush()
}

func (r *Renderer) frameSourceURL(p *Panic, i int) string {
	return r.prefix + "panic/" + p.ID + "/frame/" + strconv.Itoa(i)
}

// FrameSource writes the HTML of frame i's source, which the page of a
// frame that starts closed fetches when it is opened.
func (r *Renderer) FrameSource(w io.Writer, p *Panic, i int) error {
	if i < 0 || i >= len(p.Frames) {
		return fmt.Errorf("frame %d does not exist: the panic has %d frames", i, len(p.Frames))
	}
	t, err := templates()
	if err != nil {
		return err
	}
	return t.ExecuteTemplate(w, "source", r.frameView(p.Frames[i]))
}

// GoroutineGroups writes the HTML of the groups of the page's Goroutines
// section, which the page fetches when the section is opened.
func (r *Renderer) GoroutineGroups(w io.Writer, p *Panic) error {
	if p.Goroutines == nil {
		return errors.New("no goroutines were recorded for this panic")
	}
	t, err := templates()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if err := t.ExecuteTemplate(bw, "goroutine-groups", r.goroutinesView(p.Goroutines)); err != nil {
		return err
	}
	return bw.Flush()
}

func (r *Renderer) frameView(f Frame) frameView {
	short := r.ShortPath(f.File)
	dir, base := filepath.Split(short)
	return frameView{Frame: f, EditorURL: r.editor.URL(r.editorPaths.Map(f.File), f.Line), Dir: dir, Base: base, Short: short}
}

// ShortPath shortens a source path for display: relative to GOROOT/src, to
// the module cache, or to the root of the module the file belongs to (the
// nearest directory above it with a go.mod), whatever the server's working
// directory.
func (r *Renderer) ShortPath(file string) string {
	if r.goroot != "" {
		if rest, ok := strings.CutPrefix(file, r.goroot+"/src/"); ok {
			return rest
		}
	}
	if i := strings.Index(file, "/pkg/mod/"); i >= 0 {
		return file[i+len("/pkg/mod/"):]
	}
	if root := r.moduleRoot(filepath.Dir(file)); root != "" {
		if rest, ok := strings.CutPrefix(file, root+"/"); ok {
			return rest
		}
	}
	return file
}

func (r *Renderer) moduleRoot(dir string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if root, ok := r.roots[dir]; ok {
		return root
	}
	root := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			root = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(r.roots) < 1024 {
		r.roots[dir] = root
	}
	return root
}

func groupLabel(frames []frameView) string {
	counts := map[Kind]int{}
	for _, f := range frames {
		counts[f.Kind]++
	}
	var parts []string
	for _, k := range []Kind{Library, Stdlib, Runtime, App} {
		if counts[k] == 0 {
			continue
		}
		name := map[Kind]string{Library: "library", Stdlib: "standard library", Runtime: "runtime", App: "app"}[k]
		parts = append(parts, name)
	}
	noun := "frames"
	if len(frames) == 1 {
		noun = "frame"
	}
	return strings.Join(parts, ", ") + " " + noun
}

// Index writes the list of recent panics.
func (r *Renderer) Index(w io.Writer, list []Summary, banners []Banner) error {
	t, err := templates()
	if err != nil {
		return err
	}
	type row struct {
		Summary
		CategoryClass string
	}
	rows := make([]row, len(list))
	for i, s := range list {
		rows[i] = row{s, strings.ReplaceAll(s.Category, " ", "-")}
	}
	bw := bufio.NewWriter(w)
	err = t.ExecuteTemplate(bw, "index", struct {
		Title, Prefix, Static, V string
		Meta                     map[string]string
		List                     []row
		Banners                  []Banner
	}{"Recent panics · panicroom", r.prefix, r.prefix + "static/", r.assetQuery, nil, rows, banners})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Console writes the top-level console's page, whose one frame is the
// goroutine panicID that stands in the app for it.
func (r *Renderer) Console(w io.Writer, panicID string, banners []Banner, meta map[string]string) error {
	t, err := templates()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	err = t.ExecuteTemplate(bw, "console", struct {
		Title, Prefix, Static, V, PanicID string
		Meta                              map[string]string
		Banners                           []Banner
	}{"Console · panicroom", r.prefix, r.prefix + "static/", r.assetQuery, panicID, meta, banners})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// JSON writes p as indented JSON. HTML-significant characters are escaped
// (\u003c), so the document is safe even if a browser sniffs it as HTML.
func JSON(w io.Writer, p *Panic) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Text writes p the way Go prints a panic, with the app frames' source
// lines added, then the request.
func Text(w io.Writer, p *Panic) error {
	bw := bufio.NewWriter(w)
	if p.Value.Category == "breakpoint" {
		fmt.Fprintf(bw, "%s: %s\n", p.Value.Type, p.Value.Message)
	} else {
		fmt.Fprintf(bw, "panic: %s", p.Value.Message)
		if p.Value.Category != "runtime error" {
			fmt.Fprintf(bw, " (%s)", p.Value.Type)
		}
		bw.WriteString(" [recovered by panicroom]\n")
	}
	if p.Value.MethodPanic != "" {
		fmt.Fprintf(bw, "\t(its text method panicked: %s)\n", p.Value.MethodPanic)
	}
	writeChain(bw, p.Value.Chain, "\t")
	if p.URL != "" {
		fmt.Fprintf(bw, "page: %s\n", p.URL)
	}
	fmt.Fprintf(bw, "\ngoroutine %d [running]:\n", p.Goroutine)
	for _, f := range p.Frames {
		fmt.Fprintf(bw, "%s(...)\n\t%s:%d\n", f.Function, f.File, f.Line)
		if f.Kind != App || f.Source == nil {
			continue
		}
		// A paste into an issue wants the failing line and a little around
		// it, not the page's full context.
		var lines []Line
		for _, l := range f.Source.Lines() {
			if d := l.Number - f.Line; d >= -textContext && d <= textContext {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		width := len(fmt.Sprint(lines[len(lines)-1].Number))
		for _, l := range lines {
			mark := " "
			if l.Current {
				mark = ">"
			}
			fmt.Fprintf(bw, "\t  %s %*d | %s\n", mark, width, l.Number, strings.ReplaceAll(l.Text, "\t", "    "))
		}
	}
	if rq := p.Request; rq != nil {
		fmt.Fprintf(bw, "\n%s %s %s\nHost: %s\nRemote-Addr: %s\n", rq.Method, rq.URL, rq.Proto, rq.Host, rq.RemoteAddr)
		for _, h := range rq.Header {
			fmt.Fprintf(bw, "%s: %s\n", h.Name, h.Value)
		}
		for _, f := range rq.Form {
			fmt.Fprintf(bw, "form %s=%s\n", f.Name, f.Value)
		}
	}
	if b := p.Build; b != nil {
		fmt.Fprintf(bw, "\n%s %s/%s", b.GoVersion, b.OS, b.Arch)
		if b.MainModule != "" {
			fmt.Fprintf(bw, ", %s %s", b.MainModule, b.MainVersion)
		}
		if b.Revision != "" {
			fmt.Fprintf(bw, ", revision %s", b.Revision)
		}
		bw.WriteString("\n")
	}
	writeGoroutines(bw, p.Goroutines)
	return bw.Flush()
}

// textContext is how many lines around each app frame's line the text view
// shows.
const textContext = 2

func writeChain(w io.Writer, chain []Link, indent string) {
	for _, l := range chain {
		msg := l.Message
		if msg == "" {
			msg = fmt.Sprintf("%d errors joined", len(l.Branches))
		}
		fmt.Fprintf(w, "%scaused by: %s (%s)\n", indent, msg, l.Type)
		for _, b := range l.Branches {
			writeChain(w, b, indent+"  ")
		}
	}
}

// title names a panic in a browser tab: its message, with the category in
// front unless the message already says it ("runtime error: ...").
func title(v Value) string {
	msg := oneLine(v.Message, 80)
	if strings.HasPrefix(msg, v.Category) {
		return msg
	}
	return v.Category + ": " + msg
}

func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
