//go:build !panicroom_off

package panicroom

import "github.com/panicroom/panicroom/internal/traceback"

// goroutineContext is how many lines of source the page shows around each
// goroutine group's innermost frame of the app's code: enough to see the
// line it waits on, small enough for fifty groups.
const goroutineContext = 2

// goroutines takes every goroutine's stack for j's page. It runs in finish,
// on the goroutine that renders the page, never on the panicking one (whose
// stack must not grow), and only on the panic path.
func (d *Debugger) goroutines(j *job) *traceback.Goroutines {
	if !d.cfg.goroutines {
		return nil
	}
	if why := burstSkip(); why != "" {
		return &traceback.Goroutines{Skipped: why}
	}
	gs := traceback.CaptureGoroutines(j.goroutine, d.classifier, ownFrames...)
	gs.AddSource(d.sources, goroutineContext)
	return gs
}

// complete adds to a captured panic what this file's features need: the
// goroutines, and the page's own address for API clients.
func (d *Debugger) complete(p *traceback.Panic, j *job, gs *traceback.Goroutines) {
	p.Goroutines = gs
	if j.r != nil {
		p.URL = d.absoluteURL(j.r, p.ID)
	}
}
