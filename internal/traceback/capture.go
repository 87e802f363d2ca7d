package traceback

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Panic is everything the views show about one recovered panic.
type Panic struct {
	ID string `json:"id"`
	// URL is the page's own address, for a client that got the panic as
	// JSON or text and wants it in a browser.
	URL       string    `json:"url,omitempty"`
	Time      time.Time `json:"time"`
	Goroutine int64     `json:"goroutine"`
	Value     Value     `json:"value"`
	Frames    []Frame   `json:"frames"`
	Request   *Request  `json:"request,omitempty"`
	Build     *Build    `json:"build,omitempty"`
	// Goroutines is every goroutine at the panic, when they were taken.
	Goroutines *Goroutines `json:"goroutines,omitempty"`
}

// Frame is one call on the panicking goroutine's stack, innermost first.
type Frame struct {
	Index    int     `json:"index"`
	Function string  `json:"function"` // fully qualified, as runtime.Frame.Function
	Package  string  `json:"package"`  // import path
	Name     string  `json:"name"`     // Function without the package path: "(*T).M", "F.func1"
	File     string  `json:"file"`
	Line     int     `json:"line"`
	PC       uintptr `json:"pc"`
	Kind     Kind    `json:"kind"`

	// Source is nil when the file could not be read; SourceErr says why.
	Source    *Context `json:"source,omitempty"`
	SourceErr string   `json:"sourceError,omitempty"`
}

// maxFrames bounds a capture. Deep recursion beyond it is cut at the
// outermost end, where the frames are the least interesting; Truncated says
// so.
const maxFrames = 1024

// Callers records the program counters of the calling goroutine, skipping
// skip frames above the caller of Callers. It is the part of a capture that
// must run on the panicking goroutine, inside the deferred recover: it
// allocates its buffer on the heap and calls little, so that it needs only a
// little stack on top of the panic's frames. The result is trimmed to its
// length: a parked panic keeps it for as long as it is parked, and the
// 8 KiB buffer was a tenth of what each one held.
func Callers(skip int) []uintptr {
	pcs := make([]uintptr, maxFrames)
	n := runtime.Callers(skip+2, pcs)
	return slices.Clone(pcs[:n])
}

// GoroutineID returns the id of the calling goroutine. The runtime does not
// export it; the header of runtime.Stack ("goroutine 42 [running]:") is the
// supported way to read it, and is paid only on panic.
func GoroutineID() int64 {
	var buf [64]byte
	b, ok := strings.CutPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	if !ok {
		return 0
	}
	if i := strings.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseInt(b, 10, 64)
	return id
}

// FramesOf turns program counters recorded inside a deferred recover into
// the panic's frames: the recovering code and the runtime's panic machinery
// above the panicking frame are removed, and so are frames of the packages
// named in hide (the middleware's own frames) and runtime.goexit.
func FramesOf(pcs []uintptr, hide ...string) []Frame {
	frames := runtime.CallersFrames(pcs)
	var all []runtime.Frame
	for {
		f, more := frames.Next()
		all = append(all, f)
		if !more {
			break
		}
	}
	// Everything up to the innermost runtime.gopanic is the recovering side:
	// the deferred function, the capture, and gopanic itself. A capture
	// without gopanic (runtime.Goexit, or a call outside a panic) keeps all.
	start := 0
	for i, f := range all {
		if f.Function == "runtime.gopanic" {
			start = i + 1
			break
		}
	}
	// The runtime raises its own panics through helpers that say nothing to
	// the reader: runtime.panicmem, runtime.sigpanic, runtime.goPanicIndex...
	for start < len(all) && isPanicHelper(all[start].Function) {
		start++
	}

	out := make([]Frame, 0, len(all)-start)
	for _, f := range all[start:] {
		if f.Function == "runtime.goexit" || f.Function == "" {
			continue
		}
		if hidden(f.Function, hide) {
			continue
		}
		pkg, name := SplitFunction(f.Function)
		out = append(out, Frame{
			Index:    len(out),
			Function: f.Function,
			Package:  pkg,
			Name:     name,
			File:     f.File,
			Line:     f.Line,
			PC:       f.PC,
		})
	}
	return out
}

func hidden(fn string, hide []string) bool {
	for _, h := range hide {
		if strings.HasPrefix(fn, h) {
			return true
		}
	}
	return false
}

func isPanicHelper(fn string) bool {
	name, ok := strings.CutPrefix(fn, "runtime.")
	if !ok {
		return false
	}
	// panicmem, panicdivide, panicBounds64, goPanicIndex...: the names
	// change between releases, the prefixes do not.
	return name == "sigpanic" || strings.HasPrefix(name, "panic") || strings.HasPrefix(name, "goPanic")
}

// SplitFunction splits "example.com/a/b.(*T).M" into its import path
// "example.com/a/b" and the rest "(*T).M". The package path ends at the first
// dot after the last slash: the linker escapes dots in a path's last element
// ("gopkg.in/yaml%2ev3"), and the escape is undone here. Generic
// instantiations ("F[...]") may contain slashes and dots inside brackets, so
// brackets are cut first.
func SplitFunction(fn string) (pkg, name string) {
	head := fn
	if i := strings.IndexByte(head, '['); i >= 0 {
		head = head[:i]
	}
	slash := strings.LastIndexByte(head, '/')
	dot := strings.IndexByte(head[slash+1:], '.')
	if dot < 0 {
		return "", fn
	}
	dot += slash + 1
	return strings.ReplaceAll(fn[:dot], "%2e", "."), fn[dot+1:]
}
