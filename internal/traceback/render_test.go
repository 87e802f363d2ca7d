package traceback

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

const xss = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`

// fixture is a panic with every part of the model filled, including hostile
// text in each place that prints user data.
func fixture(t *testing.T) *Panic {
	t.Helper()
	dir := t.TempDir()
	src := writeFile(t, dir, "handler.go", "package main\n\nfunc handle() {\n\t// "+xss+"\n\tpanic(\"boom\")\n}\n")
	s := NewSources()
	ctx, err := s.Context(src, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	return &Panic{
		ID:        "0123456789abcdef01",
		Time:      time.Date(2026, 11, 21, 9, 30, 15, 0, time.UTC),
		Goroutine: 42,
		Value: Value{Type: "*main.AppError", Message: "loading " + xss, Category: "error",
			Chain: []Link{{Type: "*errors.errorString", Message: "inner " + xss}}},
		Frames: []Frame{
			{Index: 0, Function: "main.handle", Package: "main", Name: "handle", File: "/app/handler.go", Line: 5, Kind: App, Source: ctx},
			{Index: 1, Function: "net/http.HandlerFunc.ServeHTTP", Package: "net/http", Name: "HandlerFunc.ServeHTTP", File: "/go/src/net/http/server.go", Line: 2286, Kind: Stdlib, SourceErr: "source file not found"},
			{Index: 2, Function: "main.(*App).ServeHTTP", Package: "main", Name: "(*App).ServeHTTP", File: "/app/" + xss + ".go", Line: 9, Kind: App, SourceErr: "source file not found"},
		},
		Request: &Request{Method: "GET", URL: "/search?q=" + xss, Proto: "HTTP/1.1", Host: "localhost:8080", RemoteAddr: "127.0.0.1:5000",
			Header: []Field{{Name: "Authorization", Value: Mask, Masked: true}, {Name: "X-Evil", Value: xss}},
			Query:  []Field{{Name: "q", Value: xss}}},
		Build: &Build{GoVersion: "go1.26.8", OS: "linux", Arch: "amd64", MainModule: "example.com/app", MainVersion: "(devel)", GCFlags: "all=-N -l"},
		URL:   "http://localhost:8080/__panicroom__/panic/0123456789abcdef01",
		Goroutines: &Goroutines{Total: 53, Took: 1500 * time.Microsecond, OmittedGroups: 1, OmittedGoroutines: 2, Groups: []GoroutineGroup{
			{Count: 1, IDs: []int{42}, State: "panicked", Panicking: true},
			{Count: 50, IDs: []int{7, 8, 9}, State: "chan receive", MinWait: 2, MaxWait: 5,
				Frames: []Frame{
					{Index: 0, Function: "runtime.gopark", Package: "runtime", Name: "gopark", File: "/go/src/runtime/proc.go", Line: 460, Kind: Runtime},
					{Index: 1, Function: "main.worker." + xss, Package: "main", Name: "worker." + xss, File: "/app/handler.go", Line: 5, Kind: App, Source: ctx},
				},
				CreatedBy: &Frame{Function: "main.main", Package: "main", Name: "main", File: "/app/main.go", Line: 30, Kind: App}},
		}},
	}
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "text.golden", normalize(b.String()))
}

func TestHTMLEscapesEverything(t *testing.T) {
	r, err := NewRenderer("/__panicroom__/", "vscode")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.HTML(&b, Page{Panic: fixture(t), Banners: []Banner{{Level: "warn", Text: "note " + xss}}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "onerror=alert(2)>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{
		`id="frame-0"`, `class="frame frame-app"`, `open`, `class="current"`,
		`href="vscode://file/app/handler.go:5"`, `1 standard library frame`,
		`<script src="/__panicroom__/static/panicroom.js" defer></script>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`, Mask,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// console.js is loaded by panicroom.js, after the first paint.
	if n := strings.Count(page, "<script"); n != 1 || strings.Count(page, `<script src="/__panicroom__/static/`) != 1 {
		t.Errorf("page has %d script tags, want only the static panicroom.js", n)
	}
	golden(t, "page.golden.html", normalize(page))
}

// TestClosedFramesFetchTheirSource: a frame that starts closed carries the
// URL of its source instead of the source, and FrameSource answers it,
// escaped like the page.
func TestClosedFramesFetchTheirSource(t *testing.T) {
	r, _ := NewRenderer("/p/", "none")
	p := fixture(t)
	var b bytes.Buffer
	if err := r.HTML(&b, Page{Panic: p}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, `<div class="body src-later" data-src="/p/panic/0123456789abcdef01/frame/1">`) {
		t.Errorf("the closed standard library frame does not point at its source")
	}
	if n := strings.Count(page, "No source: source file not found"); n != 1 {
		t.Errorf("%d frames say they have no source, want the open one only (the closed one's is fetched)", n)
	}
	if n := strings.Count(page, `<div class="body src-later" data-src="/p/panic/0123456789abcdef01/frame/`); n != 1 {
		t.Errorf("%d frames wait for their source, want only the closed one", n)
	}
	b.Reset()
	if err := r.FrameSource(&b, p, 0); err != nil {
		t.Fatal(err)
	}
	src := b.String()
	if !strings.Contains(src, `<tr class="current"><th>5<td>`) || !strings.Contains(src, "&lt;script&gt;alert(1)") || strings.Contains(src, "<script>") {
		t.Errorf("frame 0's source is not the escaped, highlighted context:\n%s", src)
	}
	b.Reset()
	if err := r.FrameSource(&b, p, 1); err != nil || !strings.Contains(b.String(), "No source: source file not found") {
		t.Errorf("frame 1: %q, %v; want why it has no source", b.String(), err)
	}
	if err := r.FrameSource(&b, p, 3); err == nil {
		t.Errorf("frame 3 of 3: no error")
	}
}

// TestRecursionIsFolded renders a 240-deep recursion: three calls show, the
// rest fold into one group, and no more than maxOpen frames start open.
func TestRecursionIsFolded(t *testing.T) {
	p := &Panic{ID: "r", Value: Value{Category: "runtime error", Message: "runtime error: x"}}
	for i := 0; i < 240; i++ {
		p.Frames = append(p.Frames, Frame{Index: i, Function: "main.walk", Package: "main", Name: "walk", File: "/a.go", Line: 9, Kind: App})
	}
	p.Frames = append(p.Frames, Frame{Index: 240, Function: "main.handler", Package: "main", Name: "handler", File: "/a.go", Line: 20, Kind: App})
	r, _ := NewRenderer("/p/", "none")
	var b bytes.Buffer
	if err := r.HTML(&b, Page{Panic: p}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, "237 more calls of walk (recursion)") {
		t.Errorf("recursion not folded into one group")
	}
	if n := strings.Count(page, `" open>`); n != 4 {
		t.Errorf("%d frames open, want the 3 shown calls and the handler", n)
	}
	if strings.Count(page, `<details class="frame`) != 241 {
		t.Errorf("folding must hide frames, not drop them")
	}
}

func TestIndexRenders(t *testing.T) {
	r, _ := NewRenderer("/__panicroom__/", "none")
	var b bytes.Buffer
	list := []Summary{{ID: "a1", Time: time.Unix(0, 0).UTC(), Request: "GET /" + xss, Category: "runtime error", Message: xss, URL: "/__panicroom__/panic/a1", Live: true}}
	if err := r.Index(&b, list, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") || !strings.Contains(b.String(), `href="/__panicroom__/panic/a1"`) || !strings.Contains(b.String(), "live") {
		t.Errorf("index page wrong:\n%s", b.String())
	}
	b.Reset()
	if err := r.Index(&b, nil, nil); err != nil || !strings.Contains(b.String(), "No panic yet") {
		t.Errorf("empty index: %v\n%s", err, b.String())
	}
}

func TestConsolePageRenders(t *testing.T) {
	r, _ := NewRenderer("/__panicroom__/", "none")
	var b bytes.Buffer
	err := r.Console(&b, "console", []Banner{{Level: "warn", Text: xss}}, map[string]string{"secret": `s"><script>`, "console": "attached"})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`data-panic="console"`, `data-autoconsole`, `<meta name="panicroom-console" content="attached">`, `content="s&#34;&gt;&lt;script&gt;"`} {
		if !strings.Contains(page, want) {
			t.Errorf("console page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("banner not escaped")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	p := fixture(t)
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") {
		t.Error("JSON carries a raw <script>: HTML characters must be escaped")
	}
	var back struct {
		ID     string `json:"id"`
		Frames []struct {
			Kind   string `json:"kind"`
			Source *struct {
				Lines []struct {
					Number  int    `json:"number"`
					Text    string `json:"text"`
					Current bool   `json:"current"`
				} `json:"lines"`
			} `json:"source"`
		} `json:"frames"`
		Value struct{ Chain []Link } `json:"value"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != p.ID || len(back.Frames) != 3 || back.Frames[1].Kind != "stdlib" || back.Frames[0].Source == nil || len(back.Value.Chain) != 1 {
		t.Errorf("round trip lost data: %+v", back)
	}
	// The context is kept compact and written as a line per row.
	var current int
	for _, l := range back.Frames[0].Source.Lines {
		if l.Current {
			current = l.Number
			if want := p.Frames[0].Source.Lines()[l.Number-back.Frames[0].Source.Lines[0].Number].Text; l.Text != want || want == "" {
				t.Errorf("the current line's text is %q, want %q", l.Text, want)
			}
		}
	}
	if current != p.Frames[0].Line {
		t.Errorf("the JSON's current line is %d, the frame's %d", current, p.Frames[0].Line)
	}
}

func TestEditorURL(t *testing.T) {
	for _, tc := range []struct {
		editor Editor
		file   string
		want   template.URL
	}{
		{"vscode", "/src/app/main.go", "vscode://file/src/app/main.go:12"},
		{"", "/src/app/main.go", "vscode://file/src/app/main.go:12"},
		{"cursor", "/a b/main.go", "cursor://file/a%20b/main.go:12"},
		{"zed", "/x.go", "zed://file/x.go:12"},
		{"goland", "/a b/x.go", "goland://open?file=%2Fa+b%2Fx.go&line=12"},
		{"idea://open?file={file}&line={line}", "/x.go", "idea://open?file=%2Fx.go&line=12"},
		{"none", "/x.go", ""},
		{"javascript:alert({file})", "/x.go", ""},
		{"vscode", "/a\"><script>.go", "vscode://file/a%22%3E%3Cscript%3E.go:12"},
	} {
		if got := tc.editor.URL(tc.file, 12); got != tc.want {
			t.Errorf("Editor(%q).URL(%q) = %q, want %q", tc.editor, tc.file, got, tc.want)
		}
	}
	for _, bad := range []Editor{"javascript:x({file})", "data:text/html,{file}", "no placeholders", "vbscript:{file}"} {
		if bad.Validate() == nil {
			t.Errorf("Validate accepted %q", bad)
		}
	}
}

// TestRealCapture renders a real panic end to end and checks the parts that
// depend on the machine only after normalizing them away.
func TestRealCapture(t *testing.T) {
	var p *Panic
	func() {
		defer func() {
			v := recover()
			frames := FramesOf(Callers(0))
			DefaultClassifier().Classify(frames)
			s := NewSources()
			for i := range frames {
				frames[i].Source, _ = s.Context(frames[i].File, frames[i].Line, 1)
			}
			p = &Panic{ID: "x", Goroutine: GoroutineID(), Value: ValueOf(v), Frames: frames, Build: BuildInfo()}
		}()
		outer(&widget{})
	}()
	var b bytes.Buffer
	Text(&b, p)
	out := normalize(b.String())
	for _, want := range []string{
		"panic: assignment to entry in nil map",
		"github.com/panicroom/panicroom/internal/traceback.(*widget).explode(...)",
		"\tGOROOT/src/testing/testing.go:",
		"> ", "func (w *widget) explode(m map[string]int) { m[\"x\"] = w.n }",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if p.Frames[0].Kind != Runtime && p.Frames[0].Kind != App {
		t.Errorf("top frame kind %v", p.Frames[0].Kind)
	}
}

var (
	goroot     = regexp.MustCompile(`(?m)(/[^\s:"]+)?/src/(testing|runtime|net|internal)/`)
	goroutines = regexp.MustCompile(`goroutine \d+`)
	tempDirs   = regexp.MustCompile(`/tmp/[^\s"]*?/\d+/`)
)

// normalize removes what differs between machines and runs: GOROOT,
// temporary directories, goroutine ids.
func normalize(s string) string {
	s = goroot.ReplaceAllString(s, "GOROOT/src/$2/")
	s = goroutines.ReplaceAllString(s, "goroutine N")
	s = tempDirs.ReplaceAllString(s, "TMP/")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, diffHint(string(want), got))
	}
}

func diffHint(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, w, g)
		}
	}
	return ""
}

var _ = errors.New

func TestMarkdown(t *testing.T) {
	p := fixture(t)
	p.Value.Message = "loading ``x`` " + xss
	r, _ := NewRenderer("/__panicroom__/", "none")
	var b bytes.Buffer
	if err := r.Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown.golden", normalize(b.String()))
	md := b.String()
	for _, want := range []string{
		"### ```panic: loading ``x`` <script>",     // a fence longer than the message's backticks
		"- `Authorization`: " + Mask + " (masked)", // masked as the page masks it
		"`main.handle` at `/app/handler.go:5`",
		"> 5 | \tpanic(\"boom\")"[:5],
		"**Goroutines** 53 at the panic, in 3 groups",
		"- 50 × chan receive, 2–5 minutes in `main.worker.",
		"**Build** `go1.26.8 linux/amd64` · `example.com/app (devel)` · `-gcflags=all=-N -l`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	// The fixture's second app frame has no source; the standard library
	// frame is not the app's.
	if strings.Contains(md, "net/http.HandlerFunc.ServeHTTP") {
		t.Errorf("a library frame is in the Markdown")
	}
}

func TestCodeSpanAndFence(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "`plain`",
		"a`b":       "``a`b``",
		"`x":        "`` `x ``",
		"two\nline": "`two line`",
		"":          "` `",
	} {
		if got := codeSpan(in); got != want {
			t.Errorf("codeSpan(%q) = %q, want %q", in, got, want)
		}
	}
	if got := fence("a ```` b", "go"); !strings.HasPrefix(got, "`````go\n") || !strings.HasSuffix(got, "\n`````\n") {
		t.Errorf("fence: %q", got)
	}
}

// TestAssetVersion: with a version set, every asset the page names carries
// it (the server answers those URLs as immutable); without, none does.
func TestAssetVersion(t *testing.T) {
	r, _ := NewRenderer("/p/", "none")
	r.SetAssetVersion("0a1b2c")
	var b bytes.Buffer
	if err := r.HTML(&b, Page{Panic: fixture(t)}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`href="/p/static/panicroom.css?v=0a1b2c"`, `href="/p/static/chroma.css?v=0a1b2c"`, `src="/p/static/panicroom.js?v=0a1b2c"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n, v := strings.Count(page, "/p/static/"), strings.Count(page, "?v=0a1b2c"); n != v {
		t.Errorf("%d assets named, %d with the version", n, v)
	}
	b.Reset()
	if err := r.Console(&b, "0123456789abcdef01", nil, nil); err != nil || !strings.Contains(b.String(), `src="/p/static/panicroom.js?v=0a1b2c"`) {
		t.Errorf("console page: %v, lacks the versioned script:\n%s", err, b.String())
	}
}
