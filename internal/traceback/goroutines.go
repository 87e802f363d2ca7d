package traceback

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panicroom/panicroom/internal/gostack"
	"github.com/panicroom/panicroom/internal/intern"
)

// Goroutines is every goroutine of the program at the moment of a panic,
// those with identical stacks grouped, the largest groups first.
type Goroutines struct {
	// Total counts the goroutines, those of omitted groups included.
	Total  int              `json:"total"`
	Groups []GoroutineGroup `json:"groups"`
	// OmittedGroups and OmittedGoroutines count what is beyond MaxGroups.
	OmittedGroups     int `json:"omittedGroups,omitempty"`
	OmittedGoroutines int `json:"omittedGoroutines,omitempty"`
	// Truncated is set when the dump was larger than maxDump: the
	// goroutines past its end are missing.
	Truncated bool `json:"truncated,omitempty"`
	// Took is how long the world was stopped for the dump, every try of
	// a growing buffer included.
	Took time.Duration `json:"tookNs"`
	// DumpBytes is the size of runtime.Stack's text.
	DumpBytes int `json:"dumpBytes"`
	// Skipped, when set, says why the goroutines were not taken for this
	// panic; nothing else is set then.
	Skipped string `json:"skipped,omitempty"`
}

// GoroutineGroup is a set of goroutines with the same stack, state and
// creator.
type GoroutineGroup struct {
	Count int `json:"count"`
	// IDs are the first maxIDs goroutines of the group.
	IDs   []int    `json:"ids"`
	State string   `json:"state"`
	Attrs []string `json:"attrs,omitempty"` // "locked to thread"
	// MinWait and MaxWait are in minutes; the runtime counts a wait only
	// from its first minute, so 0 is "under a minute".
	MinWait   int     `json:"minWait,omitempty"`
	MaxWait   int     `json:"maxWait,omitempty"`
	Frames    []Frame `json:"frames,omitempty"`
	CreatedBy *Frame  `json:"createdBy,omitempty"`
	// Elided is set when frames were left out of a deep stack, by the
	// runtime or by maxGroupFrames.
	Elided bool   `json:"elided,omitempty"`
	Note   string `json:"note,omitempty"`
	// Panicking marks the goroutine that panicked. Its frames are the
	// page's traceback, so the group carries none.
	Panicking bool `json:"panicking,omitempty"`
}

// Wait says how long the group's goroutines have been blocked: "",
// "3 minutes", "2–5 minutes".
func (g GoroutineGroup) Wait() string { return gostack.WaitText(g.MinWait, g.MaxWait) }

// Bounds on what one panic keeps of the goroutines, so that a program of
// 10,000 goroutines with as many different stacks still makes a small page.
const (
	MaxGroups      = 50
	maxGroupFrames = 48
	maxIDs         = 20
	// maxDump bounds runtime.Stack's buffer.
	maxDump = 16 << 20
)

// dumps shares one runtime.Stack among the panics that want it at the same
// time: it stops the world, and a burst of panics must not stop it once
// per panic.
var dumps struct {
	mu  sync.Mutex
	cur *dumpCall
}

// dumpPerGoroutine is the last dump's size per goroutine.
var dumpPerGoroutine atomic.Int64

func init() { dumpPerGoroutine.Store(1 << 10) }

type dumpCall struct {
	done      chan struct{}
	size      int // bytes of the dump
	gs        []gostack.Goroutine
	took      time.Duration
	truncated bool
}

// CaptureGoroutines takes every goroutine's stack and groups them. panicking
// is the id of the goroutine that panicked; the goroutines that take the
// dump (panicroom's own, in this function) are left out. It stops the
// world for as long as runtime.Stack takes (some tens of milliseconds at
// 10,000 goroutines) and must not run on the panicking goroutine: the
// buffer and the parse would grow its stack (see recover.go).
//
// Goroutines that panicked and wait in a recovering deferred call (other
// panics panicroom keeps) show from their panicking frame, as their page
// does, in the state "panicked"; frames of the functions named in hide
// (the middleware's own) are left out, as in FramesOf.
func CaptureGoroutines(panicking int64, c Classifier, hide ...string) *Goroutines {
	d := dump()
	out := &Goroutines{Took: d.took, Truncated: d.truncated, DumpBytes: d.size}
	gs := make([]gostack.Goroutine, 0, len(d.gs))
	for _, g := range d.gs {
		if !ownGoroutine(g) {
			gs = append(gs, trimRecovering(g, hide))
		}
	}
	out.Total = len(gs)
	groups := gostack.GroupOf(gs, int(panicking))
	// The panicking goroutine first, then the groups in the app's code
	// (the lock's holder matters as much as the pile-up behind it), then
	// the rest (the server's accept loop, libraries' timers, panicroom's
	// own); the largest first within each: a leak or a pile-up behind one
	// lock is the group with the most goroutines.
	rank := func(g gostack.Group) int {
		switch {
		case g.Crashed:
			return 0
		case inApp(g, c):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(groups, func(a, b gostack.Group) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return len(b.IDs) - len(a.IDs)
	})
	for i, g := range groups {
		if i >= MaxGroups {
			out.OmittedGroups++
			out.OmittedGoroutines += len(g.IDs)
			continue
		}
		gg := GoroutineGroup{Count: len(g.IDs), IDs: slices.Clone(g.IDs[:min(len(g.IDs), maxIDs)]), State: strings.Clone(g.State), Attrs: cloneStrings(g.Attrs),
			MinWait: g.MinWait, MaxWait: g.MaxWait, Elided: g.Elided, Note: strings.Clone(g.Note), Panicking: g.Crashed}
		if g.Crashed {
			// Its runtime state is panicroom's doing (a read on the park's
			// pipe, or the wait before it), not the app's.
			gg.State, gg.Attrs, gg.MinWait, gg.MaxWait = "panicked", nil, 0, 0
		} else {
			frames := g.Frames
			if len(frames) > maxGroupFrames {
				frames, gg.Elided = frames[:maxGroupFrames], true
			}
			gg.Frames = make([]Frame, len(frames))
			for i, f := range frames {
				gg.Frames[i] = stackFrame(i, f)
			}
			c.Classify(gg.Frames)
			if g.CreatedBy != nil {
				cb := stackFrame(0, *g.CreatedBy)
				cb.Kind = c.Kind(cb.Package, cb.File)
				gg.CreatedBy = &cb
			}
		}
		out.Groups = append(out.Groups, gg)
	}
	return out
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.Clone(v)
	}
	return out
}

func inApp(g gostack.Group, c Classifier) bool {
	for _, f := range g.Frames {
		if pkg, _ := SplitFunction(f.Function); c.Kind(pkg, f.File) == App {
			return true
		}
	}
	return false
}

// stackFrame copies the strings it keeps out of the dump: a substring
// would keep the whole dump (tens of kilobytes, more with every parked
// panic in it) alive for as long as the panic is remembered. The names are
// interned: every panic's dump names mostly the same functions.
func stackFrame(i int, f gostack.Frame) Frame {
	fn := intern.Name(f.Function)
	pkg, name := SplitFunction(fn)
	return Frame{Index: i, Function: fn, Package: pkg, Name: name, File: intern.Name(f.File), Line: f.Line}
}

// trimRecovering removes from g what is not the app's: the recovering
// side above a panic (the deferred call, the wait, the runtime's panic
// machinery), and frames of the functions named in hide. It does not
// modify g's frames in place: the dump may be shared.
func trimRecovering(g gostack.Goroutine, hide []string) gostack.Goroutine {
	start := 0
	for i, f := range g.Frames {
		if f.Function == "panic" || f.Function == "runtime.gopanic" {
			start = i + 1
			g.State, g.Attrs = "panicked", nil
			break
		}
	}
	for start < len(g.Frames) && isPanicHelper(g.Frames[start].Function) {
		start++
	}
	frames := make([]gostack.Frame, 0, len(g.Frames)-start)
	for _, f := range g.Frames[start:] {
		if !hidden(f.Function, hide) {
			frames = append(frames, f)
		}
	}
	g.Frames = frames
	return g
}

// ownGoroutine reports whether g is one of the goroutines taking a dump:
// the one that takes it, and those of concurrent panics waiting to share it.
func ownGoroutine(g gostack.Goroutine) bool {
	for _, f := range g.Frames {
		if strings.HasPrefix(f.Function, "github.com/panicroom/panicroom/internal/traceback.CaptureGoroutines") {
			return true
		}
	}
	return false
}

// dump returns the goroutines as runtime.Stack sees them now, or as a
// dump already under way when it was called sees them.
func dump() *dumpCall {
	dumps.mu.Lock()
	if d := dumps.cur; d != nil {
		dumps.mu.Unlock()
		<-d.done
		return d
	}
	d := &dumpCall{done: make(chan struct{})}
	dumps.cur = d
	dumps.mu.Unlock()
	defer func() {
		dumps.mu.Lock()
		dumps.cur = nil
		dumps.mu.Unlock()
		close(d.done)
	}()

	// Each try stops the world for the whole traversal (runtime.Stack
	// goes on past a full buffer), so the first buffer is sized by the
	// last dump's bytes per goroutine, a kilobyte (a dozen frames) at the
	// first: only a program whose stacks grew retries.
	numG := runtime.NumGoroutine()
	size := max(64<<10, numG*int(dumpPerGoroutine.Load())*5/4)
	var buf []byte
	for {
		buf = make([]byte, min(size, maxDump))
		start := time.Now()
		n := runtime.Stack(buf, true)
		d.took += time.Since(start)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		if size >= maxDump {
			d.truncated = true
			break
		}
		// A second stop of the world is the last.
		size = maxDump
	}
	d.size = len(buf)
	if numG > 0 {
		dumpPerGoroutine.Store(int64(max(256, len(buf)/numG)))
	}
	d.gs = gostack.Parse(strings.Split(string(buf), "\n"))
	return d
}

// AddSource gives the innermost frame of the app's code in each group its
// source, contextLines either side: where that goroutine is in the
// developer's code, one click away on the page.
func (g *Goroutines) AddSource(s *Sources, contextLines int) {
	for i := range g.Groups {
		for j, f := range g.Groups[i].Frames {
			if f.Kind != App {
				continue
			}
			ctx, err := s.Context(f.File, f.Line, contextLines)
			if err != nil {
				g.Groups[i].Frames[j].SourceErr = err.Error()
			} else {
				g.Groups[i].Frames[j].Source = ctx
			}
			break
		}
	}
}
