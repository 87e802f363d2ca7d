package traceback

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

type widget struct{ n int }

//go:noinline
func (w *widget) explode(m map[string]int) { m["x"] = w.n } // nil map write

//go:noinline
func outer(w *widget) { w.explode(nil) }

// captured panics in outer and records frames the way the middleware does:
// from inside the deferred recover.
func captured() (frames []Frame, v any) {
	defer func() {
		v = recover()
		frames = FramesOf(Callers(0))
	}()
	outer(&widget{n: 1})
	return nil, nil
}

func TestFramesOfStartsAtThePanickingFrame(t *testing.T) {
	frames, v := captured()
	if _, ok := v.(runtime.Error); !ok {
		t.Fatalf("recovered %T, want a runtime.Error", v)
	}
	if len(frames) < 3 {
		t.Fatalf("got %d frames", len(frames))
	}
	// The nil map write panics inside the runtime's map code; the frame
	// above it must be ours, and the recovering side must be gone.
	var names []string
	for _, f := range frames {
		names = append(names, f.Function)
		if strings.Contains(f.Function, "gopanic") || strings.Contains(f.Function, "captured.func1") || f.Function == "runtime.goexit" {
			t.Errorf("frame %s should have been removed", f.Function)
		}
	}
	i := indexOf(names, "github.com/panicroom/panicroom/internal/traceback.(*widget).explode")
	if i < 0 || i > 1 {
		t.Fatalf("explode at %d in %v, want 0 or 1 (below a runtime map frame)", i, names)
	}
	if names[i+1] != "github.com/panicroom/panicroom/internal/traceback.outer" {
		t.Errorf("frame after explode = %s, want outer", names[i+1])
	}
	for j, f := range frames {
		if f.Index != j {
			t.Errorf("frame %d has Index %d", j, f.Index)
		}
		if f.Line == 0 || f.File == "" || f.PC == 0 {
			t.Errorf("frame %d lacks a location: %+v", j, f)
		}
	}
	if frames[i].Package != "github.com/panicroom/panicroom/internal/traceback" || frames[i].Name != "(*widget).explode" {
		t.Errorf("explode split as %q + %q", frames[i].Package, frames[i].Name)
	}
}

func TestFramesOfHidesFunctions(t *testing.T) {
	var frames []Frame
	func() {
		defer func() {
			recover()
			frames = FramesOf(Callers(0), "github.com/panicroom/panicroom/internal/traceback.")
		}()
		outer(nil)
	}()
	for _, f := range frames {
		if f.Package == "github.com/panicroom/panicroom/internal/traceback" {
			t.Errorf("hidden package frame kept: %s", f.Function)
		}
	}
	if len(frames) == 0 || frames[0].Package != "testing" {
		t.Errorf("first frame should be the testing package's, got %+v", frames[:min(1, len(frames))])
	}
}

func TestFramesOfSigpanicIsRemoved(t *testing.T) {
	var frames []Frame
	func() {
		defer func() {
			recover()
			frames = FramesOf(Callers(0))
		}()
		var w *widget
		outer(w) // nil dereference: a signal, raised through runtime.sigpanic
	}()
	for _, f := range frames {
		if f.Function == "runtime.sigpanic" || f.Function == "runtime.panicmem" {
			t.Errorf("runtime panic helper %s kept", f.Function)
		}
	}
	if frames[0].Name != "(*widget).explode" {
		t.Errorf("top frame %s, want explode", frames[0].Function)
	}
}

func TestFramesOfBoundsCheckHelpersRemoved(t *testing.T) {
	var frames []Frame
	func() {
		defer func() {
			recover()
			frames = FramesOf(Callers(0))
		}()
		indexPast(nil, 3)
	}()
	if frames[0].Function != "github.com/panicroom/panicroom/internal/traceback.indexPast" {
		t.Errorf("top frame %s, want indexPast (bounds-check helpers above it removed)", frames[0].Function)
	}
}

//go:noinline
func indexPast(s []int, i int) int { return s[i] }

func TestGoroutineID(t *testing.T) {
	ids := make(chan int64, 2)
	go func() { ids <- GoroutineID() }()
	go func() { ids <- GoroutineID() }()
	a, b := <-ids, <-ids
	if a <= 0 || b <= 0 || a == b {
		t.Fatalf("goroutine ids %d and %d, want two distinct positive ids", a, b)
	}
}

func TestSplitFunction(t *testing.T) {
	for _, tc := range []struct{ in, pkg, name string }{
		{"main.main", "main", "main"},
		{"main.(*Store).Lookup", "main", "(*Store).Lookup"},
		{"net/http.HandlerFunc.ServeHTTP", "net/http", "HandlerFunc.ServeHTTP"},
		{"github.com/a/b.v2/c.F.func1", "github.com/a/b.v2/c", "F.func1"},
		{"example.com/x.Map[...]", "example.com/x", "Map[...]"},
		{"example.com/x.Map[go.shape.float64,go.shape.int]", "example.com/x", "Map[go.shape.float64,go.shape.int]"},
		{"gopkg.in/yaml%2ev3.(*parser).parse", "gopkg.in/yaml.v3", "(*parser).parse"},
		{"runtime.gopanic", "runtime", "gopanic"},
		{"nodot", "", "nodot"},
	} {
		pkg, name := SplitFunction(tc.in)
		if pkg != tc.pkg || name != tc.name {
			t.Errorf("SplitFunction(%q) = %q, %q; want %q, %q", tc.in, pkg, name, tc.pkg, tc.name)
		}
	}
}

func TestClassify(t *testing.T) {
	c := Classifier{MainModule: "example.com/app"}
	for _, tc := range []struct {
		pkg, file string
		want      Kind
	}{
		{"main", "/src/app/main.go", App},
		{"example.com/app", "/src/app/x.go", App},
		{"example.com/app/internal/db", "/src/app/internal/db/x.go", App},
		{"example.com/application", "/root/go/pkg/mod/example.com/application@v1/x.go", Library},
		{"github.com/lib/pq", "/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go", Library},
		{"net/http", "/usr/local/go/src/net/http/server.go", Stdlib},
		{"encoding/json", "/usr/local/go/src/encoding/json/decode.go", Stdlib},
		{"runtime", "/usr/local/go/src/runtime/panic.go", Runtime},
		{"internal/runtime/maps", "/usr/local/go/src/internal/runtime/maps/map.go", Runtime},
	} {
		if got := c.Kind(tc.pkg, tc.file); got != tc.want {
			t.Errorf("Kind(%q, %q) = %v, want %v", tc.pkg, tc.file, got, tc.want)
		}
	}
	// Without build info, the file's location decides.
	u := Classifier{}
	if got := u.Kind("github.com/x/y", "/home/me/go/pkg/mod/github.com/x/y@v1/a.go"); got != Library {
		t.Errorf("module cache file classified %v", got)
	}
	if got := u.Kind("github.com/me/app", "/home/me/src/app/a.go"); got != App {
		t.Errorf("source tree file classified %v", got)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

var _ = errors.New
