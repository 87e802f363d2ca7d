package backend

import (
	"encoding/binary"

	"github.com/go-delve/delve/pkg/proc"
)

// Offsets in runtime.debugCallV2's frame on arm64 (src/runtime/asm_arm64.s),
// from its SP once its prologue has run: it stores (R29, R30) at -280 from
// the SP it was entered with and lowers SP by 272, so the caller's PC (the
// R30 the debugger set) is at 0 and its R29 at -8; the debugger had lowered
// SP by 16 before entering it and saved the interrupted function's LR at
// the bottom of those 16 bytes.
const (
	arm64DebugCallFrame = 272
	arm64DebugCallPush  = 16
)

// fixInjectedFrames unwinds again, on arm64, the frames below a call that
// Delve injected and that is still on the goroutine's stack (a call that
// never returned, waiting in debugCallWrap). Delve's unwinder takes the
// caller of runtime.debugCallV2 to be at the CFA debugCallV2's frame
// describes, without the 16 bytes the debugger pushed before entering it:
// the runtime's own unwinder adds them (traceback.go, for every injected
// call on link-register machines), Delve only does for sigpanic. Every
// frame below came out 16 bytes off, and a read of a local there gave a
// neighbour's value (10 for 7 in TestCallDeadline). The frames are read
// again from the registers the frame holds, as the runtime reads them.
func fixInjectedFrames(t *proc.Target, g *proc.G, stack []proc.Stackframe, depth int) []proc.Stackframe {
	if t.BinInfo().Arch.Name != "arm64" {
		return stack
	}
	// k > 0: debugCallV2 has called something and its frame is laid out.
	// Innermost, it is at one of its protocol traps, which Delve steps
	// through itself.
	for k := 1; k < len(stack)-1; k++ {
		fn := stack[k].Current.Fn
		if fn == nil || fn.Name != "runtime.debugCallV2" {
			continue
		}
		sp := stack[k].Regs.SP()
		word := func(addr uint64) (uint64, bool) {
			var b [8]byte
			_, err := t.Memory().ReadMemory(b[:], addr)
			return binary.LittleEndian.Uint64(b[:]), err == nil
		}
		pc, ok1 := word(sp)
		fp, ok2 := word(sp - 8)
		callerSP := sp + arm64DebugCallFrame + arm64DebugCallPush
		lr, ok3 := word(callerSP - arm64DebugCallPush)
		if !ok1 || !ok2 || !ok3 {
			return stack
		}
		caller := *g
		caller.Thread = nil
		caller.PC, caller.SP, caller.BP, caller.LR = pc, callerSP, fp, lr
		// StacktraceSimple: not the stack Delve caches for g.
		rest, err := proc.GoroutineStacktrace(t, &caller, depth-k-1, proc.StacktraceSimple)
		if err != nil || len(rest) == 0 || rest[0].Current.PC != pc {
			return stack
		}
		// A call injected while another was stopped at a step of the
		// protocol (Delve pins results so) has a second debugCallV2 below.
		rest = fixInjectedFrames(t, &caller, rest, depth-k-1)
		return append(stack[:k+1:k+1], rest...)
	}
	return stack
}
