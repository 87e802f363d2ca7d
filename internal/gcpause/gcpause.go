// Package gcpause holds the garbage collector off for short, counted,
// bounded windows.
//
// Two moments need it. From a panic until its record references the objects
// that only the panic's dead frames hold: those frames are not GC roots, so a
// collection would free what the debugger is about to read (DESIGN.md,
// trap 1). And while a parked goroutine runs a debugger call: it is then an
// ordinary running goroutine, and a collection that preempts it may shrink —
// move — the stack that holds the panic's frames.
package gcpause

import (
	"runtime/debug"
	"sync"
	"time"
)

// The hold is counted, for windows that overlap, and bounded, so that a
// debugger that never answers cannot leave the app without a collector.
var gcHold struct {
	mu    sync.Mutex
	n     int
	saved int
}

// MaxHold bounds one hold. The snapshot normally answers in tens of
// milliseconds; a panic during the agent's attach waits for it, up to the
// debugger's request timeout (10 s), and a hold shorter than that would let
// a collection free what the snapshot is about to keep.
const MaxHold = 12 * time.Second

// Hold turns the collector off until the returned function is called (or
// MaxHold passes). The function may be called any number of times.
func Hold() (release func()) {
	gcHold.mu.Lock()
	if gcHold.n == 0 {
		// SetGCPercent(-1) waits for a running mark phase to finish, so no
		// cycle that began before the hold can end inside it.
		gcHold.saved = debug.SetGCPercent(-1)
	}
	gcHold.n++
	gcHold.mu.Unlock()

	var once sync.Once
	release = func() {
		once.Do(func() {
			gcHold.mu.Lock()
			defer gcHold.mu.Unlock()
			gcHold.n--
			if gcHold.n == 0 {
				debug.SetGCPercent(gcHold.saved)
			}
		})
	}
	time.AfterFunc(MaxHold, release)
	return release
}
