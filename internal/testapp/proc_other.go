//go:build !unix

package testapp

import (
	"os"
	"os/exec"
)

func ownProcessGroup(cmd *exec.Cmd) {}

// stopGroup kills the app: without process groups and signals there is
// nothing gentler to ask.
func stopGroup(cmd *exec.Cmd, done <-chan struct{}, sig ...os.Signal) (killed bool) {
	cmd.Process.Kill()
	<-done
	cmd.Wait()
	return true
}
