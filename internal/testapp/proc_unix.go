//go:build unix

package testapp

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup signals the whole group (SIGTERM unless told otherwise), kills
// it if it is still there after 5 s, waits for done (standard error at EOF)
// and reaps the app.
func stopGroup(cmd *exec.Cmd, done <-chan struct{}, sig ...os.Signal) (killed bool) {
	s := syscall.SIGTERM
	if len(sig) > 0 {
		s = sig[0].(syscall.Signal)
	}
	pgid := -cmd.Process.Pid
	syscall.Kill(pgid, s)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		killed = true
		syscall.Kill(pgid, syscall.SIGKILL)
		<-done
	}
	cmd.Wait()
	return killed
}
