package devrun

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The testdata files are real GOTRACEBACK=all output of Go 1.26.8 on
// linux/amd64, of one program (kept in testdata/crashprog.go.txt) run five
// ways: a background goroutine's panic, concurrent map writes, a deadlock,
// a nil dereference, a panic in a deferred recover.
func readTrace(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/traceback-" + name + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseCrashBackgroundPanic(t *testing.T) {
	// Log lines before the report must not confuse it, nor a line that
	// merely starts like a goroutine header.
	out := "2026/01/02 listening on :8080\ngoroutine 5 is mentioned in a log\n" + readTrace(t, "panic")
	c := ParseCrash(out)
	if c == nil {
		t.Fatal("no crash found")
	}
	if c.Reason != "panic: background job failed: 42" {
		t.Errorf("reason %q", c.Reason)
	}
	if len(c.Goroutines) != 6 {
		t.Fatalf("%d goroutines, want 6: %+v", len(c.Goroutines), c.Goroutines)
	}
	g := c.Goroutines[0]
	if g.ID != 23 || g.State != "running" || len(g.Frames) != 5 {
		t.Fatalf("first goroutine %+v", g)
	}
	if f := g.Frames[0]; f.Function != "main.boom" || f.Args != "0x0" || f.File != "/tmp/tbcap/main.go" || f.Line != 21 {
		t.Errorf("top frame %+v", f)
	}
	if g.CreatedBy == nil || g.CreatedBy.Function != "main.main" || g.CreatedBy.Line != 36 || g.CreatedIn != 1 {
		t.Errorf("created by %+v in %d", g.CreatedBy, g.CreatedIn)
	}
	// Three workers blocked on the same line differ only in their
	// arguments: one group of three.
	var workers *Group
	for i := range c.Groups {
		if c.Groups[i].State == "chan receive" {
			workers = &c.Groups[i]
		}
	}
	if workers == nil || !slices.Equal(workers.IDs, []int{19, 20, 21}) {
		t.Fatalf("workers group %+v", workers)
	}
	if workers.Frames[0].Function != "main.(*T).work" {
		t.Errorf("method frame %q", workers.Frames[0].Function)
	}
	if len(c.Groups) != 4 || !c.Groups[0].Crashed || c.Groups[1].Crashed {
		t.Errorf("groups: %d, crashed flags %v %v", len(c.Groups), c.Groups[0].Crashed, c.Groups[1].Crashed)
	}
}

func TestParseCrashFatalErrors(t *testing.T) {
	for _, tc := range []struct {
		name, reason, topFunc string
		header                int
	}{
		{"map", "fatal error: concurrent map writes", "internal/runtime/maps.fatal", 1},
		{"deadlock", "fatal error: all goroutines are asleep - deadlock!", "main.main", 1},
		{"nil", "panic: runtime error: invalid memory address or nil pointer dereference", "main.main", 2},
		{"recovered", "panic: first [recovered]", "main.main.func4", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ParseCrash(readTrace(t, tc.name))
			if c == nil {
				t.Fatal("no crash")
			}
			if c.Reason != tc.reason || len(c.Header) != tc.header {
				t.Errorf("reason %q header %q", c.Reason, c.Header)
			}
			if got := c.Goroutines[0].Frames[0].Function; got != tc.topFunc {
				t.Errorf("top function %q, want %q", got, tc.topFunc)
			}
			for _, g := range c.Goroutines {
				if len(g.Frames) == 0 && g.Note == "" {
					t.Errorf("goroutine %d has no frames", g.ID)
				}
				for _, f := range g.Frames {
					if f.File == "" || f.Line == 0 {
						t.Errorf("goroutine %d: frame without file:line %+v", g.ID, f)
					}
				}
			}
			n := 0
			for _, g := range c.Groups {
				n += len(g.IDs)
			}
			if n != len(c.Goroutines) {
				t.Errorf("groups hold %d goroutines of %d", n, len(c.Goroutines))
			}
		})
	}
	if c := ParseCrash(readTrace(t, "recovered")); !strings.Contains(c.Header[1], "panic: again: first") {
		t.Errorf("nested panic line lost: %q", c.Header)
	}
	if c := ParseCrash(readTrace(t, "nil")); c.Goroutines[1].Frames[1].Function != "runtime.goexit" || c.Goroutines[1].Frames[0].Line != 29 {
		t.Errorf("frame without a PC offset: %+v", c.Goroutines[1].Frames)
	}
}

func TestParseCrashNone(t *testing.T) {
	for _, out := range []string{"", "2026/01/02 listen tcp :8080: bind: address already in use\n", "exit status 1\n"} {
		if c := ParseCrash(out); c != nil {
			t.Errorf("%q: found a crash %+v", out, c)
		}
	}
	// GOTRACEBACK=none still says why.
	if c := ParseCrash("panic: x\n\n"); c == nil || c.Reason != "panic: x" || len(c.Groups) != 0 {
		t.Errorf("reason-only report: %+v", c)
	}
}
