#include "textflag.h"

// func spin(stop *uint32)
//
// spin waits for *stop, for a millisecond or so at most, and is where the
// agent injects calls. It keeps SP in DX and returns with it, so that a
// debugger killed halfway through pushing the return address of an
// injection (SP lowered, the address perhaps not written, the PC still
// here) leaves nothing wrong behind: the loop touches no stack memory, and
// the return is by the saved SP.
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
	MOVQ	DX, SP
	RET
