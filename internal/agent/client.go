package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// Agent is the app side of the helper process: it starts it, restarts it
// when it dies, and turns Evaluator calls into requests on its pipes.
type Client struct {
	opts Options

	mu        sync.Mutex
	status    debugapi.Status
	panics    map[string]*record
	forgotten []string // ids whose snapshots are kept, oldest first
	conn      *conn
	connReady chan struct{} // closed and replaced whenever conn changes
	closed    bool
	stop      chan struct{}
	exited    chan struct{}

	sem    chan struct{} // one request in flight
	nextID atomic.Uint64

	dwarf debugInfo // the running binary's, read once
}

var _ debugapi.Evaluator = (*Client)(nil)

// Options configures Start. The zero value is the default.
type Options struct {
	// Disabled turns the console off; Status says so.
	Disabled bool
	// Timeout bounds every request to the agent. Default 10 s.
	Timeout time.Duration
	// MaxRestarts bounds how often a dead agent is started again within
	// ten minutes; past it the console is unavailable until the app
	// restarts. Default 5.
	MaxRestarts int
	// Logger receives the agent's events (attach, death, restart, slow
	// requests): an attach at Info, what costs the console at Warn, giving
	// up at Error, each with its attributes. Default: slog.Default().
	Logger *slog.Logger
	// StartAfter, if not nil, holds the agent's first start until it is
	// closed, or for 2 s at most. The agent's start (its exec and package initialisation, a
	// few milliseconds of a core) beside the app's own start and the
	// caller's work in the background made three runnable threads on two
	// cores, and the app's first request came later (13.1 ms against
	// 11.5, median of 40 starts); one after the other, the app keeps a
	// core to itself.
	StartAfter <-chan struct{}
}

// record is one registered panic.
type record struct {
	p        debugapi.Panic
	released bool
	snapDone chan struct{}
	snap     *debugapi.Snapshot
	snapErr  error
	// inCall is set when a call never returned: the goroutine is inside
	// it, so it cannot reach the rendezvous again.
	inCall atomic.Bool
	// kept is set once p.Parked.Keep has been called.
	kept atomic.Bool
	// shared is set once a call was handed pointers into the parked
	// frames: code of the app may use them since (holdForWrite).
	shared atomic.Bool
	// results are the values of the last call the app made itself
	// (direct.go), kept for the console's expansions of them.
	results atomic.Pointer[[]any]
}

// keepAlive hands the snapshot's heap pointers to p.Parked, once; it
// decides whether they can be trusted (park.Parked.Keep).
func (r *record) keepAlive(ans *wire.SnapshotOut, err error) {
	if r.p.Parked == nil || !r.kept.CompareAndSwap(false, true) {
		return
	}
	if err != nil || ans == nil {
		r.p.Parked.Keep(nil, 0)
		return
	}
	r.p.Parked.Keep(ans.KeepAlive, ans.KeepAliveGC)
}

// scope names r's goroutine and frames to the agent.
func (r *record) scope() wire.Scope {
	return wire.Scope{Panic: r.p.ID, Goroutine: r.p.GoroutineID, Frames: r.p.Frames}
}

// keptSnapshots bounds the snapshots of released panics kept for their
// pages.
const keptSnapshots = 256

// Start starts the agent in the background and returns at once (after
// Options.StartAfter, if set). The agent reads the binary's debug
// information while the app runs (a few hundred milliseconds for a small
// app; Status.AttachTook reports the whole attach), then stops the app
// once, for some milliseconds, to attach; this belongs at start-up.
func Start(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = debugapi.DefaultTimeout
	}
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Client{
		opts:      opts,
		panics:    map[string]*record{},
		connReady: make(chan struct{}),
		stop:      make(chan struct{}),
		exited:    make(chan struct{}),
		sem:       make(chan struct{}, 1),
	}
	_, backendErr := wire.BackendFromEnv(runtime.GOOS)
	off := true
	switch {
	case opts.Disabled:
		a.status = debugapi.Status{State: debugapi.StateOff, Reason: "the console is disabled by the application's options"}
	case os.Getenv(wire.EnvUser) == "off":
		a.status = debugapi.Status{State: debugapi.StateOff, Reason: "the console is disabled by PANICROOM_AGENT=off", Fix: "unset PANICROOM_AGENT to enable it"}
	case testing.Testing():
		a.status = debugapi.Status{State: debugapi.StateOff, Reason: "the console is off inside go test binaries"}
	case consoleUnsupported != "":
		a.status = debugapi.Status{State: debugapi.StateUnavailable, Reason: consoleUnsupported, Fix: consoleUnsupportedFix}
	case backendErr != nil:
		a.status = debugapi.Status{State: debugapi.StateUnavailable, Reason: backendErr.Error(), Fix: wire.BackendFix}
	case !a.readDebugInfo(): // read only where the console could start
		a.status = debugapi.Status{State: debugapi.StateUnavailable,
			Reason: "the binary has no debug information, so the debugger cannot find variables (go run strips it by default, as does -ldflags=-w)",
			Fix:    "run it with go run " + debugapi.GoRunFlags + ", or build it with go build " + debugapi.GoBuildFlags}
	default:
		off = false
	}
	if !off {
		a.status.State = debugapi.StateAttaching
		a.status.Reason = "the debugger is attaching"
		// A halt request that reaches the app when Delve is not waiting
		// for it is a SIGTRAP with the default action "crash"; a
		// notified signal is harmless (trap 3 of DESIGN.md).
		signal.Notify(make(chan os.Signal, 1), syscall.SIGTRAP)
		if err := installTrapGuard(); err != nil {
			opts.Logger.Warn("panicroom: no SIGTRAP guard: killing the debugger during a call will kill the app", slog.Any("error", err))
		}
		go a.supervise()
	} else {
		close(a.exited)
	}
	return a
}

// Status implements Evaluator.
func (a *Client) Status() debugapi.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

func (a *Client) setStatus(f func(*debugapi.Status)) {
	a.mu.Lock()
	f(&a.status)
	a.mu.Unlock()
}

// Close implements Evaluator: closing the request pipe makes the agent
// detach and exit.
func (a *Client) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.stop)
	c := a.conn
	a.mu.Unlock()
	if c != nil {
		c.w.Close()
		select {
		case <-c.dead:
		case <-time.After(5 * time.Second):
			c.kill()
		}
	}
	<-a.exited
	return nil
}

// Register implements Evaluator.
func (a *Client) Register(p debugapi.Panic) {
	r := &record{p: p, snapDone: make(chan struct{})}
	a.mu.Lock()
	a.panics[p.ID] = r
	a.mu.Unlock()
	go a.takeSnapshot(r)
}

func (a *Client) takeSnapshot(r *record) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	live := func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return !r.released
	}
	ans, err := a.send(ctx, wire.Request{Snapshot: &wire.SnapshotIn{Scope: r.scope(), KeepAlive: r.p.Parked != nil && !r.kept.Load()}}, false, live)
	out := ans.Snapshot
	// First, before the lock and anything else: the collector is off
	// until the app has stored the pointers.
	r.keepAlive(out, err)
	if out == nil {
		out = &wire.SnapshotOut{}
	}
	if out.KeepAliveErr != "" {
		a.opts.Logger.Warn("panicroom: the objects a parked panic's frames reference are not kept alive", slog.String("panic", r.p.ID), slog.String("reason", out.KeepAliveErr))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-r.snapDone:
		return
	default:
	}
	var e *debugapi.Error
	if errors.As(err, &e) && (e.Code == debugapi.CodeAgentDied || e.Code == debugapi.CodeUnavailable) && a.status.State == debugapi.StateAttaching {
		return // resnapshot retries it after the restart
	}
	r.snap, r.snapErr = compactSnapshot(out.Snapshot), err
	close(r.snapDone)
}

// Forget implements Evaluator.
func (a *Client) Forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.panics[id]
	if r == nil || r.released {
		return
	}
	r.released = true
	if a.conn != nil {
		a.conn.forgetFrames(id)
	}
	select {
	case <-r.snapDone:
	default:
		r.snapErr = debugapi.Errorf(debugapi.CodeReleased, "the panic was released before its snapshot was taken")
		close(r.snapDone)
	}
	a.forgotten = append(a.forgotten, id)
	for len(a.forgotten) > keptSnapshots {
		delete(a.panics, a.forgotten[0])
		a.forgotten = a.forgotten[1:]
	}
}

// Snapshot implements Evaluator.
func (a *Client) Snapshot(ctx context.Context, panicID string) (*debugapi.Snapshot, error) {
	a.mu.Lock()
	r := a.panics[panicID]
	a.mu.Unlock()
	if r == nil {
		return nil, debugapi.Errorf(debugapi.CodeUnknownPanic, "no panic %q", panicID)
	}
	select {
	case <-r.snapDone:
		return r.snap, r.snapErr
	case <-ctx.Done():
		return nil, debugapi.Errorf(debugapi.CodeTimeout, "waiting for the snapshot: %w", ctx.Err())
	}
}

// live returns the record of a parked panic whose frames can be trusted.
func (a *Client) live(id string) (*record, error) {
	a.mu.Lock()
	r := a.panics[id]
	a.mu.Unlock()
	switch {
	case r == nil:
		return nil, debugapi.Errorf(debugapi.CodeUnknownPanic, "no panic %q", id)
	case r.released || (r.p.Parked != nil && r.p.Parked.Released()):
		return nil, debugapi.Errorf(debugapi.CodeReleased, "the panic's goroutine was released; its frames are gone (the snapshot still shows them as they were)")
	case r.p.Parked != nil && r.p.Parked.Moved():
		return nil, debugapi.Errorf(debugapi.CodeStale, "the parked goroutine's stack moved; its frame memory can no longer be trusted (the snapshot shows the values at panic time)")
	}
	return r, nil
}

// Eval implements Evaluator.
func (a *Client) Eval(ctx context.Context, req debugapi.Request) (*debugapi.Value, error) {
	if err := debugapi.CheckSyntax(req.Expr); err != nil {
		return nil, err
	}
	r, err := a.live(req.Panic)
	if err != nil {
		return nil, err
	}
	in := wire.EvalIn{At: wire.At{Scope: r.scope(), Frame: req.Frame}, Expr: req.Expr}
	endHold := a.holdForWrite(r, &in)
	ans, err := a.request(ctx, wire.Request{Eval: &in})
	endHold(ans.ID != 0)
	if err != nil {
		return nil, err
	}
	if ans.Eval == nil {
		return nil, debugapi.Errorf(debugapi.CodeEval, "the agent answered an evaluation with no value")
	}
	if !ans.Eval.NeedCall {
		return ans.Eval.Value, nil
	}
	if ans.Eval.Plan != nil {
		if v, done, err := a.callDirect(ctx, r, in, ans.Eval.Plan); done {
			return v, err
		}
	}
	return a.evalWithCall(ctx, r, in)
}

// Locals implements Evaluator.
func (a *Client) Locals(ctx context.Context, panicID string, frame int) (*debugapi.FrameVars, error) {
	r, err := a.live(panicID)
	if err != nil {
		return nil, err
	}
	ans, err := a.request(ctx, wire.Request{Locals: &wire.LocalsIn{At: wire.At{Scope: r.scope(), Frame: frame}}})
	if err != nil {
		return nil, err
	}
	if ans.Locals == nil {
		return nil, debugapi.Errorf(debugapi.CodeEval, "the agent answered with no variables")
	}
	return ans.Locals.Vars, nil
}

// Expand implements Evaluator.
func (a *Client) Expand(ctx context.Context, h debugapi.Handle) (*debugapi.Value, error) {
	r, err := a.live(h.Panic)
	if err != nil {
		return nil, err
	}
	ans, err := a.request(ctx, wire.Request{Expand: &wire.ExpandIn{At: wire.At{Scope: r.scope(), Frame: h.Frame}, Expr: h.Expr, Start: h.Start}})
	if err != nil {
		return nil, err
	}
	if ans.Expand == nil {
		return nil, debugapi.Errorf(debugapi.CodeEval, "the agent answered an expansion with no value")
	}
	return ans.Expand.Value, nil
}
