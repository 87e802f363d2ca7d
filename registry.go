//go:build !panicroom_off

package panicroom

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// record is one panic: its page data, and while it is parked, the Spot its
// goroutine waits in.
type record struct {
	panic    *traceback.Panic
	note     string // what happened to the response, when not the page
	parkNote string // why the goroutine was not parked, if it was not

	mu sync.Mutex
	// pk is the parked goroutine, from the park on; it stays after the
	// release, for the reason its frames were lost, if they were.
	pk       *park.Parked
	released time.Time // zero while parked
	timer    *time.Timer

	// liveFrames marks a record whose goroutine did not panic: the
	// top-level console's, and Break's.
	liveFrames bool
	// breakpoint marks Break's records, which Continue releases.
	breakpoint bool
}

func (r *record) parked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pk != nil && r.released.IsZero()
}

// lost says why the record's frames could not be trusted, or "".
func (r *record) lost() string {
	r.mu.Lock()
	pk := r.pk
	r.mu.Unlock()
	if pk == nil {
		return ""
	}
	return pk.Lost()
}

// registry keeps the recent panics and bounds the parked ones: at most max
// parked (oldest released first), each released after idle without use, all
// released on close. Released records keep their page.
type registry struct {
	mu      sync.Mutex
	byID    map[string]*record
	order   []*record // oldest first
	parked  []*record // oldest first
	max     int
	history int
	idle    time.Duration
	closed  bool
	// onPark and onRelease, if set, are told about every park and release:
	// the debugger registers and forgets the goroutine.
	onPark    func(*record)
	onRelease func(*record)
	// onChange, if set, is told outside the lock about every record
	// added, parked and released: the index's live updates.
	onChange func(rec *record, added bool)

	recent []time.Time // when the last parks happened, at most max

	// kept are the retained records, whose goroutines stay parked until
	// the process exits, at most debugapi.RetainLimit of them.
	kept []*record
}

// stormWindow: max parks within it is a storm. Every park costs a snapshot,
// for which the debugger stops the whole app; a burst of panics that kept
// evicting parked ones would keep the app stopped and starve its healthy
// requests. A person at a browser does not make 16 panics in ten seconds.
const stormWindow = 10 * time.Second

// storm reports whether parking one more goroutine now would make a storm.
func (g *registry) storm() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max > 0 && len(g.recent) >= g.max && time.Since(g.recent[0]) < stormWindow
}

func newRegistry(maxParked, history int, idle time.Duration) *registry {
	return &registry{byID: make(map[string]*record), max: maxParked, history: history, idle: idle}
}

// add records rec; adding it again does nothing.
func (g *registry) add(rec *record) {
	if g.addLocked(rec) && g.onChange != nil {
		g.onChange(rec, true)
	}
}

func (g *registry) addLocked(rec *record) (added bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.byID[rec.panic.ID]; !ok {
		added = true
		g.byID[rec.panic.ID] = rec
		g.order = append(g.order, rec)
		// The page of a live panic is never dropped: it leaves with its
		// release, at a later add.
		for len(g.order) > g.history {
			i := 0
			for i < len(g.order) && g.order[i].parked() {
				i++
			}
			if i == len(g.order) {
				break
			}
			delete(g.byID, g.order[i].panic.ID)
			g.order = append(g.order[:i:i], g.order[i+1:]...)
		}
	}
	return added
}

// park keeps rec's goroutine parked in pk, releasing the oldest parked
// one when over the bound.
func (g *registry) park(rec *record, pk *park.Parked) {
	g.mu.Lock()
	if g.closed || g.max == 0 {
		g.mu.Unlock()
		pk.Release()
		return
	}
	rec.mu.Lock()
	rec.pk = pk
	rec.timer = time.AfterFunc(g.idle, func() { g.release(rec) })
	rec.mu.Unlock()
	g.parked = append(g.parked, rec)
	g.recent = append(g.recent, time.Now())
	if len(g.recent) > g.max {
		g.recent = g.recent[len(g.recent)-g.max:]
	}
	var evict []*record
	for len(g.parked) > g.max {
		evict = append(evict, g.parked[0])
		g.parked = g.parked[1:]
	}
	onPark := g.onPark
	g.mu.Unlock()
	if onPark != nil {
		onPark(rec)
	}
	if g.onChange != nil {
		g.onChange(rec, false)
	}
	for _, r := range evict {
		g.release(r)
	}
}

// touch restarts rec's idle clock.
func (g *registry) touch(rec *record) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.timer != nil {
		rec.timer.Reset(g.idle)
	}
}

// release lets rec's goroutine return, unless a call made it retained
// (park.Parked.Release). Its page stays.
func (g *registry) release(rec *record) {
	rec.mu.Lock()
	pk := rec.pk
	if pk == nil || !rec.released.IsZero() {
		rec.mu.Unlock()
		return
	}
	rec.released = time.Now()
	if rec.timer != nil {
		rec.timer.Stop()
		rec.timer = nil
	}
	rec.mu.Unlock()
	g.mu.Lock()
	for i, r := range g.parked {
		if r == rec {
			g.parked = append(g.parked[:i:i], g.parked[i+1:]...)
			break
		}
	}
	onRelease := g.onRelease
	g.mu.Unlock()
	if onRelease != nil {
		onRelease(rec)
	}
	if g.onChange != nil {
		g.onChange(rec, false)
	}
	// A retained goroutine stays where it is, so that no pointer a call
	// kept ever points into a stack that was reused; the page and the
	// console treat it as released.
	pk.Release()
}

// retain answers debugapi.Panic.Retain for rec: with peek, whether rec's
// frames may be kept for good (they are already, or fewer than
// debugapi.RetainLimit are); without, it keeps them. The commitment is
// never refused: it follows a call that has already been made.
func (g *registry) retain(rec *record, peek bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	rec.mu.Lock()
	pk := rec.pk
	rec.mu.Unlock()
	switch {
	case pk == nil:
		return false
	case pk.Retained():
		return true
	case peek:
		return len(g.kept) < debugapi.RetainLimit
	}
	pk.Retain()
	g.kept = append(g.kept, rec)
	return true
}

// close releases every parked goroutine and parks no more.
func (g *registry) close() {
	g.mu.Lock()
	g.closed = true
	parked := append([]*record(nil), g.parked...)
	g.mu.Unlock()
	for _, r := range parked {
		g.release(r)
	}
}

func (g *registry) get(id string) *record {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byID[id]
}

// list returns the records newest first.
func (g *registry) list() []*record {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*record, len(g.order))
	for i, r := range g.order {
		out[len(out)-1-i] = r
	}
	return out
}

func (g *registry) parkedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.parked)
}

// newID returns an unguessable panic id: pages show source and request
// details, so their URLs must not be enumerable.
func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
