//go:build linux && (amd64 || arm64)

package backend

import (
	"encoding/binary"
	"strings"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// The app's SIGTRAP guard (package agent, trapguard_linux.go) stands in
// for a dead agent in the debug-call protocol, for the threads named in
// its slots. These methods write and clear those slots, in the app's
// memory, with the app stopped.

const (
	trapSlotCount = wire.TrapSlotCount
	slotTid       = wire.TrapSlotTid
	slotPC        = wire.TrapSlotPC
	slotFlags     = wire.TrapSlotFlags
	slotGoid      = wire.TrapSlotGoid
	slotSize      = wire.TrapSlotSize
)

// armTrap fills a slot for the thread th, stopped in rendezvous, before a
// call is injected from it. It returns the slot's address, or 0 when the
// app has no free slot (16 calls that never returned): the call is then
// made unguarded.
func (sn *session) armTrap(sc *proc.EvalScope, g *proc.G) (uint64, error) {
	if !sn.findTrapSlots(sc) {
		// Not a binary we can guard (the app never started the agent
		// through this package's Start): call unguarded.
		return 0, nil
	}
	th := g.Thread
	regs, err := th.Registers()
	if err != nil {
		return 0, err
	}
	flags, err := trapFlags(sn, regs)
	if err != nil {
		return 0, err
	}
	const size = slotSize
	table, err := sn.readTrapSlots()
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
	addr := sn.trapSlots + uint64(free*size)
	if _, err := sn.t.Memory().WriteMemory(addr, slot[:]); err != nil {
		return 0, err
	}
	return addr, nil
}

// disarmTrap frees the slot of a call that is over.
func (sn *session) disarmTrap(slot uint64) {
	if slot != 0 {
		sn.t.Memory().WriteMemory(slot+uint64(slotTid), make([]byte, 8))
	}
}

// findTrapSlots sets sn.trapSlots, once; false when the app has none.
func (sn *session) findTrapSlots(sc *proc.EvalScope) bool {
	if sn.trapSlots == 0 {
		addr, err := globalAddr(sc, wire.TrapSlotsSymbol)
		if err != nil {
			return false
		}
		sn.trapSlots = addr
	}
	return true
}

func (sn *session) readTrapSlots() ([trapSlotCount * slotSize]byte, error) {
	var table [trapSlotCount * slotSize]byte
	_, err := sn.t.Memory().ReadMemory(table[:], sn.trapSlots)
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
func (sn *session) sweepTrapSlots() {
	// A scope of globals: the table is one, and unwinding the current
	// thread's stack for a ThreadScope cost a millisecond of the stop.
	sc := &proc.EvalScope{BinInfo: sn.t.BinInfo(), Mem: sn.t.Memory()}
	if !sn.findTrapSlots(sc) {
		return
	}
	table, err := sn.readTrapSlots()
	if err != nil {
		return
	}
	for i := 0; i < trapSlotCount; i++ {
		slot := table[i*slotSize:]
		if int64(binary.LittleEndian.Uint64(slot[slotTid:])) <= 0 {
			continue
		}
		if sn.slotInUse(int64(binary.LittleEndian.Uint64(slot[slotGoid:]))) {
			continue
		}
		sn.disarmTrap(sn.trapSlots + uint64(i*slotSize))
	}
}

// slotInUse says whether goroutine goid may still meet a trap of the
// debug-call protocol, or spin's.
func (sn *session) slotInUse(goid int64) bool {
	if goid <= 0 {
		return false // not a slot armTrap wrote
	}
	g, err := proc.FindGoroutine(sn.t, goid)
	if err != nil && strings.HasPrefix(err.Error(), "unknown goroutine") || err == nil && g == nil {
		return false // it exited: no call runs on it
	}
	if err != nil {
		return true
	}
	stack, err := proc.GoroutineStacktrace(sn.t, g, 64, proc.StacktraceSimple)
	if err != nil || len(stack) == 0 {
		return true
	}
	for k, f := range stack {
		if f.Current.Fn == nil {
			continue
		}
		name := f.Current.Fn.Name
		if strings.HasPrefix(name, "runtime.debugCall") || (k == 0 && name == wire.SpinSymbol) {
			return true
		}
	}
	return false
}
