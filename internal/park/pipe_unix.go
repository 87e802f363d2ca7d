//go:build unix && !linux

package park

import "syscall"

type handle = int

// pipe takes syscall.ForkLock as os.Pipe does where pipe2 is missing: a
// fork between pipe and the close-on-exec flags would leak the descriptors
// into the child, which would then hold the write end open.
func pipe() (r, w handle, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(p[:]); err != nil {
		return -1, -1, err
	}
	syscall.CloseOnExec(p[0])
	syscall.CloseOnExec(p[1])
	return p[0], p[1], nil
}
