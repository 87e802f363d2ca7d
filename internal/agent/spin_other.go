//go:build !amd64 && !arm64

package agent

import "sync/atomic"

// spin waits a little for *stop. Only the assembly versions (amd64, arm64)
// are proof against a debugger killed in the middle of setting up an
// injection.
//
//go:noinline
func spin(stop *uint32) {
	for i := 0; i < 1<<14 && atomic.LoadUint32(stop) == 0; i++ {
	}
}
