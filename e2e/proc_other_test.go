//go:build !unix

package e2e

import "os/exec"

func ownProcessGroup(cmd *exec.Cmd) {}

func stopProcessGroup(cmd *exec.Cmd, eof <-chan struct{}) {
	cmd.Process.Kill()
	<-eof
	cmd.Wait()
}
