//go:build !panicroom_off

package panicroom

import (
	"io"
	"net/http"
	"sync"

	"github.com/panicroom/panicroom/internal/gcpause"
	"github.com/panicroom/panicroom/internal/traceback"
)

// warmOnce makes the first page's one-time work at the first New, and
// warmed says it is done: the agent's first start waits for it (useAgent).
var (
	warmOnce sync.Once
	warmed   = make(chan struct{})
)

// warmUp does, on a goroutine New starts (so that neither the app's start
// nor its first requests wait for it), what the process's first panic page
// would otherwise do once: read and highlight the runtime's and net/http's
// sources and run the page's templates. That first page allocated 4 MiB
// against 0.5 to 1.7 MiB for the next ones, on a heap that had just settled
// after start-up at under 3 MiB with its next collection due at 4 to 7 MiB.
// The panic's collector hold deferred that debt to the moment the snapshot
// released it, so a collection started right then, where the next panics,
// which come quickly after a first one, met it, and a panic recovered while
// a collection runs loses its console (the frames may have been scanned
// after the panic). Paid here, the debt is collected with the start-up's,
// and where the start-up made no collection (a small app), by one run here
// (gcpause.CollectFirst): otherwise the app's first collection tends to
// fall on its first panic.
func (d *Debugger) warmUp() {
	warmOnce.Do(func() {
		defer close(warmed)
		p := &traceback.Panic{ID: "warm-up", Value: traceback.ValueOf("warm-up"), Frames: traceback.FramesOf(warmPanic())}
		d.classifier.Classify(p.Frames)
		for i := range p.Frames {
			if ctx, err := d.sources.Context(p.Frames[i].File, p.Frames[i].Line, d.cfg.contextLines); err == nil {
				p.Frames[i].Source = ctx
			}
		}
		d.renderer.HTML(io.Discard, traceback.Page{Panic: p})
		gcpause.CollectFirst()
	})
}

// warmPanic panics in a handler, as the app's will, and returns the
// program counters at the recovery: the runtime's and net/http's source
// files, which most pages show, are then read, split and scanned once here.
func warmPanic() (pcs []uintptr) {
	defer func() {
		recover()
		pcs = traceback.Callers(0)
	}()
	http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("warm-up") }).ServeHTTP(nil, nil)
	return nil
}
