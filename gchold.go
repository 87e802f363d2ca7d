package panicroom

import (
	"runtime/debug"
	"sync"
	"time"
)

// A panic's frames are dead to the runtime: objects that only they
// reference are not GC roots, and a collection would free them under the
// debugger's feet (DESIGN.md, trap 1). So from the panic until the debugger
// has listed the heap pointers in those frames and the record holds them,
// the collector is held off. The hold is counted, for panics that overlap,
// and bounded, so a debugger that never answers cannot leave the app
// without a collector.
var gcHold struct {
	mu    sync.Mutex
	n     int
	saved int
}

// maxGCHold bounds one hold. The snapshot normally answers in tens of
// milliseconds; a panic during the agent's attach waits for it, up to the
// debugger's request timeout (10 s), and a hold shorter than that would let
// a collection free what the snapshot is about to keep.
const maxGCHold = 12 * time.Second

// holdGC turns the collector off until the returned function is called (or
// maxGCHold passes). The function may be called any number of times.
func holdGC() (release func()) {
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
	time.AfterFunc(maxGCHold, release)
	return release
}
