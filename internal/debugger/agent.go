package debugger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/gcpause"
)

// Agent is the app side of the helper process: it starts it, restarts it
// when it dies, and turns Evaluator calls into requests on its pipes.
type Agent struct {
	opts Options

	mu        sync.Mutex
	status    Status
	panics    map[string]*record
	forgotten []string // ids whose snapshots are kept, oldest first
	conn      *conn
	connReady chan struct{} // closed and replaced whenever conn changes
	closed    bool
	stop      chan struct{}
	exited    chan struct{}

	sem    chan struct{} // one request in flight
	nextID atomic.Uint64
}

// record is one registered panic.
type record struct {
	p        Panic
	released bool
	snapDone chan struct{}
	snap     *Snapshot
	snapErr  error
	// inCall is set when a call never returned: the goroutine is inside
	// it, so it cannot reach the rendezvous again.
	inCall atomic.Bool
	// kept is set once p.KeepAlive has been called.
	kept atomic.Bool
}

// keepAlive hands the snapshot's heap pointers to p.KeepAlive, once. The
// agent checked them against the heap while the app was stopped; a
// collection that ended since then may have freed some, so they are
// dropped if the count of ended collections moved.
func (r *record) keepAlive(ans wireAnswer, err error) {
	if r.p.KeepAlive == nil || !r.kept.CompareAndSwap(false, true) {
		return
	}
	ptrs := ans.KeepAlive
	if err != nil || (len(ptrs) > 0 && numGC() != ans.KeepAliveGC) {
		ptrs = nil
	}
	r.p.KeepAlive(ptrs)
}

// numGC is the count of ended collections in the width the wire carries.
func numGC() uint32 { return uint32(gcpause.Cycles()) }

// keptSnapshots bounds the snapshots of released panics kept for their
// pages.
const keptSnapshots = 256

// Start starts the agent in the background and returns at once. The agent
// reads the binary's debug information while the app runs (about half a
// second, Status.AttachTook reports the whole attach), then stops the app
// once, for tens of milliseconds, to attach; this belongs at start-up.
func Start(opts Options) *Agent {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Agent{
		opts:      opts,
		panics:    map[string]*record{},
		connReady: make(chan struct{}),
		stop:      make(chan struct{}),
		exited:    make(chan struct{}),
		sem:       make(chan struct{}, 1),
	}
	_, backendErr := backendFromEnv(runtime.GOOS)
	off := true
	switch {
	case opts.Disabled:
		a.status = Status{State: StateOff, Reason: "the console is disabled by the application's options"}
	case os.Getenv(envUser) == "off":
		a.status = Status{State: StateOff, Reason: "the console is disabled by PANICROOM_AGENT=off", Fix: "unset PANICROOM_AGENT to enable it"}
	case testing.Testing():
		a.status = Status{State: StateOff, Reason: "the console is off inside go test binaries"}
	case consoleUnsupported != "":
		a.status = Status{State: StateUnavailable, Reason: consoleUnsupported, Fix: consoleUnsupportedFix}
	case backendErr != nil:
		a.status = Status{State: StateUnavailable, Reason: backendErr.Error(), Fix: backendFix}
	case !hasDebugInfo():
		a.status = Status{State: StateUnavailable,
			Reason: "the binary has no debug information, so the debugger cannot find variables (go run strips it by default, as does -ldflags=-w)",
			Fix:    "run it with go run " + GoRunFlags + ", or build it with go build " + GoBuildFlags}
	default:
		off = false
	}
	if !off {
		a.status.State = StateAttaching
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
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

func (a *Agent) setStatus(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	a.mu.Unlock()
}

// slowRequest is how long a debugger request may take before it is logged.
const slowRequest = 2 * time.Second

// restartWindow is the span over which Options.MaxRestarts counts deaths.
const restartWindow = 10 * time.Minute

// supervise starts the agent and starts it again when it dies. The process
// is started from a thread that never exits: Pdeathsig fires when the
// parent *thread* dies, not the process.
func (a *Agent) supervise() {
	runtime.LockOSThread()
	defer close(a.exited)
	failures := 0
	var deaths []time.Time // within restartWindow
	warnedNoVars := false  // once per process, not at every restart
	for {
		start := time.Now()
		c, ready, err := a.launch()
		if err == nil && ready.Err != "" {
			a.setStatus(func(s *Status) {
				s.State = StateUnavailable
				s.Reason, s.Fix = ready.Err, ready.Fix
				s.AgentPID = 0
			})
			a.opts.Logger.Warn("panicroom: the console is unavailable", slog.String("reason", ready.Err), slog.String("fix", ready.Fix))
			c.wait()
			return
		}
		if err == nil {
			failures = 0
			// The connection and the state change together: a request that
			// sees StateAttached must find the connection.
			a.setConnStatus(c, func(s *Status) {
				s.State = StateAttached
				s.Reason, s.Fix = "", ""
				s.Optimized = ready.Optimized
				s.NoMainVariables = ready.NoMainVariables
				if ready.Optimized {
					s.Reason = "the binary was built with optimizations: variables may be unreadable and calls are refused"
					s.Fix = BuildAdvice
				}
				s.AttachTook = time.Since(start)
				s.AgentPID = ready.PID
			})
			took := time.Since(start).Round(time.Millisecond)
			// The message keeps its figures too: tools (make bench) read them.
			a.opts.Logger.Info(fmt.Sprintf("panicroom: debugger attached in %v (agent pid %d)", took, ready.PID),
				slog.Duration("took", took), slog.Int("agent_pid", ready.PID))
			if ready.NoMainVariables && !warnedNoVars {
				warnedNoVars = true
				a.opts.Logger.Warn("panicroom: "+NoMainVariablesAdvice, slog.String("fix", GoRunFlags))
			}
			a.resnapshot()
			c.wait()
			a.setConnStatus(nil, func(s *Status) {
				s.State = StateAttaching
				s.Reason = "the agent died"
				s.AgentPID = 0
			})
		}
		select {
		case <-a.stop:
			return
		default:
		}
		failures++
		// The budget is per window, not per life: a dev server that runs
		// for days may lose its agent now and then, and should not lose
		// its console for good; an agent that keeps dying is given up on.
		now := time.Now()
		deaths = append(deaths, now)
		for len(deaths) > 0 && now.Sub(deaths[0]) > restartWindow {
			deaths = deaths[1:]
		}
		why := "the agent died"
		if err != nil {
			why = err.Error()
		}
		if len(deaths) > a.opts.MaxRestarts || failures > 2 {
			a.setStatus(func(s *Status) {
				s.State = StateUnavailable
				s.Reason = why + fmt.Sprintf("; gave up after %d deaths within %v", len(deaths), restartWindow)
				s.Fix = "see the agent's messages above; restart the app to try again"
				s.AgentPID = 0
			})
			st := a.Status()
			a.opts.Logger.Error("panicroom: the console is unavailable: the debugger's agent keeps dying",
				slog.String("reason", why), slog.Int("deaths", len(deaths)), slog.Duration("window", restartWindow), slog.String("fix", st.Fix))
			return
		}
		a.setStatus(func(s *Status) {
			s.State = StateAttaching
			s.Reason = why + "; restarting it"
			s.Restarts++
			s.AgentPID = 0
		})
		a.opts.Logger.Warn("panicroom: the debugger's agent died; restarting it", slog.String("reason", why), slog.Int("restarts", a.Status().Restarts))
		select {
		case <-a.stop:
			return
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
	}
}

// setConnStatus replaces the connection and, if f is not nil, updates the
// status in the same critical section.
func (a *Agent) setConnStatus(c *conn, f func(*Status)) {
	a.mu.Lock()
	a.conn = c
	if f != nil {
		f(&a.status)
	}
	close(a.connReady)
	a.connReady = make(chan struct{})
	a.mu.Unlock()
}

// conn is one live agent process.
type conn struct {
	cmd *exec.Cmd
	w   *os.File
	r   *os.File

	mu      sync.Mutex
	pending map[uint64]chan wireAnswer
	// framesSent holds the panics whose frames this agent was sent.
	framesSent map[string]bool
	dead       chan struct{}
	once       sync.Once
}

func (c *conn) forgetFrames(panicID string) {
	c.mu.Lock()
	delete(c.framesSent, panicID)
	c.mu.Unlock()
}

func (c *conn) read(dec *json.Decoder) {
	for {
		var ans wireAnswer
		if err := dec.Decode(&ans); err != nil {
			break
		}
		c.mu.Lock()
		ch := c.pending[ans.ID]
		delete(c.pending, ans.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- ans
		}
	}
	c.once.Do(func() { close(c.dead) })
}

func (c *conn) kill() {
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
}

func (c *conn) wait() {
	c.cmd.Wait()
	c.w.Close()
	c.r.Close()
	c.once.Do(func() { close(c.dead) })
}

func (c *conn) send(req wireRequest) (chan wireAnswer, error) {
	ch := make(chan wireAnswer, 1)
	c.mu.Lock()
	c.pending[req.ID] = ch
	if len(req.Frames) > 0 {
		if c.framesSent[req.Panic] {
			req.Frames, req.FramesSent = nil, true
		} else {
			c.framesSent[req.Panic] = true
		}
	}
	c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if _, err := c.w.Write(b); err != nil {
		return nil, err
	}
	return ch, nil
}

// Close implements Evaluator: closing the request pipe makes the agent
// detach and exit.
func (a *Agent) Close() error {
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

// request sends one request and waits for its answer. Requests are
// serialized: the agent answers one at a time, and a request whose caller
// gave up keeps the slot until its answer arrives, so the next one is not
// answered with the old answer's timing.
func (a *Agent) request(ctx context.Context, req wireRequest) (wireAnswer, error) {
	return a.send(ctx, req, false, nil)
}

// send is request; resent is set when it sends req again because the agent
// asked for its frames. When live is not nil, the request is dropped if it
// says no once the request's turn has come: a snapshot queued behind others
// during a burst is often for a panic released meanwhile, and looking for
// a goroutine that is gone costs the agent a scan of every goroutine with
// the app stopped.
func (a *Agent) send(ctx context.Context, req wireRequest, resent bool, live func() bool) (wireAnswer, error) {
	st := a.Status()
	if st.State != StateAttached {
		if st.State == StateAttaching && st.AgentPID == 0 {
			// wait for the (re)attach, bounded by ctx
			a.mu.Lock()
			ready := a.connReady
			a.mu.Unlock()
			select {
			case <-ready:
			case <-ctx.Done():
				return wireAnswer{}, &Error{Code: CodeUnavailable, Msg: st.Reason}
			case <-time.After(a.opts.Timeout):
				return wireAnswer{}, &Error{Code: CodeUnavailable, Msg: st.Reason}
			}
			st = a.Status()
		}
		if st.State != StateAttached {
			return wireAnswer{}, &Error{Code: CodeUnavailable, Msg: joinReason(st)}
		}
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return wireAnswer{}, errorf(CodeTimeout, "waiting for an earlier request: %w", ctx.Err())
	}
	if live != nil && !live() {
		<-a.sem
		return wireAnswer{}, errorf(CodeReleased, "the panic was released before its turn with the debugger")
	}
	a.mu.Lock()
	c := a.conn
	a.mu.Unlock()
	if c == nil {
		<-a.sem
		return wireAnswer{}, &Error{Code: CodeUnavailable, Msg: joinReason(a.Status())}
	}
	req.ID = a.nextID.Add(1)
	req.Timeout = a.opts.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < req.Timeout {
		req.Timeout = time.Until(dl)
	}
	ch, err := c.send(req)
	if err != nil {
		<-a.sem
		return wireAnswer{}, errorf(CodeAgentDied, "sending to the agent: %w", err)
	}
	// The agent enforces the deadline itself; the grace covers a slow
	// stop. Past it the agent is presumed hung and is killed.
	grace := time.NewTimer(req.Timeout + 5*time.Second)
	defer grace.Stop()
	sent := time.Now()
	defer func() {
		// Most requests stop the whole app while they run: one that takes
		// seconds is a pause every request of the app felt, and the log is
		// where its cause can be found.
		if took := time.Since(sent); took > slowRequest {
			a.opts.Logger.Warn("panicroom: a debugger request stopped the app for long", slog.String("op", req.Op), slog.String("panic", req.Panic),
				slog.Int("frame", req.Frame), slog.Duration("took", took.Round(time.Millisecond)))
		}
	}()
	select {
	case ans := <-ch:
		<-a.sem
		if ans.Stopped {
			a.setStatus(func(s *Status) { s.Stops++ })
		}
		if ans.Err != nil && ans.Err.Code == codeNeedFrames && !resent {
			c.forgetFrames(req.Panic)
			return a.send(ctx, req, true, live)
		}
		if ans.Err != nil {
			return ans, ans.Err
		}
		return ans, nil
	case <-c.dead:
		<-a.sem
		return wireAnswer{}, errorf(CodeAgentDied, "the agent died during the request; it is being restarted")
	case <-grace.C:
		c.kill()
		<-a.sem
		return wireAnswer{}, errorf(CodeTimeout, "the agent did not answer within %v; it was restarted", req.Timeout+5*time.Second)
	case <-ctx.Done():
		go func() {
			select {
			case <-ch:
			case <-c.dead:
			}
			<-a.sem
		}()
		return wireAnswer{}, errorf(CodeTimeout, "%w", ctx.Err())
	}
}

func joinReason(st Status) string {
	if st.Fix == "" {
		return st.Reason
	}
	return st.Reason + "; " + st.Fix
}

// Register implements Evaluator.
func (a *Agent) Register(p Panic) {
	r := &record{p: p, snapDone: make(chan struct{})}
	a.mu.Lock()
	a.panics[p.ID] = r
	a.mu.Unlock()
	go a.takeSnapshot(r)
}

func (a *Agent) takeSnapshot(r *record) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.Timeout)
	defer cancel()
	live := func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return !r.released
	}
	ans, err := a.send(ctx, wireRequest{Op: opSnapshot, Panic: r.p.ID, Goroutine: r.p.GoroutineID, Frames: r.p.Frames, KeepAlive: r.p.KeepAlive != nil && !r.kept.Load()}, false, live)
	// First, before the lock and anything else: the collector is off
	// until the app has stored the pointers.
	r.keepAlive(ans, err)
	if ans.KeepAliveErr != "" {
		a.opts.Logger.Warn("panicroom: the objects a parked panic's frames reference are not kept alive", slog.String("panic", r.p.ID), slog.String("reason", ans.KeepAliveErr))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-r.snapDone:
		return
	default:
	}
	var e *Error
	if errors.As(err, &e) && (e.Code == CodeAgentDied || e.Code == CodeUnavailable) && a.status.State == StateAttaching {
		return // resnapshot retries it after the restart
	}
	r.snap, r.snapErr = compactSnapshot(ans.Snapshot), err
	close(r.snapDone)
}

// resnapshot retries the snapshots lost to a dead agent.
func (a *Agent) resnapshot() {
	a.mu.Lock()
	var todo []*record
	for _, r := range a.panics {
		select {
		case <-r.snapDone:
		default:
			if !r.released {
				todo = append(todo, r)
			}
		}
	}
	a.mu.Unlock()
	for _, r := range todo {
		go a.takeSnapshot(r)
	}
}

// Forget implements Evaluator.
func (a *Agent) Forget(id string) {
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
		r.snapErr = errorf(CodeReleased, "the panic was released before its snapshot was taken")
		close(r.snapDone)
	}
	a.forgotten = append(a.forgotten, id)
	for len(a.forgotten) > keptSnapshots {
		delete(a.panics, a.forgotten[0])
		a.forgotten = a.forgotten[1:]
	}
}

// Snapshot implements Evaluator.
func (a *Agent) Snapshot(ctx context.Context, panicID string) (*Snapshot, error) {
	a.mu.Lock()
	r := a.panics[panicID]
	a.mu.Unlock()
	if r == nil {
		return nil, errorf(CodeUnknownPanic, "no panic %q", panicID)
	}
	select {
	case <-r.snapDone:
		return r.snap, r.snapErr
	case <-ctx.Done():
		return nil, errorf(CodeTimeout, "waiting for the snapshot: %w", ctx.Err())
	}
}

// live returns the record of a parked panic whose frames can be trusted.
func (a *Agent) live(id string) (*record, error) {
	a.mu.Lock()
	r := a.panics[id]
	a.mu.Unlock()
	switch {
	case r == nil:
		return nil, errorf(CodeUnknownPanic, "no panic %q", id)
	case r.released || (r.p.Spot != nil && r.p.Spot.Released()):
		return nil, errorf(CodeReleased, "the panic's goroutine was released; its frames are gone (the snapshot still shows them as they were)")
	case r.p.Spot != nil && r.p.Spot.Moved():
		return nil, errorf(CodeStale, "the parked goroutine's stack moved; its frame memory can no longer be trusted (the snapshot shows the values at panic time)")
	}
	return r, nil
}

// Eval implements Evaluator.
func (a *Agent) Eval(ctx context.Context, req Request) (*Value, error) {
	if err := checkSyntax(req.Expr); err != nil {
		return nil, err
	}
	r, err := a.live(req.Panic)
	if err != nil {
		return nil, err
	}
	wr := wireRequest{Op: opEval, Panic: req.Panic, Goroutine: r.p.GoroutineID, Frames: r.p.Frames, Frame: req.Frame, Expr: req.Expr}
	ans, err := a.request(ctx, wr)
	if err != nil {
		return nil, err
	}
	if !ans.NeedCall {
		return ans.Value, nil
	}
	return a.evalWithCall(ctx, r, wr)
}

// evalWithCall meets the agent at the rendezvous: the parked goroutine
// runs rendezvous on its own stack, on a locked thread, until the agent has
// injected the call. Spinning, unlike a breakpoint, writes no int3 into the
// app (trap 3 of DESIGN.md); the int3s of the runtime's own debug-call
// protocol are the SIGTRAP guard's (orphan_linux_amd64.go).
func (a *Agent) evalWithCall(ctx context.Context, r *record, wr wireRequest) (*Value, error) {
	if r.p.Spot == nil {
		return nil, errorf(CodeCall, "calls need the panic's park spot, and this panic has none")
	}
	if r.inCall.Load() {
		return nil, errorf(CodeCall, "an earlier call from this panic's goroutine never returned; it cannot run another one (reads still work)")
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
		did <- r.p.Spot.Do(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			close(spinning)
			rendezvous(&stop)
		})
	}()
	select {
	case <-spinning:
	case err := <-did:
		return nil, errorf(CodeReleased, "the panic's goroutine left: %w", err)
	case <-ctx.Done():
		// Do is already queued; let it spin out at once.
		atomic.StoreUint32(&stop, 1)
		return nil, errorf(CodeTimeout, "%w", ctx.Err())
	case <-time.After(a.opts.Timeout):
		atomic.StoreUint32(&stop, 1)
		return nil, errorf(CodeTimeout, "the panic's goroutine did not wake up within %v", a.opts.Timeout)
	}
	wr.Call = true
	wr.StackPointers = r.p.Retain != nil && r.p.Retain(true)
	ans, err := a.request(ctx, wr)
	// Committed while the goroutine still spins inside Do, where no
	// release can reach it. An answer that never came (a timeout, a dead
	// agent) may hide a call that was handed pointers: keep the frames.
	if wr.StackPointers && (ans.Retained || (err != nil && ans.ID == 0)) {
		r.p.Retain(false)
	}
	atomic.StoreUint32(&stop, 1)
	select {
	case <-did:
	case <-time.After(time.Second):
		// The goroutine is still inside a call that did not return.
		r.inCall.Store(true)
	}
	if r.p.Spot.Moved() {
		if err == nil {
			err = errorf(CodeStale, "the parked goroutine's stack moved (%s); its frames can no longer be trusted", r.p.Spot.MovedAt())
		}
	}
	if err != nil {
		return nil, err
	}
	return ans.Value, nil
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

// Locals implements Evaluator.
func (a *Agent) Locals(ctx context.Context, panicID string, frame int) (*FrameVars, error) {
	r, err := a.live(panicID)
	if err != nil {
		return nil, err
	}
	ans, err := a.request(ctx, wireRequest{Op: opLocals, Panic: panicID, Goroutine: r.p.GoroutineID, Frames: r.p.Frames, Frame: frame})
	if err != nil {
		return nil, err
	}
	return ans.Vars, nil
}

// Expand implements Evaluator.
func (a *Agent) Expand(ctx context.Context, h Handle) (*Value, error) {
	r, err := a.live(h.Panic)
	if err != nil {
		return nil, err
	}
	ans, err := a.request(ctx, wireRequest{Op: opExpand, Panic: h.Panic, Goroutine: r.p.GoroutineID, Frames: r.p.Frames, Frame: h.Frame, Expr: h.Expr, Start: h.Start})
	if err != nil {
		return nil, err
	}
	return ans.Value, nil
}
