//go:build !panicroom_off

package panicroom

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/gcpause"
	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// This file is panicroom beyond a handler's own goroutine: goroutines the
// app starts (Go, Recover), which have no request, and breakpoints (Break),
// which stop a goroutine that did not panic.

// process is the Debugger the package-level Go, Recover and Break use: the
// oldest one New made that is not closed (kept by publish and dropAgent).
// An app has one in almost every case; one with several uses the methods
// of the one it means.
var process atomic.Pointer[Debugger]

// Go runs f on a new goroutine as [Debugger.Go] does, with the process's
// Debugger (the oldest open one). Without one, a panic in f is logged with
// its stack through slog's default logger, and the program goes on.
func Go(f func()) {
	if d := process.Load(); d != nil {
		d.Go(f)
		return
	}
	go func() {
		defer logPanic()
		f()
	}()
}

// Recover, deferred at the top of a goroutine, does for a panic in that
// goroutine what [Debugger.Recover] does, with the process's Debugger (the
// oldest open one). Without one, the panic is logged with its stack through
// slog's default logger, and the program goes on.
//
//	go func() {
//		defer panicroom.Recover()
//		...
//	}()
func Recover() {
	v := recover()
	if v == nil && !panicking() {
		return
	}
	if d := process.Load(); d != nil {
		d.goroutinePanic(v, time.Time{})
		return
	}
	logUnhandled(v)
}

func logPanic() {
	if v := recover(); v != nil || panicking() {
		logUnhandled(v)
	}
}

func logUnhandled(v any) {
	slog.Error("panicroom: a goroutine panicked; no panicroom.Debugger exists to show it, so it is only logged",
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// Go runs f on a new goroutine whose panic gets what a handler's gets: a
// page (its request section says it had none), an entry in the history, a
// line in the log with the page's URL, and, when the console can use it,
// the goroutine parked with every frame alive. The program goes on: a
// panic in f does not end it. runtime.Goexit in f ends the goroutine as
// usual.
//
// With golang.org/x/sync/errgroup, start the group's functions through
// Recover, since errgroup runs them on goroutines of its own:
//
//	g.Go(func() error {
//		defer d.Recover()
//		return work(ctx)
//	})
//
// A panic there is answered and parked, and the function then returns its
// results as they stood (nil, unless a named error result was set before).
// While a goroutine is parked, whatever waits for it waits too (errgroup's
// Wait, a sync.WaitGroup), until the panic is released: after
// WithIdleTimeout without use, or by Close.
func (d *Debugger) Go(f func()) {
	go d.runGoroutine(f)
}

func (d *Debugger) runGoroutine(f func()) {
	// The headroom a panic's recovery needs (see growStack), which a bare
	// deferred Recover cannot have.
	growStack(false)
	defer d.recoverGoroutine(time.Now())
	f()
}

// Recover, deferred at the top of a goroutine, recovers its panic and
// answers it as [Debugger.Go] does. It must be called directly by defer
// (recover works only there).
//
// A goroutine started by Go has room reserved on its stack for the
// recovery; one with only a deferred Recover may not, and when its stack
// must grow on the way the console cannot trust its frames: the page then
// says so, and the goroutine is not kept. Prefer Go where you can.
func (d *Debugger) Recover() {
	v := recover()
	if v == nil && !panicking() {
		return
	}
	d.goroutinePanic(v, time.Time{})
}

// recoverGoroutine is Recover for a goroutine Go started, which knows
// when its function began.
func (d *Debugger) recoverGoroutine(started time.Time) {
	v := recover()
	if v == nil && !panicking() {
		return
	}
	d.goroutinePanic(v, started)
}

// goroutinePanic is recoverPanic for a goroutine with no request. It runs
// on top of the panicking frames.
func (d *Debugger) goroutinePanic(v any, started time.Time) {
	cycles, recovered := gcpause.Cycles(), time.Now()
	noPark, hold := d.holdAtRecovery()
	d.answer(&job{value: v, pcs: traceback.Callers(0), goroutine: traceback.GoroutineID(), cycles: cycles, started: started, recovered: recovered, hold: hold}, noPark)
}

// baseURL is the scheme and host the app was first reached at, for the
// page URLs of panics that have no request; "" before any request.
func (d *Debugger) baseURL() string {
	if p := d.firstBase.Load(); p != nil {
		return *p
	}
	return ""
}

// noteBase remembers the first request's scheme and host.
func (d *Debugger) noteBase(r *http.Request) {
	base := originOf(r)
	d.firstBase.CompareAndSwap(nil, &base)
}

// Break stops the calling goroutine here, as [Debugger.Break] does, with
// the process's Debugger (the oldest open one). Without one it does
// nothing.
func Break(r *http.Request) {
	if d := process.Load(); d != nil {
		d.breakHere(r)
	}
}

// BreakIf is Break when cond holds.
func BreakIf(cond bool, r *http.Request) {
	if d := process.Load(); cond && d != nil {
		d.breakHere(r)
	}
}

// Break stops the calling goroutine at this line with every frame alive,
// for the console: its page (listed in the index, its URL in the log) has
// a console on every frame, as a panic's has, and a Continue button. The
// goroutine goes on when Continue is pressed, or continue is typed in any
// of the page's consoles, after WithIdleTimeout without use, or at Close,
// with whatever the console assigned meanwhile. r is the request the
// goroutine serves, shown on the page, or nil outside a handler. Its
// client waits meanwhile, so an API client's own timeout may end first.
//
// Where the console cannot use the goroutine (it is off, unavailable, or
// its helper keeps failing), Break logs why and returns at once: a
// breakpoint never stops a program that nothing could inspect. While the
// debugger is still attaching, in the app's first seconds, Break waits for
// it (up to a minute).
//
// An assignment reaches the code after Break only where that code reads
// the variable: a local initialized with a constant and never assigned
// again is compiled as that constant where it is converted to an
// interface (fmt's arguments), even with optimizations off.
func (d *Debugger) Break(r *http.Request) { d.breakHere(r) }

// BreakIf is Break when cond holds.
func (d *Debugger) BreakIf(cond bool, r *http.Request) {
	if cond {
		d.breakHere(r)
	}
}

// breakHere is Break. Its frames are live ones (nothing panicked), so
// unlike a panic's they may move with the stack, no collection can free
// what they reference, and the work is done here, on the goroutine itself.
func (d *Debugger) breakHere(r *http.Request) {
	// Headroom for the calls the console injects while the goroutine
	// waits: a call that grew the stack would move the frames under the
	// debugger.
	growStack(false)
	pcs := traceback.Callers(0)
	at, short := "an unknown line", "an unknown line"
	if frames := traceback.FramesOf(pcs, ownFrames...); len(frames) > 0 {
		at = fmt.Sprintf("%s:%d", frames[0].File, frames[0].Line)
		short = fmt.Sprintf("%s:%d", filepath.Base(frames[0].File), frames[0].Line)
	}
	why := d.parkPolicy()
	if why == "" && d.eval.Status().State == debugapi.StateAttaching {
		// The first seconds of an app, which a reloader makes frequent:
		// the developer asked to stop here, and the console is moments
		// away.
		d.cfg.logger.Info("panicroom: Break waits for the debugger to attach", "at", at)
		for deadline := time.Now().Add(breakAttachWait); d.eval.Status().State == debugapi.StateAttaching && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if st := d.eval.Status(); why == "" && st.State != debugapi.StateAttached {
		why = "the console is not attached (" + st.Reason + ")"
	}
	if why != "" {
		d.cfg.logger.Warn("panicroom: Break did not stop: "+why, "at", at)
		return
	}
	spot, err := park.New()
	if err != nil {
		d.cfg.logger.Warn("panicroom: Break did not stop: cannot park: "+err.Error(), "at", at)
		return
	}
	j := &job{pcs: pcs, goroutine: traceback.GoroutineID(), r: r}
	p := d.capture(j)
	p.Value = traceback.Value{Type: "panicroom.Break", Message: "stopped at " + short, Category: "breakpoint"}
	rec := &record{panic: p, liveFrames: true, breakpoint: true}
	if r != nil {
		rec.note = "The client of this request is waiting for the handler: it gets the handler's answer once you press Continue (or type continue in a console), or after " + shortDuration(d.cfg.idle) + " without use."
	} else {
		rec.note = "The goroutine waits here until you press Continue (or type continue in a console), or for " + shortDuration(d.cfg.idle) + " without use."
	}
	d.registry.add(rec)
	pageURL := d.absoluteURL(r, p.ID)
	request := "none"
	if r != nil {
		request = r.Method + " " + r.URL.RequestURI()
	}
	d.cfg.logger.Warn("panicroom: stopped at Break; open the page, Continue releases it", "at", at, "request", request, "page", pageURL)
	// The debugger looks for the goroutine in its Spot: register it from
	// another goroutine once this one waits there, as for a panic.
	go d.registry.park(rec, park.Live(spot))
	spot.Wait()
	d.cfg.logger.Info("panicroom: continued from Break", "at", at, "page", pageURL)
}

// breakAttachWait bounds how long a Break waits for the debugger's attach:
// seconds normally, tens of seconds on a loaded machine, and a Break that
// waits longer would hang a handler for a debugger that is not coming.
const breakAttachWait = time.Minute

// shortDuration is d as people write it: 30m, not 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// serveContinue releases a goroutine stopped by Break. It changes what the
// program does next, so it takes what the console takes: the console's
// authorization (PIN) and the page's secret, which a cross-site form
// cannot send.
func (d *Debugger) serveContinue(w http.ResponseWriter, r *http.Request) {
	if status, reason := d.authorizeConsole(r); status != http.StatusOK {
		plainError(w, status, reason)
		return
	}
	if err := d.guard.CheckSecret(r); err != nil {
		plainError(w, http.StatusForbidden, err.Error())
		return
	}
	rec := d.registry.get(r.PathValue("id"))
	switch {
	case rec == nil:
		plainError(w, http.StatusNotFound, "no such page")
	case !rec.breakpoint:
		plainError(w, http.StatusConflict, "this page is a panic's: only a goroutine stopped by Break can continue")
	case !rec.parked():
		plainError(w, http.StatusConflict, "the goroutine had already continued")
	default:
		d.registry.release(rec)
		writeJSON(w, map[string]any{"ok": true})
	}
}
