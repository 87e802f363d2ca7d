package agent_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestKeepAliveDeadFrames: heap objects that only the dead frames of a
// parked panic refer to survive collections and the reuse of freed
// memory, because the snapshot's keep-alive pointers are stored in the
// parked record (trap 1 of DESIGN.md). Without the keep-alive
// (PANICROOM_FIXTURE_NO_KEEPALIVE=1 in the environment of go test) every
// run fails: with GODEBUG=clobberfree=1 the collector overwrites what it
// frees; without it, the churn's look-alike garbage reuses it.
func TestKeepAliveDeadFrames(t *testing.T) {
	for _, godebug := range []string{"clobberfree=1", "clobberfree=0"} {
		t.Run(godebug, func(t *testing.T) {
			t.Parallel()
			testKeepAlive(t, "GODEBUG="+godebug)
		})
	}
}

func testKeepAlive(t *testing.T, env string) {
	f := startFixture(t, env)
	for it := 1; it <= 4; it++ {
		id := fmt.Sprintf("dead-%d", it)
		seed := 10*it + 1
		f.do(command{Op: "panic-dead", Panic: id, N: seed})
		if r := f.do(command{Op: "snapshot", Panic: id}); r.Err != nil {
			t.Fatalf("%s: snapshot: %v", id, r.Err)
		}
		kept := strings.Fields(f.do(command{Op: "kept", Panic: id}).Other)
		if len(kept) == 0 || kept[0] != "1" {
			t.Fatalf("%s: KeepAlive was called %v times, want once", id, kept)
		}
		ptrs := map[string]bool{}
		for _, p := range kept[1:] {
			ptrs[p] = true
		}
		// The stack is never kept; the heap object store points to is.
		if sp := f.mustEval(id, 1, "sp").Value; ptrs[sp] {
			t.Errorf("%s: the stack address sp=%s was kept", id, sp)
		}
		if h := f.mustEval(id, 1, "h").Value; ptrs[h] {
			t.Errorf("%s: the stack address h=%s was kept", id, h)
		}
		if st := f.mustEval(id, 1, "store").Value; !ptrs[st] {
			t.Errorf("%s: store=%s is not among the %d kept pointers", id, st, len(ptrs))
		}

		for round := 0; round < 3; round++ {
			f.do(command{Op: "churn"})
			checks := []struct{ expr, want string }{
				{"len(store.users)", "5"},
				{"store.users[1].Name", strconv.Quote(fmt.Sprintf("user-%d-1", seed))},
				{"store.users[3].age", "23"},
				{"store.users[5].Tags[0]", strconv.Quote(fmt.Sprintf("tag-%d-5", seed))},
				{"store.blob[1999]", strconv.Itoa(int(byte(1999*7 + seed)))},
				{"store.notes[0]", strconv.Quote(fmt.Sprintf("note-%d", seed))},
				{`counts["beta"]`, strconv.Itoa(2 * seed)},
				{"name", strconv.Quote(fmt.Sprintf("dead-%d", seed))},
				{"sp[1]", strconv.Itoa(seed)},
				{"h.data[299]", strconv.Itoa(299 * seed)},
				{"*h.name", strconv.Quote(fmt.Sprintf("dead-%d", seed))},
				{"iface.(*main.User).Name", strconv.Quote(fmt.Sprintf("boxed-%d", seed))},
			}
			for _, c := range checks {
				r := f.eval(id, 1, c.expr)
				switch {
				case r.Err != nil:
					t.Errorf("%s round %d: %s: %v", id, round, c.expr, r.Err)
				case r.Value.Value != c.want:
					t.Errorf("%s round %d: %s = %s, want %s", id, round, c.expr, r.Value.Value, c.want)
				}
			}
		}
		if t.Failed() {
			return
		}
	}
}

// TestKeepAliveSkipsFreed: when the dead frames' objects were freed before
// the snapshot (two collections between the panic and Register), none of
// their addresses may be kept: the app would store pointers to free heap
// memory, which the collector can crash on once the span is reused.
// Collections and churn afterwards must leave the app alive.
func TestKeepAliveSkipsFreed(t *testing.T) {
	f := startFixture(t, "GODEBUG=clobberfree=1")
	f.do(command{Op: "panic-dead", Panic: "freed", N: 5, Expr: "free-first"})
	if r := f.do(command{Op: "snapshot", Panic: "freed"}); r.Err != nil {
		t.Fatalf("snapshot: %v", r.Err)
	}
	kept := strings.Fields(f.do(command{Op: "kept", Panic: "freed"}).Other)
	if len(kept) == 0 || kept[0] != "1" {
		t.Fatalf("KeepAlive was called %v times, want once", kept)
	}
	ptrs := map[string]bool{}
	for _, p := range kept[1:] {
		ptrs[p] = true
	}
	// clobberfree overwrote the freed Store: its map is gone.
	if r := f.eval("freed", 1, "len(store.users)"); r.Err == nil && r.Value.Value == "5" {
		t.Fatalf("the Store was not freed by the collections before Register; the test proves nothing")
	}
	if st := f.mustEval("freed", 1, "store").Value; ptrs[st] {
		t.Errorf("the freed store=%s was kept (kept: %v)", st, kept[1:])
	}
	for i := 0; i < 3; i++ {
		f.do(command{Op: "churn"})
	}
	alive(t, f)
}
