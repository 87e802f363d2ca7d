//go:build !linux

package procfs

import (
	"errors"
	"net/netip"
	"runtime"
)

// CanFindListeners is true where ListeningAddrs can read a process's
// sockets.
const CanFindListeners = false

// ListeningAddrs needs /proc, which only Linux has.
func ListeningAddrs(pid int) ([]netip.AddrPort, error) {
	return nil, errors.New("cannot see where a process listens on " + runtime.GOOS)
}
