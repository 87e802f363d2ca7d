#include "textflag.h"

// func spin(stop *uint32)
//
// spin waits for *stop, for a millisecond or so at most, and is where the
// agent injects calls. It is a leaf that touches no stack memory and keeps
// its return address in LR, so that an injection finds it as the runtime
// expects an interrupted frameless function. Delve's injection on arm64
// lowers SP by 16, saves LR there and sets LR to the PC, in separate
// ptrace writes; a debugger killed between them leaves spin with the wrong
// SP, the wrong LR, or both. spin keeps both in R2 and R3: it returns by
// R3, and on a wrong SP it traps into the SIGTRAP guard
// (orphan_linux_arm64.s) with R20 = 32, which puts SP back from R2. It
// cannot write SP itself: the runtime's unwinder refuses frames of
// functions that do.
TEXT ·spin(SB),NOSPLIT|NOFRAME,$0-8
	MOVD	stop+0(FP), R0
	MOVD	RSP, R2
	MOVD	R30, R3
	MOVD	$16384, R1
loop:
	YIELD
	MOVWU	(R0), R4
	CBNZW	R4, done
	SUBS	$1, R1, R1
	BNE	loop
done:
	MOVD	RSP, R4
	CMP	R2, R4
	BEQ	ret
	MOVD	$32, R20
	BRK
ret:
	MOVD	R3, R30
	RET
