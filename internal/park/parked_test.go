package park

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/panicroom/panicroom/internal/gcpause"
)

// parkedSpot is a Spot with its goroutine waiting, released at cleanup.
func parkedSpot(t *testing.T) *Spot {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Skip(err)
	}
	go s.Wait()
	t.Cleanup(s.Release)
	return s
}

// heapObject returns an object of the Go heap, what Keep's pointers must
// name: a new() whose address leaves only as a uintptr stays on the stack,
// and a kept pointer into a freed stack makes the collector abort the
// binary ("found bad pointer in Go heap").
//
//go:noinline
func heapObject() *[4]int { return new([4]int) }

// countedHold is a hold that counts its ends.
func countedHold() (func(), *atomic.Int32) {
	var n atomic.Int32
	return func() { n.Add(1) }, &n
}

// The contract of trap 1, one rule per case: the hold ends exactly once;
// pointers are kept only when no collection ended since the recovery (else
// the frames are lost and onLost hears why); live frames have nothing to
// lose; a release drops what was kept unless the goroutine is retained.
func TestParkedKeepsOnlyWhatItCanTrust(t *testing.T) {
	obj := heapObject()
	ptrs := []uintptr{uintptr(unsafe.Pointer(obj))}
	defer runtime.KeepAlive(obj)

	t.Run("kept", func(t *testing.T) {
		defer gcpause.Hold()() // no collection between the count and the keep
		hold, ends := countedHold()
		now := gcpause.Cycles()
		p := Dead(parkedSpot(t), hold, now, "", func(why string) { t.Errorf("lost: %s", why) })
		p.Keep(ptrs, uint32(now))
		addrs, answered := p.Kept()
		if !answered || len(addrs) != 1 || addrs[0] != ptrs[0] || ends.Load() != 1 {
			t.Fatalf("kept %v (answered %v), hold ended %d times; want the pointer, once", addrs, answered, ends.Load())
		}
		if !p.Release() {
			t.Error("Release did not let the goroutine go")
		}
		if addrs, _ := p.Kept(); len(addrs) != 0 || ends.Load() != 1 {
			t.Errorf("after the release: kept %v, hold ended %d times", addrs, ends.Load())
		}
	})
	t.Run("collection since the recovery", func(t *testing.T) {
		hold, ends := countedHold()
		var lost string
		p := Dead(parkedSpot(t), hold, gcpause.Cycles()-1, "", func(why string) { lost = why })
		p.Keep(ptrs, uint32(gcpause.Cycles()))
		if addrs, _ := p.Kept(); len(addrs) != 0 || !strings.Contains(lost, "1 garbage collection(s) ran") || p.Lost() != lost || ends.Load() != 1 {
			t.Errorf("kept %v, lost %q, hold ended %d times; want nothing kept, the frames lost, one end", addrs, lost, ends.Load())
		}
	})
	t.Run("distrusted from the recovery", func(t *testing.T) {
		defer gcpause.Hold()() // no collection between the count and the keep
		var lost string
		now := gcpause.Cycles()
		p := Dead(parkedSpot(t), func() {}, now, "a collection ended near the panic", func(why string) { lost = why })
		p.Keep(ptrs, uint32(now))
		if lost != "a collection ended near the panic" {
			t.Errorf("lost %q", lost)
		}
	})
	t.Run("nothing to keep", func(t *testing.T) {
		hold, ends := countedHold()
		p := Dead(parkedSpot(t), hold, gcpause.Cycles()-1, "distrusted", func(why string) { t.Errorf("lost with no pointers: %s", why) })
		p.Keep(nil, 0)
		if _, answered := p.Kept(); !answered || ends.Load() != 1 {
			t.Errorf("answered %v, hold ended %d times", answered, ends.Load())
		}
	})
	t.Run("live frames", func(t *testing.T) {
		p := Live(parkedSpot(t))
		p.Keep(ptrs, uint32(gcpause.Cycles())-1) // checked before a collection
		if addrs, _ := p.Kept(); len(addrs) != 0 || p.Lost() != "" {
			t.Errorf("kept %v, lost %q; want nothing kept from a void check, nothing lost", addrs, p.Lost())
		}
	})
	t.Run("retained", func(t *testing.T) {
		defer gcpause.Hold()() // no collection between the count and the keep
		hold, ends := countedHold()
		now := gcpause.Cycles()
		s := parkedSpot(t)
		p := Dead(s, hold, now, "", nil)
		p.Keep(ptrs, uint32(now))
		p.Retain()
		if p.Release() || s.Released() {
			t.Error("a retained goroutine was let go")
		}
		if addrs, _ := p.Kept(); len(addrs) != 1 || ends.Load() != 1 {
			t.Errorf("retained: kept %v, hold ended %d times", addrs, ends.Load())
		}
	})
	t.Run("released before the answer", func(t *testing.T) {
		defer gcpause.Hold()() // no collection between the count and the keep
		hold, ends := countedHold()
		now := gcpause.Cycles()
		p := Dead(parkedSpot(t), hold, now, "", nil)
		p.Release()
		p.Keep(ptrs, uint32(now))
		if addrs, _ := p.Kept(); len(addrs) != 0 || ends.Load() != 1 {
			t.Errorf("kept %v after the release, hold ended %d times", addrs, ends.Load())
		}
	})
}
