//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package devrun

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// inForeground reports whether the runner's process group is the
// terminal's foreground group, the one a Ctrl-C is sent to.
func inForeground() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer f.Close()
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}
