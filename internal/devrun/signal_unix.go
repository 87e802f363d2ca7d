//go:build unix

package devrun

import (
	"os"
	"syscall"
)

// forwarded are the signals the runner passes on to the app.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// alreadyDelivered reports whether the kernel sent sig to the app as well
// as to the runner: a Ctrl-C (or Ctrl-\, a hang-up) at the terminal goes
// to the whole foreground process group, which the app shares with the
// runner so that it can read the terminal. Forwarding it again would make
// an app that shuts down gracefully on the first SIGINT quit at once on
// the second.
func alreadyDelivered(sig os.Signal) bool {
	if sig != syscall.SIGINT && sig != syscall.SIGHUP {
		return false
	}
	return inForeground()
}

// exitStatus is the status a shell would report for the app: its exit
// code, or 128 plus the signal that killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
