//go:build !panicroom_noconsole

#include "go_asm.h"
#include "textflag.h"

// Offsets into the kernel's siginfo and ucontext on linux/arm64: the
// sigcontext starts at 176 (uc_flags, uc_link, uc_stack, uc_sigmask and
// the 1024-bit sigset reserve, aligned to 16), its regs[31] after the
// fault address.
#define SI_CODE 8
#define UC_R2 200	// uc_mcontext.regs[2]
#define UC_R20 344	// uc_mcontext.regs[20]
#define UC_R30 424	// uc_mcontext.regs[30], LR
#define UC_SP 432	// uc_mcontext.sp
#define UC_PC 440	// uc_mcontext.pc
#define UC_PSTATE 448	// uc_mcontext.pstate

#define TRAP_BRKPT $1
#define BRK0 $0xd4200000	// brk #0, the runtime's BREAK on Linux

#define SLOT_TID trapSlot_tid
#define SLOT_FLAGS trapSlot_flags
#define SLOT_STEPS trapSlot_steps
#define SLOT_SIZE trapSlot__size

// trapHandler is the SIGTRAP handler while the agent may inject calls.
// The kernel enters it as a C function: R0 = signal, R1 = *siginfo,
// R2 = *ucontext, LR = the way back through rt_sigreturn. It never
// touches the stack and keeps R0-R2 and LR for the runtime's own handler,
// to which it hands every signal that is not an orphaned debug-call trap,
// untouched.
//
// The runtime's debug-call protocol on arm64 (debugCallV2 in
// src/runtime/asm_arm64.s) says which step a brk is in R20, and the brk
// does not advance the PC: the debugger resumes at PC+4. No step needs
// single-stepping, unlike amd64: nothing after the last trap changes the
// flags.
TEXT ·trapHandler(SB),NOSPLIT|NOFRAME,$0
	MOVD	R0, R9
	MOVD	$178, R8	// gettid; SVC changes R0 only
	SVC
	MOVD	R0, R10
	MOVD	R9, R0
	MOVD	$·trapSlots(SB), R11
	MOVD	$const_trapSlotCount, R12
find:
	MOVD	SLOT_TID(R11), R13
	CMP	R10, R13
	BEQ	found
	ADD	$SLOT_SIZE, R11, R11
	SUBS	$1, R12, R12
	BNE	find
	B	chain

found:
	// steps counts the traps the thread sent here, for tests' messages:
	// an orphaned call takes three at most (0, 1, 16).
	MOVD	SLOT_STEPS(R11), R13
	ADD	$1, R13, R13
	MOVD	R13, SLOT_STEPS(R11)
	MOVW	SI_CODE(R1), R13
	CMPW	TRAP_BRKPT, R13
	BNE	chain
	MOVD	UC_PC(R2), R14
	MOVWU	(R14), R13
	MOVD	BRK0, R15
	CMPW	R15, R13
	BNE	chain
	MOVD	UC_R20(R2), R13
	CMP	$0, R13
	BEQ	skip
	CMP	$1, R13
	BEQ	returned
	CMP	$2, R13
	BEQ	skip
	CMP	$8, R13
	BEQ	skip
	CMP	$16, R13
	BEQ	restore
	CMP	$32, R13
	BEQ	spsave
	B	chain

returned:
	// 1: the call returned into debugCallN, or was skipped. The debugger
	// had set LR to the instruction after trap 0 for the function to
	// return there, and debugCallN's epilogue returns by LR without
	// reloading it: put back the LR its prologue saved at (SP), as the
	// debugger does (Delve's callInjectionComplete2). Without it the
	// thread returned to trap 1 again, forever.
	MOVD	UC_SP(R2), R13
	MOVD	(R13), R13
	MOVD	R13, UC_R30(R2)

skip:
	// 0: the arguments are wanted, so the call is skipped; 1: the call
	// returned, its results are dropped; 2: it panicked; 8: the runtime
	// refused it. Each time the debugger would resume past the brk, and
	// the runtime unwinds the call as usual.
	ADD	$4, R14, R14
	MOVD	R14, UC_PC(R2)
	RET

restore:
	// 16: restore the registers. debugCallV2 reloads the general ones
	// itself, and its tail keeps the flags: put back the condition flags
	// (NZCV) the rendezvous had, and free the slot, as the thread now
	// returns there.
	MOVD	SLOT_FLAGS(R11), R13
	MOVD	UC_PSTATE(R2), R15
	AND	$0xf0000000, R13, R13
	AND	$~0xf0000000, R15, R15
	ORR	R13, R15, R15
	MOVD	R15, UC_PSTATE(R2)
	ADD	$4, R14, R14
	MOVD	R14, UC_PC(R2)
	MOVD	ZR, SLOT_TID(R11)
	RET

spsave:
	// 32 is spin's, not the runtime's: it found SP lowered by a debugger
	// that died setting up an injection, or putting the registers back
	// after one (Delve restores the ones it saved, SP lowered, before it
	// sets PC and SP back), and kept the right SP in R2. The thread is
	// back in the rendezvous either way: free the slot.
	MOVD	UC_R2(R2), R13
	MOVD	R13, UC_SP(R2)
	ADD	$4, R14, R14
	MOVD	R14, UC_PC(R2)
	MOVD	ZR, SLOT_TID(R11)
	RET

chain:
	MOVD	$·trapChain(SB), R9
	MOVD	(R9), R9
	B	(R9)

// func trapHandlerPC() uintptr
TEXT ·trapHandlerPC(SB),NOSPLIT,$0-8
	MOVD	$·trapHandler(SB), R0
	MOVD	R0, ret+0(FP)
	RET
