//go:build linux && (amd64 || arm64)

package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/internal/testapp"
)

// sleeper is an app to attach to: it resolves a name, so that with cgo
// on it links libc and the preload of shared libraries has work to do.
const sleeper = `package main

import (
	"net"
	"time"
)

func main() {
	net.LookupHost("localhost")
	time.Sleep(time.Minute)
}
`

// TestAttachPreloaded: Delve uses the debug information read before the
// stop instead of reading it again inside it (the images are the very
// ones preload loaded), finds the app's goroutines and globals through
// it, and the app runs on after the detach.
func TestAttachPreloaded(t *testing.T) {
	testapp.NeedGo(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(sleeper), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "sleeper")
	build := exec.Command("go", "build", "-o", exe, "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the app to attach to: %v\n%s", err, out)
	}
	cmd := exec.Command(exe)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	pid := cmd.Process.Pid
	time.Sleep(200 * time.Millisecond) // past the runtime's start-up and the lookup

	bi, err := preload(pid)
	if err != nil {
		t.Fatalf("preload: %v", err)
	}
	if len(bi.LookupFunc()["runtime.main"]) == 0 {
		t.Fatal("preload: runtime.main not found")
	}
	heap, err := preloadHeapLayout(bi, pid)
	if err != nil || heap.mheapAddr == 0 || heap.spanSize == 0 {
		t.Fatalf("preloadHeapLayout = %+v, %v", heap, err)
	}
	preloaded := append([]*proc.Image(nil), bi.Images...)
	w := prepareStop(bi, runningProcess{bi: bi, mem: liveMemory{pid: pid}})
	if runtime.GOARCH == "amd64" && w.allgs == 0 {
		t.Error("prepareStop found no goroutine table: the stop reads the DWARF for it (a Delve upgrade renamed what it sets?)")
	}

	grp, err := attachPreloaded(pid, bi, w)
	if err != nil {
		t.Fatalf("attachPreloaded: %v", err)
	}
	// What Delve's own attach would have set up inside the stop: its
	// goroutine table, the current goroutine, its breakpoints; and the
	// image's DWARF is back.
	img := grp.Selected.BinInfo().Images[0]
	rdr := img.DwarfReader()
	allglen, err1 := rdr.AddrFor("runtime.allglen", img.StaticBase, 8)
	rdr.Seek(0)
	allgs, err2 := rdr.AddrFor("runtime.allgs", img.StaticBase, 8)
	gc := field(grp.Selected, "gcache")
	if err1 != nil || err2 != nil || gc.FieldByName("allglenAddr").Uint() != allglen || gc.FieldByName("allgentryAddr").Uint() != allgs {
		t.Errorf("goroutine table at %#x/%#x, the DWARF says %#x/%#x (%v, %v)", gc.FieldByName("allglenAddr").Uint(), gc.FieldByName("allgentryAddr").Uint(), allglen, allgs, err1, err2)
	}
	// (A thread of a sleeping app runs no goroutine: GetG says so, and
	// there is no current one.)
	if g, _ := proc.GetG(grp.Selected.CurrentThread()); (g == nil) != (grp.Selected.SelectedGoroutine() == nil) || g != nil && g.ID != grp.Selected.SelectedGoroutine().ID {
		t.Errorf("the current goroutine is %+v; the current thread's is %+v", grp.Selected.SelectedGoroutine(), g)
	}
	for _, fn := range []string{"runtime.fatalpanic", "runtime.throw", "runtime.fatal"} {
		pcs, err := proc.FindFunctionLocation(grp.Selected, fn, 0)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if grp.Selected.Breakpoints().M[pcs[0]] == nil {
			t.Errorf("Delve's breakpoint on %s is missing", fn)
		}
	}
	got := grp.Selected.BinInfo().Images
	if len(got) != len(preloaded) {
		t.Errorf("Delve holds %d images, preload loaded %d: it read some inside the stop", len(got), len(preloaded))
	}
	for i := range min(len(got), len(preloaded)) {
		if got[i] != preloaded[i] {
			t.Errorf("image %d (%s) was loaded again inside the stop", i, got[i].Path)
		}
	}
	gs, _, err := proc.GoroutinesInfo(grp.Selected, 0, 0)
	if err != nil || len(gs) == 0 {
		t.Errorf("goroutines: %d, %v", len(gs), err)
	}
	sc, err := proc.ThreadScope(grp.Selected, grp.Selected.CurrentThread())
	if err != nil {
		t.Fatal(err)
	}
	if stopped, err := loadHeapLayout(grp.Selected.BinInfo(), sc); err != nil || *stopped != *heap {
		t.Errorf("heap layout read while running %+v, in the stop %+v (%v)", *heap, stopped, err)
	}
	if v, err := sc.EvalExpression("len(runtime.allgs)", proc.LoadConfig{}); err != nil || v.Value == nil || v.Value.String() == "0" {
		t.Errorf("len(runtime.allgs) = %v, %v", v, err)
	}
	t.Logf("%d images preloaded", len(preloaded))
	if err := grp.Detach(false); err != nil {
		t.Fatalf("detach: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if s := procfs.State(pid); s == 'T' || s == 't' || s == 0 {
		t.Fatalf("after the detach the app's state is %q, want running or sleeping", s)
	}
}
