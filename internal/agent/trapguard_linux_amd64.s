//go:build !panicroom_noconsole

#include "go_asm.h"
#include "textflag.h"

// Offsets into the kernel's siginfo and ucontext on linux/amd64.
#define SI_CODE 8
#define UC_R12 72	// uc_mcontext.gregs[REG_R12]
#define UC_RBP 120	// uc_mcontext.gregs[REG_RBP]
#define UC_RDX 136	// uc_mcontext.gregs[REG_RDX]
#define UC_RSP 160	// uc_mcontext.gregs[REG_RSP]
#define UC_RIP 168	// uc_mcontext.gregs[REG_RIP]
#define UC_EFL 176	// uc_mcontext.gregs[REG_EFL]

#define TF $0x100	// EFLAGS trap flag: single step
#define SI_KERNEL $0x80
#define TRAP_TRACE $2

#define SLOT_TID trapSlot_tid
#define SLOT_PC trapSlot_pc
#define SLOT_FLAGS trapSlot_flags
#define SLOT_STEPS trapSlot_steps
#define SLOT_SIZE trapSlot__size

// trapHandler is the SIGTRAP handler while the agent may inject calls.
// The kernel enters it as a C function: DI = signal, SI = *siginfo,
// DX = *ucontext. It only touches caller-saved registers and never the
// stack, and it hands every signal that is not an orphaned debug-call trap
// to the runtime's own handler, untouched.
TEXT ·trapHandler(SB),NOSPLIT|NOFRAME,$0
	MOVL	$186, AX	// gettid; SYSCALL keeps DI, SI and DX
	SYSCALL
	LEAQ	·trapSlots(SB), R8
	MOVQ	$const_trapSlotCount, CX
find:
	CMPQ	SLOT_TID(R8), AX
	JEQ	found
	ADDQ	$SLOT_SIZE, R8
	DECQ	CX
	JNZ	find
	JMP	chain

found:
	MOVL	SI_CODE(SI), CX
	CMPL	CX, SI_KERNEL
	JEQ	int3
	CMPL	CX, TRAP_TRACE
	JEQ	step
	JMP	chain

int3:
	// The int3 of a debug call (RIP is past it), R12 saying which step
	// of the protocol it is. With no debugger to answer, the call is
	// skipped or its results dropped, and the runtime unwinds it as usual.
	MOVQ	UC_RIP(DX), R10
	CMPB	-1(R10), $0xcc
	JNE	chain
	MOVQ	UC_R12(DX), R11
	CMPQ	R11, $1
	JEQ	returned
	CMPQ	R11, $16
	JEQ	restore
	CMPQ	R11, $32
	JEQ	spsave
	RET	// 0: args wanted; 2: the call panicked; 8: refused

spsave:
	// 32 is spin's, not the runtime's: it found SP lowered by a debugger
	// that died pushing an injection's return address, and kept the right
	// SP in DX.
	MOVQ	UC_RDX(DX), R10
	MOVQ	R10, UC_RSP(DX)
	RET

returned:
	// 1: back in debugCallN from the function, or never left it. The
	// debugger may have died halfway through pushing the return address
	// for the call (SP lowered, the address not yet written), so return
	// by the frame pointer, which it never touches, rather than by SP:
	// what the epilogue of debugCallN (ADDQ; POPQ BP; RET) would do.
	MOVQ	UC_RBP(DX), R11
	MOVQ	8(R11), R10
	MOVQ	R10, UC_RIP(DX)
	LEAQ	16(R11), R10
	MOVQ	R10, UC_RSP(DX)
	MOVQ	0(R11), R10
	MOVQ	R10, UC_RBP(DX)
	RET

restore:
	// 16: restore the registers. debugCallV2 reloads the general ones
	// itself, so only the flags remain, and its tail changes them again:
	// single-step to the return into the rendezvous and restore them
	// there, as Delve does.
	MOVQ	$0, SLOT_STEPS(R8)
	ORQ	TF, UC_EFL(DX)
	RET

step:
	MOVQ	UC_RIP(DX), R10
	CMPQ	R10, SLOT_PC(R8)
	JEQ	back
	INCQ	SLOT_STEPS(R8)
	CMPQ	SLOT_STEPS(R8), $const_trapMaxSteps
	JAE	giveup
	ORQ	TF, UC_EFL(DX)
	RET
back:
	MOVQ	SLOT_FLAGS(R8), R10
	MOVQ	R10, UC_EFL(DX)
	MOVQ	$0, SLOT_TID(R8)
	RET
giveup:
	// Never seen; it only bounds the cost of a protocol we misread.
	ANDQ	$~0x100, UC_EFL(DX)
	MOVQ	$-1, SLOT_TID(R8)	// a mark for tests: not the way back
	RET

chain:
	MOVQ	·trapChain(SB), AX
	JMP	AX

// func trapHandlerPC() uintptr
TEXT ·trapHandlerPC(SB),NOSPLIT,$0-8
	LEAQ	·trapHandler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
