//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package debugger

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"unsafe"

	"github.com/go-delve/delve/pkg/proc"
)

// An agent killed while an injected call runs leaves the call to finish
// with nobody to answer its traps: debugCallV2 and friends in the runtime
// signal each step of the debug-call protocol with a breakpoint (int3 on
// amd64, brk on arm64), and a SIGTRAP from the kernel is fatal to a Go
// program (the runtime's signal table has no notify flag for it, so
// os/signal cannot take it). trapHandler (orphan_linux_ARCH.s) stands in
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
// frees: the next agent clears those at attach (sweepTrapSlots).

const (
	trapSlotCount = 16
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

// The agent writes a trapSlot word by word, in the app's memory.
const (
	slotTid   = int(unsafe.Offsetof(trapSlot{}.tid))
	slotPC    = int(unsafe.Offsetof(trapSlot{}.pc))
	slotFlags = int(unsafe.Offsetof(trapSlot{}.flags))
	slotGoid  = int(unsafe.Offsetof(trapSlot{}.goid))
	slotSize  = int(unsafe.Sizeof(trapSlot{}))
)

// trapSlots is written by the agent with ptrace while the app is stopped
// and read by trapHandler; the agent finds it by name.
var trapSlots [trapSlotCount]trapSlot

// trapChain is the runtime's own SIGTRAP handler.
var trapChain uintptr

const trapSlotsName = `"github.com/panicroom/panicroom/internal/debugger".trapSlots`

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

// armTrap fills a slot for the thread th, stopped in rendezvous, before a
// call is injected from it. It returns the slot's address, or 0 when the
// app has no free slot (16 calls that never returned): the call is then
// made unguarded.
func (tr *tracer) armTrap(sc *proc.EvalScope, g *proc.G) (uint64, error) {
	if !tr.findTrapSlots(sc) {
		// Not a binary we can guard (the app never started the agent
		// through this package's Start): call unguarded.
		return 0, nil
	}
	th := g.Thread
	regs, err := th.Registers()
	if err != nil {
		return 0, err
	}
	flags, err := trapFlags(tr, regs)
	if err != nil {
		return 0, err
	}
	const size = slotSize
	table, err := tr.readTrapSlots()
	if err != nil {
		return 0, err
	}
	free := -1
	for i := 0; i < trapSlotCount; i++ {
		tid := int64(binary.LittleEndian.Uint64(table[i*size+slotTid:]))
		if tid == int64(th.ThreadID()) {
			free = i
			break
		}
		if tid <= 0 && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return 0, nil
	}
	var slot [size]byte
	binary.LittleEndian.PutUint64(slot[slotTid:], uint64(th.ThreadID()))
	binary.LittleEndian.PutUint64(slot[slotPC:], regs.PC())
	binary.LittleEndian.PutUint64(slot[slotFlags:], flags)
	binary.LittleEndian.PutUint64(slot[slotGoid:], uint64(g.ID))
	addr := tr.trapSlots + uint64(free*size)
	if _, err := tr.t.Memory().WriteMemory(addr, slot[:]); err != nil {
		return 0, err
	}
	return addr, nil
}

// disarmTrap frees the slot of a call that is over.
func (tr *tracer) disarmTrap(slot uint64) {
	if slot != 0 {
		tr.t.Memory().WriteMemory(slot+uint64(slotTid), make([]byte, 8))
	}
}

// findTrapSlots sets tr.trapSlots, once; false when the app has none.
func (tr *tracer) findTrapSlots(sc *proc.EvalScope) bool {
	if tr.trapSlots == 0 {
		addr, err := globalAddr(sc, trapSlotsName)
		if err != nil {
			return false
		}
		tr.trapSlots = addr
	}
	return true
}

func (tr *tracer) readTrapSlots() ([trapSlotCount * slotSize]byte, error) {
	var table [trapSlotCount * slotSize]byte
	_, err := tr.t.Memory().ReadMemory(table[:], tr.trapSlots)
	return table, err
}

// sweepTrapSlots frees, at attach with the app stopped, the slots that no
// call needs any more. Delve answers the protocol's traps itself while an
// agent lives, last of all the one that restores the registers (and steps
// out of debugCallV2), and only then does the agent clear the call's
// slot: an agent killed in between leaves a slot whose thread is back in
// rendezvous, for good. The guard would then take an unrelated brk/int3
// of that thread for the protocol's, and such slots fill the table, after
// which calls go unguarded.
//
// A slot is kept while its goroutine still has a frame of the protocol
// (runtime.debugCall*) on its stack, whichever thread that goroutine waits
// on (a call blocked in a channel receive leaves its thread asleep in the
// scheduler, not in debugCall*); or while the goroutine is in spin, which
// traps into the guard with R20 = 32 if a dying debugger left SP lowered
// there. Anything it cannot read, it keeps.
func (tr *tracer) sweepTrapSlots() {
	sc, err := proc.ThreadScope(tr.t, tr.t.CurrentThread())
	if err != nil || !tr.findTrapSlots(sc) {
		return
	}
	table, err := tr.readTrapSlots()
	if err != nil {
		return
	}
	for i := 0; i < trapSlotCount; i++ {
		slot := table[i*slotSize:]
		if int64(binary.LittleEndian.Uint64(slot[slotTid:])) <= 0 {
			continue
		}
		if tr.slotInUse(int64(binary.LittleEndian.Uint64(slot[slotGoid:]))) {
			continue
		}
		tr.disarmTrap(tr.trapSlots + uint64(i*slotSize))
	}
}

// slotInUse says whether goroutine goid may still meet a trap of the
// debug-call protocol, or spin's.
func (tr *tracer) slotInUse(goid int64) bool {
	if goid <= 0 {
		return false // not a slot armTrap wrote
	}
	g, err := proc.FindGoroutine(tr.t, goid)
	if err != nil && strings.HasPrefix(err.Error(), "unknown goroutine") || err == nil && g == nil {
		return false // it exited: no call runs on it
	}
	if err != nil {
		return true
	}
	stack, err := proc.GoroutineStacktrace(tr.t, g, 64, proc.StacktraceSimple)
	if err != nil || len(stack) == 0 {
		return true
	}
	for k, f := range stack {
		if f.Current.Fn == nil {
			continue
		}
		name := f.Current.Fn.Name
		if strings.HasPrefix(name, "runtime.debugCall") || (k == 0 && name == spinName) {
			return true
		}
	}
	return false
}
