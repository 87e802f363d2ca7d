//go:build linux && (amd64 || arm64)

package backend

import (
	"debug/dwarf"
	"reflect"
	"runtime"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// With the debug information preloaded (attachPreloaded), what is left of
// Delve's attach inside the stop is its new Target (delve v1.27.2,
// pkg/proc/target.go, newTarget), measured on a 2-core machine with the
// app built with -N -l: ~75 ms, during which no request is served. Two
// thirds of it is the goroutine cache's init, which finds runtime.allglen
// and runtime.allgs by reading the DWARF entries from the start of
// .debug_info (every function of every package before the runtime's
// globals), twice; a quarter is the line tables walked to place its
// breakpoints on runtime.fatalpanic, throw and fatal, the type of
// runtime.g read to find the current goroutine, and our own lookup of the
// trap slots' table (sweepTrapSlots).
//
// None of it needs the app stopped. prepareStop does it before the stop:
// the line tables and the type land in Delve's caches (the same
// BinaryInfo goes into the stop), and the two addresses are read from
// Delve's table of package variables, without the walk. Inside the stop,
// Delve's image reads an empty DWARF, so the lookup finds nothing at
// once, and the addresses are set afterwards;
// anything else of newTarget that would read the DWARF finds its answer
// in the caches, or gets an error where it would have gone to the DWARF
// (never a wrong answer: no entry is found at all), which
// TestAttachPreloaded compares with Delve's own attach.
//
// On linux/arm64 newTarget also turns asynchronous preemption off by
// reading runtime.debug's entry from the DWARF, which an empty one would
// skip; that platform keeps Delve's lookup inside the stop.

// stopWork is what prepareStop computed for the stop.
type stopWork struct {
	// allglen and allgs are the addresses Delve's goroutine cache looks up
	// (goroutineCache.init); zero when the shortcut is off.
	allglen, allgs uint64
}

// emptyDWARF is a valid DWARF with one compilation unit and no entries.
var emptyDWARF = func() *dwarf.Data {
	// A DWARF 4 unit header (length 8, version 4, abbreviations at 0,
	// 8-byte addresses) followed by a null entry; the abbreviations table
	// holds only its terminator.
	info := []byte{8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8, 0}
	d, err := dwarf.New([]byte{0}, nil, nil, info, nil, nil, nil, nil)
	if err != nil {
		return nil
	}
	return d
}()

// prepareStop warms Delve's caches for what newTarget reads inside the
// stop and, where the shortcut applies, finds the goroutine cache's
// addresses. It reads only the binary's file and, through p, the running
// app's memory.
func prepareStop(bi *proc.BinaryInfo, p proc.Process) (w stopWork) {
	defer func() {
		if recover() != nil {
			w = stopWork{} // Delve does all of it inside the stop, as before
		}
	}()
	// The functions newTarget places its breakpoints on
	// (createUnrecoveredPanicBreakpoint, createFatalThrowBreakpoint): each
	// walk of a line table is cached by the function's entry.
	for _, fn := range []string{"runtime.startpanic", "runtime.fatalpanic", "runtime.throw", "runtime.fatal", "runtime.winthrow", "runtime.fatalsignal"} {
		proc.FindFunctionLocation(p, fn, 0)
	}
	bi.FindType("runtime.g") // GetG of the current thread
	// Our own lookup in the stop (sweepTrapSlots): its type and entry.
	sc := &proc.EvalScope{BinInfo: bi, Mem: p.Memory()}
	globalAddr(sc, wire.TrapSlotsSymbol)
	if runtime.GOARCH != "amd64" || emptyDWARF == nil || !canSkipAllgLookup(bi) {
		return stopWork{}
	}
	// The addresses Delve's goroutine cache would find by walking the
	// DWARF from its first entry (reader.AddrFor, twice: 45-110 ms of the
	// console's start on two cores), read from its table of package
	// variables, which holds the same entries' addresses.
	allglen, err := globalAddr(sc, "runtime.allglen")
	if err != nil {
		return stopWork{}
	}
	allgs, err := globalAddr(sc, "runtime.allgs")
	if err != nil {
		return stopWork{}
	}
	return stopWork{allglen: allglen, allgs: allgs}
}

// canSkipAllgLookup reports whether this Delve has the fields the
// shortcut writes: a Delve upgrade that renames them loses the shortcut,
// not the attach.
func canSkipAllgLookup(bi *proc.BinaryInfo) bool {
	if len(bi.Images) == 0 {
		return false
	}
	if !hasImageDWARF() {
		return false
	}
	g, ok := reflect.TypeFor[proc.Target]().FieldByName("gcache")
	if !ok || g.Type.Kind() != reflect.Struct {
		return false
	}
	for _, name := range []string{"allglenAddr", "allgentryAddr"} {
		f, ok := g.Type.FieldByName(name)
		if !ok || f.Type.Kind() != reflect.Uint64 {
			return false
		}
	}
	return true
}

// initializeWith runs Delve's initialize for dbp; with w's addresses,
// Delve's image reads an empty DWARF meanwhile, and the goroutine cache
// gets w's addresses afterwards.
func initializeWith(dbp *nativeProcess, bi *proc.BinaryInfo, path string, w stopWork) (*proc.TargetGroup, error) {
	if w.allgs == 0 {
		return nativeInitialize(dbp, path, nil)
	}
	grp, err := func() (*proc.TargetGroup, error) {
		d := field(bi.Images[0], "dwarf")
		saved := d.Interface().(*dwarf.Data)
		d.Set(reflect.ValueOf(emptyDWARF))
		defer d.Set(reflect.ValueOf(saved))
		return nativeInitialize(dbp, path, nil)
	}()
	if err != nil {
		return nil, err
	}
	t := grp.Selected
	gc := field(t, "gcache")
	settable(gc.FieldByName("allglenAddr")).SetUint(w.allglen)
	settable(gc.FieldByName("allgentryAddr")).SetUint(w.allgs)
	if t.SelectedGoroutine() == nil {
		// GetG went to the DWARF for a type the cache lacked; with the
		// DWARF back it finds the goroutine as Delve's attach would have.
		if g, err := proc.GetG(t.CurrentThread()); err == nil && g != nil {
			t.SwitchGoroutine(g)
		}
	}
	return grp, nil
}
