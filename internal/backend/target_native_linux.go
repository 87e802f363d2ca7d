//go:build linux && (amd64 || arm64)

package backend

import (
	"github.com/go-delve/delve/pkg/proc"
	"github.com/go-delve/delve/pkg/proc/native"
	"github.com/panicroom/panicroom/internal/agent/wire"
)

// newTarget returns the backend named by chooseBackend.
func newTarget(name string) target {
	if name == wire.BackendStub {
		return stubTarget{}
	}
	return nativeTarget{}
}

// nativeTarget is Delve's ptrace backend: the agent is the app's tracer,
// and reads while the app runs go through process_vm_readv
// (nonstop_linux.go).
type nativeTarget struct{}

// attach reads the binary's debug information and the heap layout while
// the app runs, and only then stops it (attach_linux.go).
func (nativeTarget) attach(pid int) (*proc.TargetGroup, *heapLayout, error) {
	bi, err := preload(pid)
	if err != nil {
		// Delve reads what it needs itself, with the app stopped.
		grp, err := native.Attach(pid, nil, nil)
		return grp, nil, err
	}
	heap, _ := preloadHeapLayout(bi, pid) // else read in the stop
	w := prepareStop(bi, runningProcess{bi: bi, mem: liveMemory{pid: pid}})
	grp, err := attachPreloaded(pid, bi, w)
	return grp, heap, err
}

func (nativeTarget) liveMemory(pid int) liveReader { return liveMemory{pid: pid} }

func (nativeTarget) explainAttach(err error, pid int) (string, string) {
	return explainAttach(err, pid)
}

func (nativeTarget) stopped(error) string { return "" }
