//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// topLevel is the goroutine the top-level console evaluates on. Delve needs
// a goroutine to evaluate on for package-level reads, and one running on a thread
// for calls; a goroutine parked in a Spot is both. It is started by the first
// visit to the console page, so an app that never opens it pays nothing,
// and released by Close.
type topLevel struct {
	mu   sync.Mutex
	id   string
	spot *park.Spot
	err  error
}

// topLevelName names the console's goroutine of the seq-th Debugger for the
// debugger, like a panic id: the agent is the process's, so two Debuggers'
// top-level goroutines must not share a name.
func topLevelName(seq int) string {
	if seq == 1 {
		return "console"
	}
	return "console-" + strconv.Itoa(seq)
}

func (d *Debugger) ensureTopLevel() error {
	d.topLevel.mu.Lock()
	defer d.topLevel.mu.Unlock()
	if d.topLevel.spot != nil && !d.topLevel.spot.Released() {
		return nil
	}
	spot, err := park.New()
	if err != nil {
		return err
	}
	ready := make(chan topLevelAt)
	go topLevelGoroutine(spot, ready)
	at := <-ready
	frames := traceback.FramesOf(at.pcs)
	d.classifier.Classify(frames)
	d.topLevel.spot = spot
	// Its frames are live ones, roots for the collector: no collection can
	// free what they reference, so no count of them applies.
	d.register(&record{panic: &traceback.Panic{ID: d.topLevelID, Time: time.Now(), Goroutine: at.goroutine, Frames: frames}, liveFrames: true, pk: park.Live(spot)})
	return nil
}

// topLevelAt is where the top-level goroutine waits.
type topLevelAt struct {
	goroutine int64
	pcs       []uintptr
}

// topLevelGoroutine is the goroutine's whole life: report where it is, then
// wait.
//
//go:noinline
func topLevelGoroutine(spot *park.Spot, ready chan<- topLevelAt) {
	// A new goroutine's stack is small, and the rendezvous of a call runs on
	// top of it: without headroom the first call would grow (move) the
	// stack, and the debugger would refuse every request after it.
	growStack(false)
	topLevelHere(spot, ready)
}

// topLevelHere records its caller's frame, which is the frame the debugger
// sees when the goroutine waits in spot, and waits.
//
//go:noinline
func topLevelHere(spot *park.Spot, ready chan<- topLevelAt) {
	ready <- topLevelAt{goroutine: traceback.GoroutineID(), pcs: traceback.Callers(1)}
	spot.Wait()
}

func (d *Debugger) releaseTopLevel() {
	d.topLevel.mu.Lock()
	spot := d.topLevel.spot
	d.topLevel.spot = nil
	d.topLevel.mu.Unlock()
	if spot != nil {
		d.eval.Forget(d.topLevelID)
		spot.Release()
	}
}

func (d *Debugger) serveConsolePage(w http.ResponseWriter, r *http.Request) {
	banners := d.consoleBanners(nil)
	if d.parkOff == nil || d.parkOff() == "" {
		if err := d.ensureTopLevel(); err != nil {
			banners = append(banners, traceback.Banner{Level: "error", Text: "The console cannot start its goroutine: " + err.Error()})
		}
	}
	var buf bytes.Buffer
	if err := d.renderer.Console(&buf, d.topLevelID, banners, d.pageMeta(nil)); err != nil {
		plainError(w, http.StatusInternalServerError, "rendering the console: "+err.Error())
		return
	}
	setPageHeaders(w.Header(), "text/html; charset=utf-8")
	w.Write(encode(r, w.Header(), buf.Bytes()))
}
