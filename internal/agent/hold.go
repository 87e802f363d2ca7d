package agent

import (
	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// holdForWrite keeps the parked goroutine of r from being released while
// the agent answers wr, when wr is an assignment: the agent may then write
// it into the parked frames while the app runs (livewrite_linux.go), and a
// goroutine released between its check and its write would be running on
// that memory. Reads need no hold: a stale read shows garbage, a stale
// write corrupts a live stack.
//
// Once a call was handed pointers into the frames (record.shared), a
// callee may have kept one for the app's other goroutines to use: the
// agent is then not told it may write while the app runs, and stops it.
//
// The returned function ends the hold; it is told whether the agent
// answered. A request without an answer may have been abandoned at its
// context's end while the agent still works on it, so the hold then lasts
// until no request is in flight (that one answered, or its agent dead).
func (a *Client) holdForWrite(r *record, wr *wire.EvalIn) (end func(answered bool)) {
	if _, _, assign := debugapi.SplitAssign(wr.Expr); !assign || r.p.Parked == nil || r.shared.Load() {
		return func(bool) {}
	}
	unhold, ok := r.p.Parked.Hold()
	if !ok {
		return func(bool) {}
	}
	wr.Held = true
	return func(answered bool) {
		wr.Held = false // a call that follows stops the app
		if answered {
			unhold()
			return
		}
		go func() {
			a.sem <- struct{}{}
			<-a.sem
			unhold()
		}()
	}
}
