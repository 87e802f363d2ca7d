//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package agent

import (
	"errors"
	"syscall"
)

// agentProcAttr: the kernel kills the agent when the app dies, whatever
// the agent is doing; its own process group keeps a terminal's ^C to the
// app from reaching it.
func agentProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// prSetPtracer is PR_SET_PTRACER ("Yama" in ASCII), not in package syscall.
const prSetPtracer = 0x59616d61

// setPtracer lets pid trace this process under Yama ptrace_scope 1. EINVAL
// means Yama is not in the kernel, and then nothing needs granting.
func setPtracer(pid int) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetPtracer, uintptr(pid), 0, 0, 0, 0)
	if errno != 0 && !errors.Is(errno, syscall.EINVAL) {
		return errno
	}
	return nil
}
