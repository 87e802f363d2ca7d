//go:build !linux

package devrun

import (
	"errors"
	"net/netip"
	"runtime"
)

const canFindListeners = false

// ListeningAddrs needs /proc, which only Linux has: elsewhere the runner
// learns the address from its -addr flag.
func ListeningAddrs(pid int) ([]netip.AddrPort, error) {
	return nil, errors.New("panicroom run cannot see where the app listens on " + runtime.GOOS + ": pass the address the app listens on with -addr host:port")
}
