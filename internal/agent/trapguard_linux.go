//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package agent

import (
	"fmt"
	"syscall"
	"unsafe"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// An agent killed while an injected call runs leaves the call to finish
// with nobody to answer its traps: debugCallV2 and friends in the runtime
// signal each step of the debug-call protocol with a breakpoint (int3 on
// amd64, brk on arm64), and a SIGTRAP from the kernel is fatal to a Go
// program (the runtime's signal table has no notify flag for it, so
// os/signal cannot take it). trapHandler (trapguard_linux_ARCH.s) stands in
// for the dead debugger, for the threads the agent said it was calling
// from, and nothing else.
//
// Before each injection the agent, with the app stopped, writes a slot:
// the thread, the PC the call was injected at (in rendezvous) and the
// flags there (RFLAGS on amd64, PSTATE on arm64), and the goroutine. It
// clears the slot when the call is over. A slot left behind means the
// agent died, or gave up on a call that never returned; either way the
// handler then sees the protocol through, and frees the slot at its last
// step. An agent killed after Delve took the call through that last step
// itself, and before it cleared the slot, leaves a slot that nothing
// frees: the next agent clears those at attach (the backend's
// sweepTrapSlots).

// The agent writes a trapSlot word by word, in the app's memory, at the
// offsets package wire names (a test holds them to this type).
const (
	trapSlotCount = wire.TrapSlotCount
	trapMaxSteps  = 1 << 20
)

type trapSlot struct {
	tid   int64
	pc    uint64
	flags uint64
	steps uint64
	// goid is the goroutine the call was injected on; only the agent
	// reads it (sweepTrapSlots).
	goid int64
}

// trapSlots is written by the agent with ptrace while the app is stopped
// and read by trapHandler; the agent finds it by name.
var trapSlots [trapSlotCount]trapSlot

// trapChain is the runtime's own SIGTRAP handler.
var trapChain uintptr

func trapHandler()
func trapHandlerPC() uintptr

// kernelSigaction is struct sigaction as rt_sigaction takes it.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const saSiginfo = 0x4

// installTrapGuard puts trapHandler in front of the runtime's SIGTRAP
// handler, keeping the runtime's flags, mask and restorer.
func installTrapGuard() error {
	var old kernelSigaction
	if err := rtSigaction(syscall.SIGTRAP, nil, &old); err != nil {
		return err
	}
	if old.handler <= 1 || old.flags&saSiginfo == 0 {
		return fmt.Errorf("SIGTRAP is not handled by the Go runtime (handler %#x, flags %#x)", old.handler, old.flags)
	}
	if old.handler == trapHandlerPC() {
		return nil
	}
	trapChain = old.handler
	nw := old
	nw.handler = trapHandlerPC()
	return rtSigaction(syscall.SIGTRAP, &nw, nil)
}

func rtSigaction(sig syscall.Signal, nw, old *kernelSigaction) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(nw)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
