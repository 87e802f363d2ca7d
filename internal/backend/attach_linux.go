//go:build linux && (amd64 || arm64)

package backend

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"time"
	_ "unsafe" // go:linkname

	"github.com/go-delve/delve/pkg/proc"
	"github.com/go-delve/delve/pkg/proc/linutil"
	"github.com/go-delve/delve/pkg/proc/native"
	"golang.org/x/sys/unix"

	"github.com/panicroom/panicroom/internal/procfs"
)

// Delve's native.Attach stops the app (PTRACE_ATTACH, a SIGSTOP for the
// whole thread group) and only then reads the binary's debug information:
// about 0.2-0.6 s of DWARF parsing on two cores, during which every
// request to the app waits. The binary is on disk and does not change
// while the app runs, so attachPreloaded reads it first, with the app
// running, and hands Delve a BinaryInfo that already holds the image:
// BinaryInfo.AddImage returns at once for an image it holds at the same
// path and entry point; prepareStop (stopwork_linux.go) does the rest of
// what Delve would read inside the stop, and the stop shrinks to attaching
// the threads (~7 ms on two cores, from ~75 ms with the DWARF preloaded
// and 0.3-0.7 s without).
//
// native has no way to pass a loaded BinaryInfo, so attachPreloaded is
// native.Attach (delve v1.27.2, pkg/proc/native/proc_linux.go) rebuilt
// from its unexported parts through go:linkname: a change of those parts'
// names or signatures in a Delve upgrade fails the link (names) or
// TestAttachPreloaded (behaviour); attach falls back to native.Attach
// whenever the preload fails.

type nativeProcess struct{} // opaque: only ever a *native.nativeProcess

//go:linkname nativeNewProcess github.com/go-delve/delve/pkg/proc/native.newProcess
func nativeNewProcess(pid int) *nativeProcess

//go:linkname nativeBinInfo github.com/go-delve/delve/pkg/proc/native.(*nativeProcess).BinInfo
func nativeBinInfo(dbp *nativeProcess) *proc.BinaryInfo

//go:linkname nativeExecPtraceFunc github.com/go-delve/delve/pkg/proc/native.(*nativeProcess).execPtraceFunc
func nativeExecPtraceFunc(dbp *nativeProcess, fn func())

//go:linkname nativeInitialize github.com/go-delve/delve/pkg/proc/native.(*nativeProcess).initialize
func nativeInitialize(dbp *nativeProcess, path string, debugInfoDirs []string) (*proc.TargetGroup, error)

//go:linkname nativeDetachWithoutGroup github.com/go-delve/delve/pkg/proc/native.detachWithoutGroup
func nativeDetachWithoutGroup(dbp *nativeProcess, kill bool) error

// Keeps native.Attach, and with it every function above, in the binary.
var _ = native.Attach

// preload reads the debug information of pid's executable as Delve's
// attach would, without stopping pid.
func preload(pid int) (*proc.BinaryInfo, error) {
	// The path native.Attach gives Delve; AddImage compares it as a string.
	path := "/proc/" + strconv.Itoa(pid) + "/exe"
	bi := proc.NewBinaryInfo(runtime.GOOS, runtime.GOARCH, true)
	auxv, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/auxv")
	if err != nil {
		return nil, fmt.Errorf("reading the app's auxiliary vector: %w", err)
	}
	entry := linutil.EntryPointFromAuxv(auxv, bi.Arch.PtrSize())
	if err := bi.LoadBinaryInfo(path, entry, nil); err != nil {
		return nil, err
	}
	// Delve's attach reads the dynamic linker's list of shared libraries
	// (libc and ld.so when the app uses cgo, as net does by default) and
	// loads each library's symbols; read them now, from the running app's
	// memory, so that Delve finds them loaded.
	if err := preloadSharedObjects(bi, pid); err != nil {
		return nil, fmt.Errorf("reading the app's shared libraries: %w", err)
	}
	// Built on first use; first use would be inside the stop.
	bi.LookupFunc()
	return bi, nil
}

// preloadSharedObjects is linutil.ElfUpdateSharedObjects on the running
// app, which reads only the BinaryInfo and memory of the process.
func preloadSharedObjects(bi *proc.BinaryInfo, pid int) (err error) {
	defer func() {
		// A Delve that needs more of the process than this one gives
		// costs the preload of the libraries, not the agent.
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return linutil.ElfUpdateSharedObjects(runningProcess{bi: bi, mem: liveMemory{pid: pid}})
}

// waitAttached waits for the stop PTRACE_ATTACH asked of pid's main
// thread. Delve's wait for a thread group's leader polls (a blocking
// wait4 on a leader that has exited, leaving other threads, never
// returns) and sleeps 200 ms between polls, so whenever the SIGSTOP had
// not arrived at the first poll, the app stood stopped for 200 ms more
// (two start-ups in five, measured). This polls the same way, from 50 µs
// up to 5 ms apart.
func waitAttached(pid int) error {
	for d := 50 * time.Microsecond; ; d = min(2*d, 5*time.Millisecond) {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG|unix.WALL, nil)
		if err != nil {
			return err
		}
		if wpid != 0 {
			return nil
		}
		if procfs.State(pid) == 'Z' {
			return fmt.Errorf("the app's main thread exited (process %d is a zombie)", pid)
		}
		time.Sleep(d)
	}
}

// runningProcess answers BinInfo and Memory; any other method panics
// (nil Process).
type runningProcess struct {
	proc.Process
	bi  *proc.BinaryInfo
	mem liveMemory
}

func (p runningProcess) BinInfo() *proc.BinaryInfo     { return p.bi }
func (p runningProcess) Memory() proc.MemoryReadWriter { return p.mem }

// attachPreloaded is native.Attach with bi, from preload, as the
// process's debug information, and w, from prepareStop, as what is known
// of the stop's work.
func attachPreloaded(pid int, bi *proc.BinaryInfo, w stopWork) (*proc.TargetGroup, error) {
	dbp := nativeNewProcess(pid)
	// A copy of the struct, not of the pointer: dbp's field is unexported.
	// Nothing else refers to either BinaryInfo yet.
	reflect.ValueOf(nativeBinInfo(dbp)).Elem().Set(reflect.ValueOf(bi).Elem())
	var err error
	nativeExecPtraceFunc(dbp, func() { err = unix.PtraceAttach(pid) })
	if err != nil {
		return nil, err
	}
	if err := waitAttached(pid); err != nil {
		return nil, err
	}
	grp, err := initializeWith(dbp, bi, "/proc/"+strconv.Itoa(pid)+"/exe", w)
	if err != nil {
		nativeDetachWithoutGroup(dbp, false)
		return nil, err
	}
	// native.Attach goes on with linutil.ElfUpdateSharedObjects, which has
	// nothing to do for a binary without a dynamic section (Go's default
	// static build), and setupSharedLibBreakpoint, only for a binary that
	// is not Go's.
	if bi := grp.Selected.BinInfo(); bi.ElfDynamicSection.Addr != 0 {
		if err := linutil.ElfUpdateSharedObjects(grp.Selected); err != nil {
			grp.Detach(false)
			return nil, err
		}
	}
	return grp, nil
}

// preloadHeapLayout is loadHeapLayout on the running app, with a scope
// that has no target (globals only).
func preloadHeapLayout(bi *proc.BinaryInfo, pid int) (l *heapLayout, err error) {
	defer func() {
		if r := recover(); r != nil {
			l, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return loadHeapLayout(bi, &proc.EvalScope{BinInfo: bi, Mem: liveMemory{pid: pid}})
}
