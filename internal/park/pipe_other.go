//go:build !unix && !windows

package park

import (
	"errors"
	"runtime"
)

type handle = int

// errUnsupported is returned by New where no blocking system call is
// known to keep a goroutine's stack from moving.
var errUnsupported = errors.New("park: parking a goroutine is not supported on " + runtime.GOOS)

func pipe() (r, w handle, err error) { return -1, -1, errUnsupported }
