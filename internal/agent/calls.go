package agent

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/gcpause"
)

// A call needs the parked goroutine running on a thread: the app lends it
// to the agent by making it spin in rendezvous.

// evalWithCall meets the agent at the rendezvous: the parked goroutine
// runs rendezvous on its own stack, on a locked thread, until the agent has
// injected the call. Spinning, unlike a breakpoint, writes no int3 into the
// app (trap 3 of DESIGN.md); the int3s of the runtime's own debug-call
// protocol are the SIGTRAP guard's (trapguard_linux.go).
func (a *Client) evalWithCall(ctx context.Context, r *record, wr wire.EvalIn) (*debugapi.Value, error) {
	if r.p.Parked == nil {
		return nil, debugapi.Errorf(debugapi.CodeCall, "calls need the panic's park spot, and this panic has none")
	}
	if r.inCall.Load() {
		return nil, debugapi.Errorf(debugapi.CodeCall, "an earlier call from this panic's goroutine never returned; it cannot run another one (reads still work)")
	}
	// While it spins, the parked goroutine is an ordinary running one: a
	// collection that preempts it may shrink its stack, moving the panic's
	// frames. No collection, then, until the call is over and the goroutine
	// is back in its read(2): Do returns just before it enters the system
	// call, and the collection that the end of the hold lets start (the
	// heap grew meanwhile) must not find it a few instructions short.
	release := gcpause.Hold()
	defer time.AfterFunc(holdAfterCall, release)
	var stop uint32
	spinning := make(chan struct{})
	did := make(chan error, 1)
	go func() {
		did <- r.p.Parked.Do(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			close(spinning)
			rendezvous(&stop)
		})
	}()
	select {
	case <-spinning:
	case err := <-did:
		return nil, debugapi.Errorf(debugapi.CodeReleased, "the panic's goroutine left: %w", err)
	case <-ctx.Done():
		// Do is already queued; let it spin out at once.
		atomic.StoreUint32(&stop, 1)
		return nil, debugapi.Errorf(debugapi.CodeTimeout, "%w", ctx.Err())
	case <-time.After(a.opts.Timeout):
		atomic.StoreUint32(&stop, 1)
		return nil, debugapi.Errorf(debugapi.CodeTimeout, "the panic's goroutine did not wake up within %v", a.opts.Timeout)
	}
	wr.Call = true
	wr.StackPointers = r.p.Retain != nil && r.p.Retain(true)
	wr.FramesKept = wr.StackPointers && r.shared.Load()
	ans, err := a.request(ctx, wire.Request{Eval: &wr})
	retained := ans.Eval != nil && ans.Eval.Retained
	// Committed while the goroutine still spins inside Do, where no
	// release can reach it. An answer that never came (a timeout, a dead
	// agent) may hide a call that was handed pointers: keep the frames.
	if wr.StackPointers && (retained || (err != nil && ans.ID == 0)) {
		r.p.Retain(false)
		r.shared.Store(true)
	}
	atomic.StoreUint32(&stop, 1)
	select {
	case <-did:
	case <-time.After(time.Second):
		// The goroutine is still inside a call that did not return.
		r.inCall.Store(true)
	}
	if r.p.Parked.Moved() {
		if err == nil {
			err = debugapi.Errorf(debugapi.CodeStale, "the parked goroutine's stack moved (%s); its frames can no longer be trusted", r.p.Parked.MovedAt())
		}
	}
	if err != nil {
		return nil, err
	}
	if ans.Eval == nil {
		return nil, debugapi.Errorf(debugapi.CodeEval, "the agent answered a call with no value")
	}
	return ans.Eval.Value, nil
}

// holdAfterCall is how long the collector stays off after a call's Do.
const holdAfterCall = 20 * time.Millisecond

// rendezvous is where a parked goroutine waits, running on a thread, for a
// call to be injected on it. It spends its time in spin, where the agent
// injects (it recognizes spin by name, and waits for the thread to be
// stopped there). Between spins it passes a function prologue, where a
// preemption the scheduler or the collector asked for is taken: spin's
// assembly loop cannot be preempted.
//
//go:noinline
func rendezvous(stop *uint32) {
	for atomic.LoadUint32(stop) == 0 {
		spin(stop)
		preemptPoint()
	}
}

// preemptPoint calls a function, so that it has a stack check in its
// prologue, which is where a requested preemption happens.
//
//go:noinline
func preemptPoint() { preemptNop() }

//go:noinline
func preemptNop() {}
