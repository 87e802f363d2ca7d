package backend

import (
	"errors"
	"fmt"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// serve answers one request. A read the app can be answered from while it
// runs (nonstop_linux.go, livewrite_linux.go) is; anything else stops the
// app for the length of the request, and resumes it after.
func (sn *session) serve(req wire.Request) (ans wire.Answer) {
	if req.Timeout <= 0 {
		req.Timeout = debugapi.DefaultTimeout
	}
	deadline := time.Now().Add(req.Timeout)
	sn.timeout = req.Timeout
	sc := req.Scope()
	if sc == nil {
		return wire.Answer{Err: debugapi.Errorf(debugapi.CodeEval, "a request without an operation, or with more than one")}
	}
	if !sn.framesFor(sc) {
		return wire.Answer{Err: &debugapi.Error{Code: wire.CodeNeedFrames, Msg: "the agent no longer has this panic's frames"}}
	}
	if sn.readsRunning(req) {
		if l := sn.thaw(*sc); l != nil && sn.writesRunning(req, l) {
			sn.thawed = l
			defer func() { sn.thawed = nil }()
			return sn.do(req, deadline)
		}
	}
	if err := sn.halt(); err != nil {
		return wire.Answer{Err: debugapi.Errorf(debugapi.CodeAgentDied, "stopping the app: %v", err)}
	}
	defer func() {
		if !sn.exited {
			sn.resume()
		}
	}()
	ans = sn.do(req, deadline)
	ans.Stopped = true
	return ans
}

func (sn *session) do(req wire.Request, deadline time.Time) (ans wire.Answer) {
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
		ans.Snapshot, err = sn.snapshot(*req.Snapshot)
	case req.Locals != nil:
		ans.Locals, err = sn.locals(*req.Locals)
	case req.Eval != nil:
		ans.Eval = &wire.EvalOut{}
		err = sn.eval(*req.Eval, deadline, ans.Eval)
	case req.Expand != nil:
		ans.Expand, err = sn.expand(*req.Expand)
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
func (sn *session) framesFor(req *wire.Scope) bool {
	if len(req.Frames) > 0 {
		sn.frames.put(req.Panic, req.Frames)
		return true
	}
	if !req.FramesSent {
		return true
	}
	req.Frames = sn.frames.get(req.Panic)
	return req.Frames != nil
}
