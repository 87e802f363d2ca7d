//go:build !panicroom_off

package panicroom

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panicroom/panicroom/internal/gcpause"
	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// stackHeadroom is how much free stack every request starts with. A panic's
// frames are dead to the runtime (their pointers are not adjusted when the
// stack is copied), so the recover path must never make the stack grow: it
// runs on top of whatever the handler left, and needs park.Reserve for the
// wait (which keeps the collector from shrinking the stack later) plus well
// under 4 KiB, because the work happens on another goroutine (see
// recoverPanic). The rest covers handlers whose panic point is up to
// ~28 KiB deeper than their entry; deeper ones are caught by
// park.Spot.Moved and reported instead of trusted. At the usual depth of a
// handler's entry the stack is 64 KiB either way.
const stackHeadroom = park.Reserve + 32<<10

// growStack makes sure the calling goroutine has stackHeadroom bytes of
// stack free. The function's frame is that large, so its prologue grows the
// stack when needed; the array is only zeroed on the branch that is never
// taken, so on an already large stack this costs a compare.
//
//go:noinline
func growStack(never bool) {
	if never {
		var pad [stackHeadroom]byte
		keep(&pad)
	}
}

//go:noinline
func keep(p *[stackHeadroom]byte) { p[0]++ }

// after tells the request's goroutine how the response ends.
const (
	afterReturn = iota // let the request's goroutine return
	afterAbort         // abort the response that had started (HTTP/2)
)

// job is a recovered panic on its way from the panicking goroutine to the
// goroutine that renders its page.
type job struct {
	value     any
	pcs       []uintptr
	goroutine int64
	w         *writer
	r         *http.Request
	spot      *park.Spot
	after     atomic.Int32
	cycles    uint64 // gcpause.Cycles at the recover
	hold      func() // the collector hold taken at the recover, or nil

	// started is when the goroutine began the work that panicked (the
	// handler, a Go's function), or zero where unknown (a bare Recover);
	// recovered is when the panic was recovered, zero for a breakpoint.
	// Between them lies the panic (see gcNearPanic).
	started, recovered time.Time
}

// serve runs next with panic recovery.
func (d *Debugger) serve(next http.Handler, rw http.ResponseWriter, r *http.Request) {
	d.checkExposureOnce(r)
	w, outer := wrap(rw)
	w.next, w.outer = next, outer
	d.handOff(w, r)
}

// The handler runs on a goroutine of its own, and the request's goroutine
// (the server's, running whatever middleware is outside panicroom) waits
// for it. A panic's goroutine is parked with every frame alive, yet the
// request goes on: once its page is written the request's goroutine
// returns through the outer middleware, so an access log (chi's Logger,
// gin's Logger), a trace span or a metrics wrapper sees the 500 and its
// duration like any other response, and net/http ends the response as
// usual, HTTP/2 streams included. The price is a goroutine per request
// (about 1.5 µs with its stack grown, BenchmarkHappyPath); the handler's
// goroutine inherits the request's pprof labels as any go statement does.
const (
	outcomeReturned = iota // the handler returned
	outcomeAnswered        // it panicked, and the panic was answered
	outcomeAbort           // it panicked after the response started: abort it
	outcomeGoexit          // it called runtime.Goexit
	outcomeRepanic         // a panic panicroom does not answer: raise it again
)

// handoff is what the handler's goroutine tells the request's. It lives in
// the writer, so it costs no allocation of its own.
type handoff struct {
	wg       sync.WaitGroup
	signaled atomic.Bool
	outcome  int // written before wg.Done, read after wg.Wait
	value    any // the panic of outcomeRepanic
}

// signal tells the request's goroutine the outcome, once; later calls do
// nothing.
func (h *handoff) signal(outcome int, v any) {
	if h.signaled.CompareAndSwap(false, true) {
		h.outcome, h.value = outcome, v
		h.wg.Done()
	}
}

// handOff runs the handler w names on its own goroutine and waits until it
// returns or its panic is answered, then does on the request's goroutine
// what the handler's outcome asks for. It reports whether the handler
// panicked.
func (d *Debugger) handOff(w *writer, r *http.Request) (panicked bool) {
	w.hand.wg.Add(1)
	go d.handle(w, r)
	w.hand.wg.Wait()
	switch w.hand.outcome {
	case outcomeAnswered:
		return true
	case outcomeAbort:
		panic(http.ErrAbortHandler)
	case outcomeGoexit:
		runtime.Goexit()
	case outcomeRepanic:
		panic(w.hand.value)
	}
	return false
}

// handle is the handler's goroutine.
func (d *Debugger) handle(w *writer, r *http.Request) {
	defer d.endHandler(w)
	growStack(false)
	defer d.recoverPanic(w, r, time.Now())
	if w.next != nil {
		w.next.ServeHTTP(w.outer, r)
	} else {
		w.nextFunc(w.outer, r)
	}
	w.done = true
	d.noteRecoverer(w, r)
	w.hand.signal(outcomeReturned, nil)
}

// endHandler passes to the request's goroutine what recoverPanic did not
// answer: http.ErrAbortHandler, which net/http must see there, a panic
// after the handler returned, a failure of panicroom's own, or
// runtime.Goexit (the goroutine ends without a panic nor a signal).
func (d *Debugger) endHandler(w *writer) {
	v := recover()
	if v == nil {
		w.hand.signal(outcomeGoexit, nil)
		return
	}
	if w.hand.signaled.Load() {
		// The request is over (a panic after the answer, in panicroom's own
		// code): nobody is left to raise it for, and panicroom never takes
		// the server down.
		d.cfg.logger.Error("panicroom: a panic after the request was answered", "panic", fmt.Sprint(v))
		return
	}
	w.hand.signal(outcomeRepanic, v)
}

// recoverPanic is the deferred half of serve. It runs on top of the
// panicking frames and does as little as it can there: it records the
// program counters, hands the rest to another goroutine, and waits in a
// park.Spot, which keeps every frame below it alive and unmoved until the
// panic is released.
func (d *Debugger) recoverPanic(w *writer, r *http.Request, started time.Time) {
	if w.done {
		return
	}
	v := recover()
	if v == nil && !panicking() {
		// runtime.Goexit unwinds through deferred calls too, and is not a
		// panic: let it go on.
		return
	}
	if v == http.ErrAbortHandler {
		// The handler's deliberate abort: net/http knows what to do with it.
		panic(v)
	}
	// The count of ended collections, first: the dead frames' objects were
	// reachable until the panic, and stay trustworthy only while no
	// collection ends before the debugger's snapshot keeps them (register).
	cycles, recovered := gcpause.Cycles(), time.Now()
	noPark, hold := d.holdAtRecovery()
	d.answer(&job{value: v, pcs: traceback.Callers(0), goroutine: traceback.GoroutineID(), w: w, r: r, cycles: cycles, started: started, recovered: recovered, hold: hold}, noPark)
}

// holdAtRecovery is the first thing after a panic's recovery: it says why
// the goroutine will not be parked (parkPolicy), or, when it may be, turns
// the collector's heap trigger off and returns the hold's release.
//
// A collection that starts after the panic scans its frames as dead, and
// any allocation can start one: the record's (the program counters, the
// job, the pipe to park on, the goroutine that renders the page) come
// after the hold, no longer before it.
func (d *Debugger) holdAtRecovery() (noPark string, release func()) {
	if noPark = d.parkPolicy(); noPark != "" {
		return noPark, nil
	}
	return "", gcpause.Hold()
}

// answer answers j's panic and, when the goroutine may be parked, parks it
// until it is released. It runs on top of the panicking frames, for
// recoverPanic and goroutinePanic; why is holdAtRecovery's reason not to
// park ("" if it may), and j.hold its hold.
func (d *Debugger) answer(j *job, why string) {
	// A goroutine waiting in its Spot holds an OS thread. When it will not
	// be parked anyway, or when enough are already waiting (a burst of
	// panics), answer from here: a thousand concurrent panics must not
	// become a thousand threads, each of which the attached debugger has
	// to take on.
	if why == "" {
		if n := d.waiting.Add(1); int(n) > waitingLimit(d.cfg.maxParked) {
			why = fmt.Sprintf("%d panicking goroutines were already kept or about to be; this one was answered without keeping it", n-1)
		}
		defer d.waiting.Add(-1)
	}
	if why != "" {
		j.dropHold()
		d.finish(j, why)
		d.afterPanic(j)
		return
	}
	spot, err := park.New()
	if err != nil {
		// No pipe to wait on (out of descriptors?): answer without parking.
		j.dropHold()
		d.finish(j, "cannot park: "+err.Error())
		d.afterPanic(j)
		return
	}
	j.spot = spot
	go d.finish(j, "")
	spot.Wait()
	d.afterPanic(j)
}

// dropHold releases the collector hold taken at the recovery, for a panic
// that will not be parked after all.
func (j *job) dropHold() {
	if j.hold != nil {
		j.hold()
		j.hold = nil
	}
}

// waitingLimit bounds the goroutines in their Spots, parked or waiting for
// the decision: the parked ones, and as many again so that a new panic can
// still take the place of the oldest.
func waitingLimit(maxParked int) int { return 2 * maxParked }

// afterPanic tells the request's goroutine, once the panic is answered,
// how the request ends.
func (d *Debugger) afterPanic(j *job) {
	j.answered()
}

// answered signals the request's goroutine that j's answer is complete:
// nothing writes to the response afterwards.
func (j *job) answered() {
	if j.w == nil {
		return
	}
	outcome := outcomeAnswered
	if j.after.Load() == afterAbort {
		outcome = outcomeAbort
	}
	j.w.hand.signal(outcome, nil)
}

// panicking reports whether the caller runs inside a panic, for the one case
// recover cannot tell: panic(nil) under GODEBUG=panicnil=1 returns nil from
// recover, just as runtime.Goexit does.
func panicking() bool {
	var pcs [32]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return true
		}
		if f.Function == "runtime.Goexit" || !more {
			return false
		}
	}
}

// gcNearWindow bounds how long before its recovery a panic is taken to
// have happened, where the start of its work is unknown or earlier.
const gcNearWindow = time.Second

// gcNearPanic says why a collection that ended before j's recovery may
// have run after its panic, or "" if none can have.
//
// The panicking frames are dead to the collector from the panic on (a
// faulting frame is not even scanned), but the first code that can note
// the count of collections runs at the recovery. A collection that
// scanned the goroutine after the panic and ended before that note, as
// when the goroutine is descheduled on its way to the recovery, or a
// deferred call of the app's runs runtime.GC, may have freed what only
// those frames held, and the count shows nothing. The last collection's
// end tells: one that ended after the work began and close before the
// recovery is suspect. Where the work began long before (or is unknown),
// only the last gcNearWindow counts: a goroutine delayed longer than that
// between its panic and its recovery escapes the check.
func gcNearPanic(j *job) string {
	if j.recovered.IsZero() {
		return "" // a breakpoint: nothing panicked
	}
	end := gcpause.LastEnd()
	from := j.recovered.Add(-gcNearWindow)
	if j.started.After(from) {
		from = j.started
	}
	// A collection that ended after the recovery moved the count, which
	// register compares at the snapshot; LastEnd then hides any earlier
	// one, but the frames are lost either way.
	if end.IsZero() || !end.After(from) || end.After(j.recovered) {
		return ""
	}
	return fmt.Sprintf("a garbage collection ended %v before this panic was recovered, possibly after the panic itself, so objects only its frames referenced may have been freed", j.recovered.Sub(end).Round(time.Microsecond))
}
