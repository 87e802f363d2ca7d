package park

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/panicroom/panicroom/internal/gcpause"
)

// Parked is one parked goroutine as the debugger sees it: the Spot it waits
// in and, for a recovered panic, the contract that keeps its frames
// readable (trap 1 of DESIGN.md), in one place.
//
// A panic's frames are dead to the runtime from the panic on: the heap
// objects only they reference are not GC roots. So the collector is held
// off from the panic (package gcpause) until the debugger has listed those
// objects and they are stored here ([Parked.Keep]). The methods enforce:
//
//   - the hold ends exactly once: when the objects are kept, when the
//     frames are lost, or when the goroutine is released;
//   - the objects are kept only if no collection ended since the panic
//     (one that did may have freed some of them, and their addresses now
//     name other objects): otherwise the frames are lost, and the goroutine
//     is released with the reason on its page;
//   - the objects stay until the goroutine is released, and for good once
//     a call has been handed pointers into the frames ([Parked.Retain]).
//
// A goroutine parked where it stands (a breakpoint, the top-level console)
// has live frames: nothing to distrust, no hold.
type Parked struct {
	*Spot
	dead bool // the frames are a recovered panic's

	mu       sync.Mutex
	endHold  func() // nil once the hold has ended
	cycles   uint64 // gcpause.Cycles at the recovery
	distrust string // why the frames cannot be trusted whatever Keep hears
	keep     []unsafe.Pointer
	kept     bool // Keep ran
	lost     string
	released bool
	retained bool
	onLost   func(why string)
}

// Dead parks a recovered panic's goroutine in spot. hold ends the
// collector hold taken at the panic; cycles is [gcpause.Cycles] noted at
// the recovery; distrust, if not empty, is why a collection may already
// have freed what the frames reference (one that ended between the panic
// and the recovery, which cycles cannot show). onLost is told, once and on
// the goroutine that called Keep, when the frames are lost; it is expected
// to release the goroutine, and must not wait for the debugger.
func Dead(spot *Spot, hold func(), cycles uint64, distrust string, onLost func(why string)) *Parked {
	return &Parked{Spot: spot, dead: true, endHold: hold, cycles: cycles, distrust: distrust, onLost: onLost}
}

// Live parks a goroutine whose frames are live in spot.
func Live(spot *Spot) *Parked {
	return &Parked{Spot: spot}
}

// Keep receives, from the debugger, the heap pointers held in the parked
// frames: each pointed, when the debugger checked it with the app stopped
// at checkedAt ([gcpause.Cycles] then, in the 32 bits the wire carries),
// into an allocated object of the Go heap. ptrs is nil when the debugger
// has none to give (its snapshot failed or was not taken); that only ends
// the hold.
//
// Keep must be called at most once; it does not block, and it runs onLost
// when the frames are lost. It must not keep ptrs itself: a []uintptr keeps
// nothing alive; the pointers are copied, as pointers, before the hold
// ends.
func (p *Parked) Keep(ptrs []uintptr, checkedAt uint32) {
	now := gcpause.Cycles()
	if p.dead && len(ptrs) > 0 {
		why := p.distrust
		if why == "" && now != p.cycles {
			// The hold gives way to a memory limit (the app's, or its own
			// bound) and to a runtime.GC call.
			why = fmt.Sprintf("%d garbage collection(s) ran between the panic and the debugger's snapshot (the app reached its memory limit, or called runtime.GC), so objects only its frames referenced may have been freed", now-p.cycles)
		}
		if why != "" {
			p.lose(why)
			return
		}
	}
	if uint32(now) != checkedAt {
		// Live frames only (dead ones were lost above): their objects are
		// reachable anyway, and a pointer the check vouched for before a
		// collection vouches for nothing after it.
		ptrs = nil
	}
	keep := make([]unsafe.Pointer, len(ptrs))
	for i := range ptrs {
		// The debugger vouches that each address was a live heap object
		// when it stopped the app, and the collector has been off since
		// the panic; reading the word as a pointer (rather than
		// converting the uintptr) keeps vet's unsafeptr check honest about
		// where the trust comes from.
		keep[i] = *(*unsafe.Pointer)(unsafe.Pointer(&ptrs[i]))
	}
	p.mu.Lock()
	if p.kept {
		p.mu.Unlock()
		panic("park: Keep called twice")
	}
	p.kept = true
	if !p.released || p.retained {
		p.keep = keep
	}
	end := p.takeHold()
	p.mu.Unlock()
	end()
}

// lose ends the hold and reports why the frames cannot be trusted.
func (p *Parked) lose(why string) {
	p.mu.Lock()
	p.kept = true
	p.lost = why
	end := p.takeHold()
	onLost := p.onLost
	p.mu.Unlock()
	end()
	if onLost != nil {
		onLost(why)
	}
}

// takeHold returns the function that ends the hold, once; p.mu is held.
func (p *Parked) takeHold() func() {
	end := p.endHold
	p.endHold = nil
	if end == nil {
		return func() {}
	}
	return end
}

// Lost says why the frames could not be trusted, or "".
func (p *Parked) Lost() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lost
}

// Kept returns the addresses of the objects kept for the frames, and
// whether the debugger has answered (Keep ran, or the frames were lost).
func (p *Parked) Kept() (addrs []uintptr, answered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addrs = make([]uintptr, len(p.keep))
	for i, k := range p.keep {
		addrs[i] = uintptr(k)
	}
	return addrs, p.kept
}

// Retain commits to keeping the frames, and what they reference, until
// the process exits: a call was handed pointers into them and may have
// kept one. Release then neither lets the goroutine return nor drops the
// objects.
func (p *Parked) Retain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retained = true
}

// Retained reports whether Retain was called.
func (p *Parked) Retained() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.retained
}

// Release lets the goroutine return, unless it is retained, and drops the
// kept objects with it; a hold still running ends. It is idempotent, and
// reports whether the goroutine was let go.
func (p *Parked) Release() bool {
	p.mu.Lock()
	p.released = true
	retained := p.retained
	if !retained {
		p.keep = nil // the frames are gone with the goroutine
	}
	end := p.takeHold()
	p.mu.Unlock()
	end()
	if retained {
		return false
	}
	p.Spot.Release()
	return true
}
