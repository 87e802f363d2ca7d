package backend

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

func (tr *tracer) serve(req wire.Request) (ans wire.Answer) {
	if req.Timeout <= 0 {
		req.Timeout = debugapi.DefaultTimeout
	}
	deadline := time.Now().Add(req.Timeout)
	tr.timeout = req.Timeout
	sc := req.Scope()
	if sc == nil {
		return wire.Answer{Err: debugapi.Errorf(debugapi.CodeEval, "a request without an operation, or with more than one")}
	}
	if !tr.framesFor(sc) {
		return wire.Answer{Err: &debugapi.Error{Code: wire.CodeNeedFrames, Msg: "the agent no longer has this panic's frames"}}
	}
	if tr.readsRunning(req) {
		if l := tr.thaw(*sc); l != nil && tr.writesRunning(req, l) {
			tr.thawed = l
			defer func() { tr.thawed = nil }()
			return tr.do(req, deadline)
		}
	}
	if err := tr.halt(); err != nil {
		return wire.Answer{Err: debugapi.Errorf(debugapi.CodeAgentDied, "stopping the app: %v", err)}
	}
	defer func() {
		if !tr.exited {
			tr.resume()
		}
	}()
	ans = tr.do(req, deadline)
	ans.Stopped = true
	return ans
}

func (tr *tracer) do(req wire.Request, deadline time.Time) (ans wire.Answer) {
	defer func() {
		// A Delve bug must cost one answer, not the agent (and with it a
		// stopped app).
		if r := recover(); r != nil {
			ans = wire.Answer{Err: debugapi.Errorf(debugapi.CodeEval, "internal error in the debugger: %v", r)}
		}
	}()

	// The operations: one case per payload of wire.Request.
	var err error
	switch {
	case req.Snapshot != nil:
		ans.Snapshot, err = tr.snapshot(*req.Snapshot)
	case req.Locals != nil:
		ans.Locals, err = tr.locals(*req.Locals)
	case req.Eval != nil:
		ans.Eval = &wire.EvalOut{}
		ans.Eval.Value, ans.Eval.NeedCall, err = tr.eval(*req.Eval, deadline, &ans.Eval.Retained)
	case req.Expand != nil:
		ans.Expand, err = tr.expand(*req.Expand)
	default:
		err = fmt.Errorf("unknown operation %q", req.Op())
	}
	if err != nil {
		var e *debugapi.Error
		if !errors.As(err, &e) {
			e = debugapi.Errorf(debugapi.CodeEval, "%v", err)
		}
		ans.Err = e
	}
	return ans
}

// framesFor fills req.Frames from those kept for its panic, or keeps the
// ones it carries; it reports false when they were sent to this agent but
// are no longer kept.
func (tr *tracer) framesFor(req *wire.Scope) bool {
	if len(req.Frames) > 0 {
		tr.frames.put(req.Panic, req.Frames)
		return true
	}
	if !req.FramesSent {
		return true
	}
	req.Frames = tr.frames.get(req.Panic)
	return req.Frames != nil
}

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
func (tr *tracer) locate(req wire.Scope) (*located, error) {
	if tr.thawed != nil {
		return tr.thawed, nil
	}
	g, err := proc.FindGoroutine(tr.t, req.Goroutine)
	if err != nil || g == nil {
		return nil, debugapi.Errorf(debugapi.CodeReleased, "goroutine %d is gone", req.Goroutine)
	}
	depth := len(req.Frames) + 128
	stack, err := proc.GoroutineStacktrace(tr.t, g, depth, 0)
	if err != nil {
		return nil, fmt.Errorf("unwinding goroutine %d: %w", req.Goroutine, err)
	}
	stack = fixInjectedFrames(tr.t, g, stack, depth)
	l := &located{g: g, stack: stack, index: matchFrames(req.Frames, stack), thread: tr.t.CurrentThread().ThreadID(), mem: tr.t.Memory()}
	if g.Thread != nil {
		l.thread = g.Thread.ThreadID()
	}
	tr.freeze(req, l)
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
		return d, debugapi.Errorf(debugapi.CodeOptimized, "%s was compiled with optimizations, its variables may be unreadable and calls are refused: "+debugapi.BuildAdvice, fn.Name)
	}
	return d, nil
}

// frameScope locates req's goroutine and returns the scope of its page
// frame req.Frame.
func (tr *tracer) frameScope(req wire.At) (*proc.EvalScope, error) {
	l, err := tr.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	d, err := l.frame(req.Scope, req.Frame)
	if err != nil {
		return nil, err
	}
	return tr.scope(l, d), nil
}

func (tr *tracer) scope(l *located, d int) *proc.EvalScope {
	return proc.FrameToScope(tr.t, l.mem, l.g, l.thread, l.stack[d:]...)
}

func (tr *tracer) frameVars(req wire.Scope, l *located, i int) debugapi.FrameVars {
	return tr.frameVarsKeep(req, l, i, nil)
}

// frameVarsKeep is frameVars that also hands every arg and local to k,
// when k is not nil.
func (tr *tracer) frameVarsKeep(req wire.Scope, l *located, i int, k *keeper) debugapi.FrameVars {
	fv := debugapi.FrameVars{Frame: i, Function: req.Frames[i].Function}
	d, err := l.frame(req, i)
	if err != nil && d == 0 {
		fv.Missing = err.(*debugapi.Error).Msg
		return fv
	}
	sc := tr.scope(l, d)
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
		fv.Args = append(fv.Args, tree(tr.t.BinInfo(), req.Panic, i, v, v.Name))
	}
	for _, v := range locals {
		fv.Locals = append(fv.Locals, tree(tr.t.BinInfo(), req.Panic, i, v, v.Name))
	}
	if len(args)+len(locals) == 0 && tr.noMainVars {
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
func (tr *tracer) snapshot(req wire.SnapshotIn) (*wire.SnapshotOut, error) {
	start := time.Now()
	l, err := tr.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	ans := &wire.SnapshotOut{}
	var k *keeper
	if req.KeepAlive {
		k, ans.KeepAliveGC, err = tr.startKeeper(l)
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
		s.Frames = append(s.Frames, tr.frameVarsKeep(req.Scope, l, i, k))
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
func (tr *tracer) startKeeper(l *located) (*keeper, uint32, error) {
	if len(l.stack) == 0 {
		return nil, 0, errors.New("the goroutine has no frames")
	}
	k, err := tr.newKeeper(tr.scope(l, 0))
	if err != nil {
		return nil, 0, err
	}
	return k, k.heap.numgc, nil
}

func (tr *tracer) locals(req wire.LocalsIn) (*wire.LocalsOut, error) {
	l, err := tr.locate(req.Scope)
	if err != nil {
		return nil, err
	}
	if _, err := l.frame(req.Scope, req.Frame); err != nil {
		return nil, err
	}
	fv := tr.frameVars(req.Scope, l, req.Frame)
	return &wire.LocalsOut{Vars: &fv}, nil
}

func (tr *tracer) expand(req wire.ExpandIn) (*wire.ExpandOut, error) {
	sc, err := tr.frameScope(req.At)
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
	out := tree(tr.t.BinInfo(), req.Panic, req.Frame, v, expr)
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

// needsCall reports Delve's refusal to evaluate without call injection.
// needsCall reports whether a failed evaluation should be tried again as a
// call. Delve says so in so many words for a plain function call, but a
// method through a pointer to a package variable ("has no member M") fails
// before it gets there; any failed expression with a call in it goes to the
// call path, which gives the precise reason if it cannot call either.
func needsCall(err error, expr string) bool {
	if err == nil {
		return false
	}
	return strings.Contains(err.Error(), msgNeedsCall) || hasCall(expr)
}

// builtinCalls are evaluated by Delve without injecting anything.
var builtinCalls = map[string]bool{"len": true, "cap": true, "complex": true, "real": true, "imag": true, "min": true, "max": true}

func hasCall(expr string) bool {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		if id, ok := c.Fun.(*ast.Ident); ok && builtinCalls[id.Name] {
			return true
		}
		found = true
		return false
	})
	return found
}

func (tr *tracer) eval(req wire.EvalIn, deadline time.Time, retained *bool) (*debugapi.Value, bool, error) {
	if req.Call {
		v, err := tr.call(req, deadline, retained)
		return v, false, err
	}
	sc, err := tr.frameScope(req.At)
	if err != nil {
		return nil, false, err
	}
	if lhs, rhs, ok := debugapi.SplitAssign(req.Expr); ok {
		if err := sc.SetVariable(lhs, rhs); err != nil {
			if needsCall(err, rhs) {
				return nil, true, nil
			}
			return nil, false, evalError(err)
		}
		return tr.readBack(req, lhs)
	}
	v, err := sc.EvalExpression(req.Expr, loadConfig)
	if err != nil && strings.Contains(err.Error(), msgNoSymbol) {
		// A package the frame's file imports under another name than
		// Delve knows it by (a renamed import): name it by its path.
		if alt := tr.inPlace(req, sc); alt != "" && alt != req.Expr {
			if v2, err2 := sc.EvalExpression(alt, loadConfig); err2 == nil {
				v, err = v2, nil
			}
		}
	}
	if err != nil {
		if needsCall(err, req.Expr) {
			return nil, true, nil
		}
		return nil, false, evalErrorFor(err, req.Expr)
	}
	out := tree(tr.t.BinInfo(), req.Panic, req.Frame, v, req.Expr)
	out.Name = req.Expr
	return &out, false, nil
}

// readBack answers an assignment with the new value, read in a fresh scope
// so that no cached frame memory hides the write.
func (tr *tracer) readBack(req wire.EvalIn, lhs string) (*debugapi.Value, bool, error) {
	sc, err := tr.frameScope(req.At)
	if err != nil {
		return nil, false, err
	}
	v, err := sc.EvalExpression(lhs, loadConfig)
	if err != nil {
		return nil, false, evalError(err)
	}
	out := tree(tr.t.BinInfo(), req.Panic, req.Frame, v, lhs)
	out.Name = lhs
	return &out, false, nil
}

// inPlace is req.Expr with the packages its frame's file renamed named
// by path, for an evaluation in that frame's scope; "" if it cannot say.
func (tr *tracer) inPlace(req wire.EvalIn, sc *proc.EvalScope) string {
	if req.Frame < 0 || req.Frame >= len(req.Frames) {
		return ""
	}
	n := names{imports: tr.imports.of(req.Frames[req.Frame].File), locals: map[string]bool{}}
	if n.imports == nil {
		return ""
	}
	if sc.Fn != nil {
		n.pkg = sc.Fn.PackageName()
	}
	if vars, err := sc.Locals(0, ""); err == nil {
		for _, v := range vars {
			n.locals[v.Name] = true
		}
	}
	out, err := rewriteIn(req.Expr, inPlace, n)
	if err != nil {
		return ""
	}
	return out
}

// namesIn is what names mean in Delve's frame d (the page's req.Frame).
func (tr *tracer) namesIn(req wire.EvalIn, l *located, d int, locals map[string]bool) names {
	n := names{locals: locals}
	if fn := l.stack[d].Call.Fn; fn != nil {
		n.pkg = fn.PackageName()
	}
	if req.Frame >= 0 && req.Frame < len(req.Frames) {
		n.imports = tr.imports.of(req.Frames[req.Frame].File)
	}
	if n.pkg != "" {
		// A package-level variable or function of the frame's package:
		// Delve finds it by its qualified name, which costs a lookup in
		// the debug information and no read of the app.
		sc := tr.scope(l, d)
		qual := pathQualifier(n.pkg)
		q := ""
		switch e := qual.(type) {
		case *ast.Ident:
			q = e.Name
		case *ast.BasicLit:
			q = e.Value
		}
		n.isPackageLevel = func(name string) bool {
			if fns := tr.t.BinInfo().LookupFunc()[n.pkg+"."+name]; len(fns) > 0 {
				return true
			}
			_, err := sc.EvalExpression(q+"."+name, proc.LoadConfig{})
			return err == nil
		}
	}
	return n
}

// callSite finds the panic's goroutine spinning in rendezvous on a thread,
// the scope of the requested frame and the expression rewritten for a call
// injected from the top of that goroutine, and selects the goroutine.
func (tr *tracer) callSite(req wire.EvalIn, deadline time.Time) (*located, *proc.EvalScope, string, error) {
	var l *located
	for attempt := 0; ; attempt++ {
		var err error
		l, err = tr.locate(req.Scope)
		if err != nil {
			return nil, nil, "", err
		}
		g := l.g
		if g.Thread != nil && len(l.stack) > 0 && l.stack[0].Call.Fn != nil && l.stack[0].Call.Fn.Name == wire.SpinSymbol {
			break
		}
		if attempt > 200 || time.Now().After(deadline) {
			return nil, nil, "", debugapi.Errorf(debugapi.CodeCall, "the panic's goroutine did not reach the rendezvous on a thread (it is in %s)", frameName(l.stack))
		}
		tr.resume()
		time.Sleep(time.Millisecond)
		if err := tr.halt(); err != nil {
			return nil, nil, "", debugapi.Errorf(debugapi.CodeAgentDied, "stopping the app: %v", err)
		}
	}
	d, err := l.frame(req.Scope, req.Frame)
	if err != nil {
		return nil, nil, "", err
	}
	sc := tr.scope(l, d)
	vars, err := sc.Locals(0, "")
	if err != nil {
		return nil, nil, "", evalError(err)
	}
	locals := map[string]bool{}
	for _, v := range vars {
		if v.Flags&proc.VariableShadowed == 0 {
			locals[v.Name] = true
		}
	}
	expr, err := rewriteIn(req.Expr, d, tr.namesIn(req, l, d, locals))
	if err != nil {
		return nil, nil, "", err
	}
	if err := tr.t.SwitchGoroutine(l.g); err != nil {
		return nil, nil, "", fmt.Errorf("selecting goroutine %d: %w", l.g.ID, err)
	}
	return l, sc, expr, nil
}

// call injects req.Expr from the goroutine spinning in rendezvous. The
// goroutine may have been preempted when the app was stopped (it is then
// not on a thread, and Delve can only inject on a thread): let it run a
// little and stop again.
func (tr *tracer) call(req wire.EvalIn, deadline time.Time, retained *bool) (*debugapi.Value, error) {
	if tr.stuck[req.Goroutine] {
		return nil, debugapi.Errorf(debugapi.CodeCall, "an earlier call from this panic's goroutine never returned; it cannot run another one")
	}
	l, sc, expr, err := tr.callSite(req, deadline)
	if err != nil {
		return nil, err
	}
	err = tr.inject(req, sc, l, expr, deadline, true)
	if err != nil && strings.Contains(err.Error(), msgEscape) && req.StackPointers {
		// Delve's escape check refused a pointer into the parked frames
		// (a method on a local that never escaped). Nothing was run. The
		// app has agreed to keep this panic's frames for good once such a
		// call happens (Panic.Retain), so a pointer the callee keeps
		// stays valid: call again without the check, from a fresh look at
		// the goroutine (the refused injection left Delve's view stale).
		*retained = true
		if l, sc, expr, err = tr.callSite(req, deadline); err != nil {
			return nil, err
		}
		err = tr.inject(req, sc, l, expr, deadline, false)
	}
	var e *debugapi.Error
	if errors.As(err, &e) {
		return nil, e
	}
	if err != nil {
		return nil, callError(err, req.Expr)
	}
	var rets []*proc.Variable
	for _, th := range tr.t.ThreadList() {
		if th.Common().CallReturn {
			rets = th.Common().ReturnValues(loadConfig)
			break
		}
	}
	if lhs, _, ok := debugapi.SplitAssign(req.Expr); ok {
		v, _, err := tr.readBack(req, lhs)
		return withNote(v, *retained), err
	}
	v, err := callResult(tr.t.BinInfo(), req, rets)
	return withNote(v, *retained), err
}

// retainNote is the one line a call's answer carries when the call was
// handed pointers into the parked frames.
const retainNote = "This call was handed pointers into the parked frames, so they are now kept until the app restarts: a pointer the function kept stays valid."

func withNote(v *debugapi.Value, retained bool) *debugapi.Value {
	if v != nil && retained {
		v.Note = retainNote
	}
	return v
}

// callResult turns the values a call returned into an answer.
func callResult(bi *proc.BinaryInfo, req wire.EvalIn, rets []*proc.Variable) (*debugapi.Value, error) {
	switch {
	case len(rets) == 0:
		return &debugapi.Value{Name: req.Expr, Kind: "invalid", Value: "(no result)", Len: -1, Cap: -1}, nil
	case len(rets) == 1 && rets[0].Name == "~panic":
		pv := tree(bi, req.Panic, req.Frame, rets[0], "")
		pv.Name = "panic"
		return nil, &debugapi.Error{Code: debugapi.CodeCallPanicked, Msg: "the call panicked: " + pv.Value + " " + firstChildValue(pv), Value: &pv}
	case len(rets) == 1:
		out := tree(bi, req.Panic, req.Frame, rets[0], "")
		out.Name = req.Expr
		return &out, nil
	}
	out := debugapi.Value{Name: req.Expr, Kind: "results", Len: int64(len(rets)), Cap: -1}
	types := make([]string, 0, len(rets))
	for _, r := range rets {
		c := tree(bi, req.Panic, req.Frame, r, "")
		types = append(types, c.Type)
		out.Children = append(out.Children, c)
	}
	// The results' types as the function's signature lists them.
	out.Type = "(" + strings.Join(types, ", ") + ")"
	return &out, nil
}

// inject runs expr as a call from the goroutine of l, spinning in
// rendezvous, with Delve's escape check on or off. Delve's own refusals
// come back as they are, for callError; the agent's come back as *Error.
func (tr *tracer) inject(req wire.EvalIn, sc *proc.EvalScope, l *located, expr string, deadline time.Time, checkEscape bool) error {
	// If this agent dies before the call is over, the app's SIGTRAP
	// handler finishes the protocol in its place.
	slot, err := tr.armTrap(sc, l.g)
	if err != nil {
		return debugapi.Errorf(debugapi.CodeCall, "preparing the call: %v", err)
	}

	// The injected call runs with the whole app running. If it blocks or
	// loops past the deadline, stop the app; Delve keeps the unfinished
	// injection and the goroutine stays in it.
	var mu sync.Mutex
	finished := false
	timedOut := false
	timer := time.AfterFunc(time.Until(deadline), func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			timedOut = true
			tr.grp.RequestManualStop()
		}
	})
	err = proc.EvalExpressionWithCalls(tr.grp, l.g, expr, loadConfig, checkEscape)
	mu.Lock()
	finished = true
	mu.Unlock()
	timer.Stop()
	if tr.exitedErr(err) {
		return debugapi.Errorf(debugapi.CodeAgentDied, "the app exited during the call")
	}
	if timedOut {
		// The slot stays: the call may still end, long after this agent.
		tr.stuck[req.Goroutine] = true
		return debugapi.Errorf(debugapi.CodeTimeout, "the call did not return within %v; it keeps running in the app and this panic's goroutine waits for it, so no further calls can be made from it (reads still work)", tr.timeout)
	}
	tr.disarmTrap(slot)
	return err
}

func firstChildValue(v debugapi.Value) string {
	if len(v.Children) > 0 {
		return v.Children[0].Value
	}
	return ""
}

func frameName(stack []proc.Stackframe) string {
	if len(stack) == 0 || stack[0].Call.Fn == nil {
		return "an unknown function"
	}
	return stack[0].Call.Fn.Name
}

func evalError(err error) error {
	var e *debugapi.Error
	if errors.As(err, &e) {
		return e
	}
	return debugapi.Errorf(debugapi.CodeEval, "%v", err)
}

// evalErrorFor refines evalError for expr: a function that Delve cannot
// find although the program names it was dropped by the linker.
func evalErrorFor(err error, expr string) error {
	msg := err.Error()
	const prefix = msgNoSymbol
	if strings.HasPrefix(msg, prefix) && !strings.HasPrefix(msg, prefix+"value for") {
		name := strings.TrimPrefix(msg, prefix)
		if strings.Contains(expr, name+"(") {
			return debugapi.Errorf(debugapi.CodeCall, "%s: the linker dropped this function from the binary because the program never calls it; call a function the program uses", msg)
		}
	}
	return evalError(err)
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// The messages of Delve (and, for msgUnsafePoint, of the runtime's
// debug-call protocol, which Delve relays) that the errors here are
// classified by. Delve has no sentinel errors for them; TestDelveMessages
// pins each against the source of the Delve in go.mod, so that an upgrade
// that rewords one fails there instead of silently losing its advice.
const (
	msgNeedsCall     = "without using 'call'"
	msgEscape        = "stack object passed to escaping pointer"
	msgOptimized     = "can not call optimized function"
	msgNoDIE         = "could not find DIE for function"
	msgNoSymbolValue = "could not find symbol value for"
	msgNotFunction   = "not a function"
	msgTooMany       = "too many arguments"
	msgNotEnough     = "not enough arguments"
	msgUnsafePoint   = "call not at safe point"
	msgNoMember      = " has no member "
	msgNoSymbol      = "could not find symbol "
)

// delveMessages lists them for that test.
var delveMessages = map[string]string{
	msgNeedsCall:     "delve",
	msgEscape:        "delve",
	msgOptimized:     "delve",
	msgNoDIE:         "delve",
	msgNoSymbolValue: "delve",
	msgNotFunction:   "delve",
	msgTooMany:       "delve",
	msgNotEnough:     "delve",
	msgUnsafePoint:   "runtime",
	msgNoMember:      "delve",
	msgNoSymbol:      "delve",
}

// runtimePackage reports whether the function fn (a qualified name)
// belongs to the packages the compiler always optimizes: the runtime and
// the internal packages it is built from.
func runtimePackage(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || strings.HasPrefix(fn, "runtime/internal/")
}

// frameRef is the runtime.frame(N) prefix that rewrite puts before the
// locals of the chosen frame; Delve repeats it in its messages, where the
// user, who never wrote it, should read the names as written.
var frameRef = regexp.MustCompile(`runtime\.frame\(\d+\)\.`)

// callError turns Delve's call refusals into messages that say what would
// work instead.
func callError(err error, expr string) error {
	msg := frameRef.ReplaceAllString(err.Error(), "")
	switch {
	case strings.Contains(msg, msgEscape):
		// Reached only when the app would not keep the frames for good
		// (Panic.Retain): a callee that kept the pointer would hold it
		// past the release, when that memory is reused.
		return debugapi.Errorf(debugapi.CodeCall, "%s. The value lives in the parked frames (it never escaped to the heap); a call may be handed pointers into them only if the app keeps those frames until it restarts, and it already keeps %d panics' frames for such calls. Restart the app to call this, or read the value's fields instead", msg, debugapi.RetainLimit)
	case strings.Contains(msg, msgOptimized):
		fn := strings.TrimSuffix(strings.TrimPrefix(msg[strings.Index(msg, msgOptimized):], msgOptimized+" "), " when regabi is in use")
		if runtimePackage(fn) {
			// The compiler optimizes the runtime's own packages whatever
			// the flags (-N is dropped for them): advice to rebuild would
			// be followed in vain.
			return debugapi.Errorf(debugapi.CodeCall, "%s: %s belongs to the Go runtime's own packages, which the compiler optimizes even under -N -l, so it cannot be called; call a function of your own (or of the standard library outside the runtime) that uses it", msg, fn)
		}
		return debugapi.Errorf(debugapi.CodeCall, "%s: its package was compiled with optimizations; "+debugapi.BuildAdvice+" (all=, so that every package gets it, not only the main one)", msg)
	case strings.Contains(msg, msgNoSymbolValue) && !strings.Contains(expr, lastWord(msg)+"("):
		// A name that is not called: no variable by that name.
		return debugapi.Errorf(debugapi.CodeCall, "%s: %s is not an argument or local of this frame, nor a package-level name of its package or a package its file imports", msg, lastWord(msg))
	case strings.Contains(msg, msgNoDIE), strings.Contains(msg, msgNoSymbolValue), strings.Contains(msg, msgNotFunction):
		return debugapi.Errorf(debugapi.CodeCall, "%s: the linker dropped this function from the binary because the program never calls it; call a function the program uses", msg)
	case strings.Contains(msg, msgTooMany) || strings.Contains(msg, msgNotEnough):
		return debugapi.Errorf(debugapi.CodeCall, "%s: variadic functions take their variadic part as one slice argument in Delve, and interface parameters are not supported; call a wrapper with concrete parameters", msg)
	case strings.Contains(msg, "interface"):
		return debugapi.Errorf(debugapi.CodeCall, "%s: Delve cannot pass arguments to interface parameters; call a function with a concrete parameter type", msg)
	case strings.Contains(msg, msgUnsafePoint):
		return debugapi.Errorf(debugapi.CodeCall, "%s: the goroutine was stopped where the runtime forbids calls; try again", msg)
	case strings.Contains(msg, msgNoMember) && strings.Contains(expr, "."+lastWord(msg)+"("):
		return debugapi.Errorf(debugapi.CodeCall, "%s: there is no method %s in the binary. The linker keeps a method only if the program calls it, or, for an exported method, if the type is ever converted to an interface; keep it with a line such as var _ = (*T).%s in the app", msg, lastWord(msg), lastWord(msg))
	case strings.HasPrefix(msg, msgNoSymbol):
		return debugapi.Errorf(debugapi.CodeCall, "%s: no such function in the binary; it does not exist, or the linker dropped it because the program never calls it", msg)
	}
	return debugapi.Errorf(debugapi.CodeCall, "%s", msg)
}
