package backend

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// Calls, injected by Delve from the parked goroutine while it spins in the
// app's rendezvous, with an expression rewritten into the top frame's
// terms and the app's SIGTRAP guard armed for it.

// callSite finds the panic's goroutine spinning in rendezvous on a thread,
// the scope of the requested frame and the expression rewritten for a call
// injected from the top of that goroutine, and selects the goroutine.
func (sn *session) callSite(req wire.EvalIn, deadline time.Time) (*located, *proc.EvalScope, string, error) {
	var l *located
	for attempt := 0; ; attempt++ {
		var err error
		l, err = sn.locate(req.Scope)
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
		sn.resume()
		time.Sleep(time.Millisecond)
		if err := sn.halt(); err != nil {
			return nil, nil, "", debugapi.Errorf(debugapi.CodeAgentDied, "stopping the app: %v", err)
		}
	}
	d, err := l.frame(req.Scope, req.Frame)
	if err != nil {
		return nil, nil, "", err
	}
	sc := sn.scope(l, d)
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
	expr, err := rewriteIn(req.Expr, d, sn.namesIn(req, l, d, locals))
	if err != nil {
		return nil, nil, "", err
	}
	if err := sn.t.SwitchGoroutine(l.g); err != nil {
		return nil, nil, "", fmt.Errorf("selecting goroutine %d: %w", l.g.ID, err)
	}
	return l, sc, expr, nil
}

// call injects req.Expr from the goroutine spinning in rendezvous. The
// goroutine may have been preempted when the app was stopped (it is then
// not on a thread, and Delve can only inject on a thread): let it run a
// little and stop again.
func (sn *session) call(req wire.EvalIn, deadline time.Time, retained *bool) (*debugapi.Value, error) {
	if sn.stuck[req.Goroutine] {
		return nil, debugapi.Errorf(debugapi.CodeCall, "an earlier call from this panic's goroutine never returned; it cannot run another one")
	}
	l, sc, expr, err := sn.callSite(req, deadline)
	if err != nil {
		return nil, err
	}
	// Once the frames are kept for good the check protects nothing, and a
	// call it refuses costs a whole injection before the one that runs.
	kept := req.StackPointers && req.FramesKept
	err = sn.inject(req, sc, l, expr, deadline, !kept)
	if err != nil && strings.Contains(err.Error(), msgEscape) && req.StackPointers && !kept {
		// Delve's escape check refused a pointer into the parked frames
		// (a method on a local that never escaped). Nothing was run. The
		// app has agreed to keep this panic's frames for good once such a
		// call happens (Panic.Retain), so a pointer the callee keeps
		// stays valid: call again without the check, from a fresh look at
		// the goroutine (the refused injection left Delve's view stale).
		*retained = true
		if l, sc, expr, err = sn.callSite(req, deadline); err != nil {
			return nil, err
		}
		err = sn.inject(req, sc, l, expr, deadline, false)
	}
	var e *debugapi.Error
	if errors.As(err, &e) {
		return nil, e
	}
	if err != nil {
		return nil, callError(err, req.Expr)
	}
	var rets []*proc.Variable
	for _, th := range sn.t.ThreadList() {
		if th.Common().CallReturn {
			rets = th.Common().ReturnValues(loadConfig)
			break
		}
	}
	if lhs, _, ok := debugapi.SplitAssign(req.Expr); ok {
		v, _, err := sn.readBack(req, lhs)
		return withNote(v, *retained), err
	}
	v, err := callResult(sn.t.BinInfo(), req, rets)
	return withNote(v, *retained), err
}

func withNote(v *debugapi.Value, retained bool) *debugapi.Value {
	if v != nil && retained {
		v.Note = debugapi.RetainNote
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
func (sn *session) inject(req wire.EvalIn, sc *proc.EvalScope, l *located, expr string, deadline time.Time, checkEscape bool) error {
	// If this agent dies before the call is over, the app's SIGTRAP
	// handler finishes the protocol in its place.
	slot, err := sn.armTrap(sc, l.g)
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
			sn.grp.RequestManualStop()
		}
	})
	err = proc.EvalExpressionWithCalls(sn.grp, l.g, expr, loadConfig, checkEscape)
	mu.Lock()
	finished = true
	mu.Unlock()
	timer.Stop()
	if sn.exitedErr(err) {
		return debugapi.Errorf(debugapi.CodeAgentDied, "the app exited during the call")
	}
	if timedOut {
		// The slot stays: the call may still end, long after this agent.
		sn.stuck[req.Goroutine] = true
		return debugapi.Errorf(debugapi.CodeTimeout, "the call did not return within %v; it keeps running in the app and this panic's goroutine waits for it, so no further calls can be made from it (reads still work)", sn.timeout)
	}
	sn.disarmTrap(slot)
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
