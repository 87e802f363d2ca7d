package gcpause

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestHoldNestsAndRestores(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)

	a := Hold()
	b := Hold()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent during a hold = %d, want -1 (off)", p)
	}
	a()
	a() // idempotent: must not release b's hold
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC turned back on while a hold remains (percent %d)", p)
	}
	b()
	if p := debug.SetGCPercent(150); p != 150 {
		t.Fatalf("GC percent after the last release = %d, want 150 restored", p)
	}
}

// A GOGC or memory limit the app sets while a hold is on is the app's:
// the end of the hold does not put the old value back over it.
func TestReleaseKeepsTheAppsOwnSettings(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	release := Hold()
	debug.SetGCPercent(250)
	debug.SetMemoryLimit(3 << 30)
	release()
	if p := debug.SetGCPercent(100); p != 250 {
		t.Errorf("GOGC after the hold = %d, want the app's 250", p)
	}
	if l := debug.SetMemoryLimit(math.MaxInt64); l != 3<<30 {
		t.Errorf("memory limit after the hold = %d, want the app's %d", l, int64(3<<30))
	}

	release = Hold()
	release()
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit after a hold = %d, want none again", l)
	}
}

var sink [][]byte

// An app that allocates without end during a hold gets its collection at a
// bound, instead of taking the machine's memory; Cycles shows it ran.
func TestHoldBoundsMemory(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	runtime.GC()
	before := Cycles()
	start := inUse()
	release := Hold()
	defer release()
	limit := debug.SetMemoryLimit(-1)
	if want := start + max(liveHeap(), MinHeadroom); limit == math.MaxInt64 || limit > want+8<<20 {
		t.Fatalf("limit during a hold = %d, want about %d", limit, want)
	}
	if Cycles() != before {
		t.Fatal("a collection ended at the start of the hold")
	}
	peak := int64(0)
	for i := 0; i < 4*MinHeadroom>>20 && Cycles() == before; i++ {
		sink = append(sink[:0], make([]byte, 1<<20)) // garbage, 1 MiB at a time
		peak = max(peak, inUse())
	}
	sink = nil
	if Cycles() == before {
		t.Fatalf("%d MiB of garbage during a hold and no collection: memory is not bounded", 4*MinHeadroom>>20)
	}
	// A memory limit is soft: the collection starts at it, and the loop
	// allocates on while the collection runs, the more so on a loaded
	// machine (CI under -race once saw 27 MiB). Unbounded, the loop would
	// end 3*MinHeadroom above the limit; bounded, within one MinHeadroom.
	if peak > limit+MinHeadroom {
		t.Errorf("memory in use reached %d during the hold, more than %d over the bound %d", peak, int64(MinHeadroom), limit)
	}
}

// Under the app's own memory limit, lower than the hold's bound, the hold
// keeps it.
func TestHoldKeepsALowerAppLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(inUse() + 16<<20))
	want := debug.SetMemoryLimit(-1)
	release := Hold()
	defer release()
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("limit during the hold = %d, want the app's %d", got, want)
	}
}

// CollectFirst runs in a process of its own, started with the collector
// off so that no cycle can have run before it: the test's own process has
// had many.
func TestCollectFirst(t *testing.T) {
	switch os.Getenv("GCPAUSE_CHILD") {
	case "first":
		if n := Cycles(); n != 0 {
			t.Fatalf("%d collections before the test, with GOGC=off", n)
		}
		if !CollectFirst() || Cycles() != 1 {
			t.Fatalf("CollectFirst in a young process: no collection (count %d)", Cycles())
		}
		if CollectFirst() || Cycles() != 1 {
			t.Fatalf("CollectFirst collected again once a cycle had run (count %d)", Cycles())
		}
		return
	case "held":
		release := Hold()
		defer release()
		if CollectFirst() || Cycles() != 0 {
			t.Fatalf("CollectFirst collected during a hold (count %d)", Cycles())
		}
		return
	}
	for _, mode := range []string{"first", "held"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCollectFirst$", "-test.v")
		cmd.Env = append(os.Environ(), "GCPAUSE_CHILD="+mode, "GOGC=off")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestCollectFirst") {
			t.Errorf("%s: %v\n%s", mode, err, out)
		}
	}
}
