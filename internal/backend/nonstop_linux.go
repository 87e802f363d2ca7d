//go:build linux && (amd64 || arm64)

package backend

import (
	"encoding/binary"
	"fmt"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/panicroom/panicroom/internal/agent/wire"
	"golang.org/x/sys/unix"
)

// Reads of a parked goroutine need not stop the app (DESIGN.md, "where
// speed can come from"): the goroutine waits in read(2), the runtime never
// moves or shrinks the stack of a goroutine in a syscall, and the heap its
// frames reference is kept alive. So after the first stop has unwound its
// stack, the agent keeps the frames (a frozen goroutine) and answers reads,
// expansions and locals from them with process_vm_readv while the app runs:
// no halt of every thread, no ptrace round trips, nothing the app's other
// requests wait for. Calls still stop the app, and so do assignments
// other than those livewrite_linux.go writes while it runs.
//
// Before each such read the agent checks, in the app's memory, that the g
// is still that goroutine (same goid, not dead) and that its stack is
// where it was; otherwise it stops the app as before, and that stop
// unwinds the goroutine afresh.

type frozen struct {
	l *located
	// Addresses in the app of the g's goid, atomicstatus and stack.lo,
	// and the values they must still hold.
	goidAddr, statusAddr, stackLoAddr uint64
	goid                              int64
	stackLo                           uint64
}

const gDead = 6 // runtime._Gdead

// freeze remembers l, just unwound with the app stopped, for reads while
// the app runs.
func (sn *session) freeze(req wire.Scope, l *located) {
	if len(l.stack) == 0 {
		return
	}
	fz := sn.frozen.get(req.Goroutine)
	if fz == nil || fz.goid != l.g.ID {
		sc := sn.scope(l, 0)
		fz = &frozen{goid: l.g.ID}
		var err error
		if fz.goidAddr, err = globalAddr(sc, "runtime.curg.goid"); err != nil {
			return
		}
		if fz.statusAddr, err = globalAddr(sc, "runtime.curg.atomicstatus"); err != nil {
			return
		}
		if fz.stackLoAddr, err = globalAddr(sc, "runtime.curg.stack.lo"); err != nil {
			return
		}
	}
	var b [8]byte
	if _, err := sn.t.Memory().ReadMemory(b[:], fz.stackLoAddr); err != nil {
		return
	}
	fz.stackLo = binary.LittleEndian.Uint64(b[:])
	fz.l = l
	sn.frozen.put(req.Goroutine, fz)
}

// maxFrozen bounds the goroutines whose frames the agent keeps: the app
// parks at most a few dozen panics, and a goroutine unwound long ago is
// released by now, its frames only costing the agent memory.
const maxFrozen = 64

// thaw returns the frozen goroutine of req if it is still parked where it
// was, with its reads going to the running app.
func (sn *session) thaw(req wire.Scope) *located {
	fz := sn.frozen.get(req.Goroutine)
	if fz == nil {
		return nil
	}
	var b [8]byte
	ok := sn.live.read(b[:], fz.goidAddr) && int64(binary.LittleEndian.Uint64(b[:])) == fz.goid &&
		sn.live.read(b[:4], fz.statusAddr) && binary.LittleEndian.Uint32(b[:4])&^0x1000 != gDead &&
		sn.live.read(b[:], fz.stackLoAddr) && binary.LittleEndian.Uint64(b[:]) == fz.stackLo
	if !ok {
		return nil // the stop that follows unwinds it afresh
	}
	l := *fz.l
	l.mem = sn.live
	return &l
}

// readsRunning reports whether req can be answered without stopping the
// app.
func (sn *session) readsRunning(req wire.Request) bool {
	// An abandoned call may end at any moment, and Delve handles that
	// stop on its own goroutine, with the target's state: no reads beside
	// it.
	if !sn.running || len(sn.stuck) > 0 || sn.live == nil {
		return false
	}
	switch {
	case req.Expand != nil, req.Locals != nil:
		return true
	case req.Eval != nil:
		// An assignment may be, if writesRunning agrees.
		return !req.Eval.Call
	}
	return false
}

// liveMemory reads the app's memory with process_vm_readv, which needs no
// stopped thread; it cannot write.
type liveMemory struct{ pid int }

func (m liveMemory) ReadMemory(buf []byte, addr uint64) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err != nil {
		return 0, fmt.Errorf("reading %d bytes at %#x: %w", len(buf), addr, err)
	}
	if n < len(buf) {
		return n, fmt.Errorf("reading %d bytes at %#x: only %d readable", len(buf), addr, n)
	}
	return n, nil
}

func (m liveMemory) WriteMemory(addr uint64, data []byte) (int, error) {
	return 0, fmt.Errorf("writing at %#x: the app is running", addr)
}

func (m liveMemory) read(buf []byte, addr uint64) bool {
	_, err := m.ReadMemory(buf, addr)
	return err == nil
}

var _ proc.MemoryReadWriter = liveMemory{}
