package backend

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// A request names a parked goroutine by its page frames; these find them
// among Delve's and read their variables.

// maxFrames bounds the panics whose frames the agent keeps; the app
// releases parked panics long before that many.
const maxFrames = 256

// frames maps the page's frames onto Delve's frames of the goroutine:
// result[i] is the index in delve of page frame i, or -1. Matching is by
// function name and PC, in order, never by position: Delve also sees the
// park loop, the deferred function and the runtime's panic frames, and it
// can lose a frame (trap 2 of DESIGN.md).
func matchFrames(page []debugapi.Frame, delve []proc.Stackframe) []int {
	out := make([]int, len(page))
	next := len(delve) - 1
	// Walk from the outermost frame inwards: the page and Delve agree on
	// the bottom of the stack, and the top of Delve's is extra.
	for i := len(page) - 1; i >= 0; i-- {
		out[i] = -1
		pf := page[i]
		for j := next; j >= 0; j-- {
			fn := delve[j].Call.Fn
			if fn == nil || fn.Name != pf.Function {
				continue
			}
			pc := uint64(pf.PC)
			if delve[j].Call.PC == pc || delve[j].Current.PC == pc || delve[j].Current.PC == pc+1 {
				out[i] = j
				next = j - 1
				break
			}
		}
	}
	return out
}

type located struct {
	g      *proc.G
	stack  []proc.Stackframe
	index  []int // page frame -> stack index
	thread int
	mem    proc.MemoryReadWriter
}

// locate finds req's goroutine and unwinds its stack, with the app
// stopped; or, for a read answered while the app runs, returns the frames
// kept from the last stop (nonstop_linux.go).
func (sn *session) locate(req wire.Scope) (*located, error) {
	if sn.thawed != nil {
		return sn.thawed, nil
	}
	g, err := proc.FindGoroutine(sn.t, req.Goroutine)
	if err != nil || g == nil {
		return nil, debugapi.Errorf(debugapi.CodeReleased, "goroutine %d is gone", req.Goroutine)
	}
	depth := len(req.Frames) + 128
	stack, err := proc.GoroutineStacktrace(sn.t, g, depth, 0)
	if err != nil {
		return nil, fmt.Errorf("unwinding goroutine %d: %w", req.Goroutine, err)
	}
	stack = fixInjectedFrames(sn.t, g, stack, depth)
	l := &located{g: g, stack: stack, index: matchFrames(req.Frames, stack), thread: sn.t.CurrentThread().ThreadID(), mem: sn.t.Memory()}
	if g.Thread != nil {
		l.thread = g.Thread.ThreadID()
	}
	sn.freeze(req, l)
	return l, nil
}

func (l *located) frame(req wire.Scope, i int) (int, error) {
	if i < 0 || i >= len(req.Frames) {
		return 0, debugapi.Errorf(debugapi.CodeNoFrame, "frame %d does not exist: the panic has %d frames", i, len(req.Frames))
	}
	d := l.index[i]
	if d < 0 {
		f := req.Frames[i]
		return 0, debugapi.Errorf(debugapi.CodeNoFrame, "Delve's unwinder has no frame for %s (%s:%d): it loses a frame below runtime.sigpanic when the faulting function is a frameless leaf; try the frame above", f.Function, f.File, f.Line)
	}
	if fn := l.stack[d].Call.Fn; fn != nil && fn.Optimized() {
		if runtimePackage(fn.Name) {
			// Advice to rebuild would be wrong: the toolchain compiles the
			// runtime's packages with optimizations whatever -gcflags say
			// (seen with runtime.mapassign_faststr under all=-N -l).
			return d, debugapi.Errorf(debugapi.CodeOptimized, "%s "+debugapi.RuntimeOptimized+": its variables may be unreadable and calls from it are refused; use the console of one of your own frames", fn.Name)
		}
		return d, debugapi.Errorf(debugapi.CodeOptimized, "%s was compiled with optimizations, its variables may be unreadable and calls are refused: "+debugapi.BuildAdvice, fn.Name)
	}
	return d, nil
}

// frameScope locates req's goroutine and returns the scope of its page
// frame req.Frame.
func (sn *session) frameScope(req wire.At) (*proc.EvalScope, error) {
	l, err := sn.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	d, err := l.frame(req.Scope, req.Frame)
	if err != nil {
		return nil, err
	}
	return sn.scope(l, d), nil
}

func (sn *session) scope(l *located, d int) *proc.EvalScope {
	return proc.FrameToScope(sn.t, l.mem, l.g, l.thread, l.stack[d:]...)
}

func (sn *session) frameVars(req wire.Scope, l *located, i int) debugapi.FrameVars {
	return sn.frameVarsKeep(req, l, i, nil)
}

// frameVarsKeep is frameVars that also hands every arg and local to k,
// when k is not nil.
func (sn *session) frameVarsKeep(req wire.Scope, l *located, i int, k *keeper) debugapi.FrameVars {
	fv := debugapi.FrameVars{Frame: i, Function: req.Frames[i].Function}
	d, err := l.frame(req, i)
	if err != nil && d == 0 {
		fv.Missing = err.(*debugapi.Error).Msg
		return fv
	}
	sc := sn.scope(l, d)
	args, err := sc.FunctionArguments(loadConfig)
	if err != nil {
		fv.Missing = err.Error()
		return fv
	}
	locals, err := sc.LocalVariables(loadConfig)
	if err != nil {
		fv.Missing = err.Error()
		return fv
	}
	if k != nil {
		for _, v := range args {
			k.variable(v)
		}
		for _, v := range locals {
			k.variable(v)
		}
	}
	for _, v := range args {
		fv.Args = append(fv.Args, tree(sn.t.BinInfo(), req.Panic, i, v, v.Name))
	}
	for _, v := range locals {
		fv.Locals = append(fv.Locals, tree(sn.t.BinInfo(), req.Panic, i, v, v.Name))
	}
	if len(args)+len(locals) == 0 && sn.noMainVars {
		if fn := l.stack[d].Call.Fn; fn != nil && fn.PackageName() == "main" {
			// Not "no arguments or locals": the compiler did not describe
			// them.
			fv.Missing = capitalizeFirst(debugapi.NoMainVariablesAdvice) + "."
		}
	}
	return fv
}

func capitalizeFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// snapshot reads every app frame's args and locals. Asked with KeepAlive,
// it also lists the heap pointers they hold, so that the app can keep
// those objects from the collector (keepalive.go).
func (sn *session) snapshot(req wire.SnapshotIn) (*wire.SnapshotOut, error) {
	start := time.Now()
	l, err := sn.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	ans := &wire.SnapshotOut{}
	var k *keeper
	if req.KeepAlive {
		k, ans.KeepAliveGC, err = sn.startKeeper(l)
		if err != nil {
			ans.KeepAliveErr = err.Error()
		}
	}
	s := &debugapi.Snapshot{Panic: req.Panic, Taken: start}
	for i, f := range req.Frames {
		if !f.App {
			s.Frames = append(s.Frames, debugapi.FrameVars{Frame: i, Function: f.Function, Missing: "not an app frame"})
			continue
		}
		s.Frames = append(s.Frames, sn.frameVarsKeep(req.Scope, l, i, k))
	}
	if k != nil {
		ans.KeepAlive = k.out
	}
	s.Took = time.Since(start)
	ans.Snapshot = s
	return ans, nil
}

// startKeeper prepares the keep-alive collection for the goroutine of l
// and reads the number of collections ended so far.
func (sn *session) startKeeper(l *located) (*keeper, uint32, error) {
	if len(l.stack) == 0 {
		return nil, 0, errors.New("the goroutine has no frames")
	}
	k, err := sn.newKeeper(sn.scope(l, 0))
	if err != nil {
		return nil, 0, err
	}
	return k, k.heap.numgc, nil
}

func (sn *session) locals(req wire.LocalsIn) (*wire.LocalsOut, error) {
	l, err := sn.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	if _, err := l.frame(req.Scope, req.Frame); err != nil {
		return nil, err
	}
	fv := sn.frameVars(req.Scope, l, req.Frame)
	return &wire.LocalsOut{Vars: &fv}, nil
}

func (sn *session) expand(req wire.ExpandIn) (*wire.ExpandOut, error) {
	sc, err := sn.frameScope(req.At)
	if err != nil {
		return nil, err
	}
	expr := req.Expr
	if req.Start > 0 {
		expr = "(" + expr + ")[" + fmt.Sprint(req.Start) + ":]"
	}
	v, err := sc.EvalExpression(expr, loadConfig)
	if err != nil {
		return nil, evalError(err)
	}
	out := tree(sn.t.BinInfo(), req.Panic, req.Frame, v, expr)
	if req.Start > 0 {
		// Elements are numbered from the start of the original value,
		// and their handles must point into it, not into the reslice.
		for i := range out.Children {
			if strings.HasPrefix(out.Children[i].Name, "[") {
				out.Children[i].Name = fmt.Sprintf("[%d]", req.Start+i)
			}
		}
		if out.More != nil {
			out.More.Expr = req.Expr
			out.More.Start += req.Start
		}
	}
	return &wire.ExpandOut{Value: &out}, nil
}
