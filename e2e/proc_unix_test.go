//go:build unix

package e2e

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup puts the app in a process group of its own, so that
// stopping it also stops anything it started.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup asks the app to shut down (it releases its parked
// goroutines on SIGTERM), kills the group if it is still there after a
// while, and waits for its standard error to reach EOF before reaping it.
func stopProcessGroup(cmd *exec.Cmd, eof <-chan struct{}) {
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-eof:
	case <-time.After(5 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-eof
	}
	cmd.Wait()
}
