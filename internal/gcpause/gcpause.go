// Package gcpause holds the garbage collector off for short, counted,
// bounded windows, and tells whether a collection ran anyway.
//
// Two moments need it. From a panic until its record references the objects
// that only the panic's dead frames hold: those frames are not GC roots, so a
// collection would free what the debugger is about to read (DESIGN.md,
// trap 1). And while a parked goroutine runs a debugger call: it is then an
// ordinary running goroutine, and a collection that preempts it may shrink —
// move — the stack that holds the panic's frames.
//
// A hold cannot be absolute. SetGCPercent(-1) stops the collections that
// heap growth triggers, but not those a memory limit triggers, nor a
// runtime.GC or debug.FreeOSMemory call; and an absolute hold would let a
// burst of allocation take the machine's memory. So a hold is bounded in
// time ([MaxHold]) and in memory (see [Hold]), and instead of promising
// that no collection runs, the package counts them: a caller that noted
// [Cycles] before its window compares it after, and distrusts what it
// protected when a collection ended in between.
package gcpause

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The hold is counted, for windows that overlap, and bounded, so that a
// debugger that never answers cannot leave the app without a collector.
var gcHold struct {
	mu         sync.Mutex
	n          int
	savedGOGC  int
	savedLimit int64
	ourLimit   int64 // the limit the hold set; math.MaxInt64 if none
}

// MaxHold bounds one hold. The snapshot normally answers in tens of
// milliseconds; a panic during the agent's attach waits for it, up to the
// debugger's request timeout (10 s), and a hold shorter than that would let
// a collection free what the snapshot is about to keep.
const MaxHold = 12 * time.Second

// MinHeadroom is the least a hold lets the heap grow by when the app has no
// memory limit of its own.
const MinHeadroom = 64 << 20

// Hold turns the collector's heap-growth trigger off until the returned
// function is called (or MaxHold passes). The function may be called any
// number of times.
//
// Memory stays bounded: the first of overlapping holds sets a memory limit
// of the memory in use now plus the live heap again (at least
// [MinHeadroom]), or keeps the app's own GOMEMLIMIT when that is lower. An
// app that reaches it gets its collection, as it would without panicroom,
// and [Cycles] shows it. The last release restores the app's GOGC and
// memory limit, unless the app changed one of them meanwhile: then its own
// new value stays.
func Hold() (release func()) {
	gcHold.mu.Lock()
	if gcHold.n == 0 {
		// SetGCPercent(-1) waits for a running mark phase to finish, so no
		// cycle that began before the hold can end inside it.
		gcHold.savedGOGC = debug.SetGCPercent(-1)
		gcHold.savedLimit = debug.SetMemoryLimit(-1)
		gcHold.ourLimit = gcHold.savedLimit
		if bound := inUse() + max(liveHeap(), MinHeadroom); bound < gcHold.savedLimit {
			gcHold.ourLimit = bound
			debug.SetMemoryLimit(bound)
		}
	}
	gcHold.n++
	gcHold.mu.Unlock()

	var once sync.Once
	release = func() {
		once.Do(func() {
			gcHold.mu.Lock()
			defer gcHold.mu.Unlock()
			gcHold.n--
			if gcHold.n > 0 {
				return
			}
			if was := debug.SetGCPercent(gcHold.savedGOGC); was != -1 {
				debug.SetGCPercent(was) // the app's own, set during the hold
			}
			if was := debug.SetMemoryLimit(gcHold.savedLimit); was != gcHold.ourLimit {
				debug.SetMemoryLimit(was)
			}
		})
	}
	time.AfterFunc(MaxHold, release)
	return release
}

// CollectFirst runs the program's first collection now, unless one has
// already run or a hold is on; it reports whether it ran one.
//
// A young program's heap sits below the runtime's first goal (4 MB) until
// something pushes it over, and in a small app, idle after its start, that
// is often its first panic's request: the collection is then still
// marking at the recovery, the hold waits for it to end and counts it, and
// the panic loses its console (the reliability suite's app had made no
// collection yet at the first panic after an agent's restart, and lost
// that panic in 62 of 104 tries; in none of 90 with this run at its
// start). Run at start, the cycle marks a heap of a few megabytes in about
// 2 ms of one core, and the next is due when the heap reaches twice what
// is left, or 4 MB.
func CollectFirst() bool {
	gcHold.mu.Lock()
	defer gcHold.mu.Unlock()
	// Under the lock, no hold can begin meanwhile: a panic recovered during
	// the collection waits in Hold, and its count, taken before, shows it.
	if gcHold.n > 0 || Cycles() > 0 {
		return false
	}
	runtime.GC()
	return true
}

// Cycles returns the number of collections that have ended since the
// program started, read without stopping the world. A collection frees
// what it found unreachable when its mark phase ended, so an object that was
// reachable at a moment cannot have been freed while Cycles has not moved
// since.
func Cycles() uint64 {
	s := [1]metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxUint64
	}
	return s[0].Value.Uint64()
}

// LastEnd returns when the last collection ended, by the wall clock, or
// the zero Time if none has. A panic's frames are dead from the panic on,
// but the earliest code that can note [Cycles] runs after it, in a
// deferred call: a collection that both scanned the goroutine and ended in
// between leaves the count unchanged. LastEnd tells a caller whether one
// ended near enough to the panic to have done so.
func LastEnd() time.Time {
	var s debug.GCStats
	debug.ReadGCStats(&s)
	return s.LastGC
}

// inUse is the memory the runtime counts against a memory limit: mapped,
// less what was returned to the OS.
func inUse() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

func liveHeap() int64 {
	s := [1]metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
