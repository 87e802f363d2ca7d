#include "textflag.h"

// func spin(stop *uint32)
//
// spin waits for *stop, for a millisecond or so at most, and is where the
// agent injects calls. Its loop touches no stack memory. A debugger killed
// halfway through pushing the return address of an injection (SP lowered
// by a word, the PC still here) leaves it with the wrong SP to return by:
// spin notices against the SP it kept in DX and traps into the SIGTRAP
// guard (orphan_linux_amd64.s), which puts SP back. It cannot write SP
// itself: the runtime's unwinder refuses frames of functions that do.
TEXT ·spin(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ	stop+0(FP), AX
	MOVQ	SP, DX
	MOVQ	$16384, CX
loop:
	PAUSE
	MOVL	(AX), BX
	TESTL	BX, BX
	JNE	done
	DECQ	CX
	JNZ	loop
done:
	CMPQ	SP, DX
	JEQ	ret
	MOVQ	$32, R12
	BYTE	$0xcc
ret:
	RET
