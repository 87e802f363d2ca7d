//go:build !panicroom_noconsole

package debugger

import (
	"errors"

	"github.com/go-delve/delve/pkg/proc"
)

// Only linux/amd64 has a stand-in for a dead debugger's traps
// (orphan_linux_amd64.go); elsewhere an agent killed mid-call kills the
// app with SIGTRAP.

func installTrapGuard() error {
	return errors.New("no SIGTRAP guard on linux/arm64")
}

func (tr *tracer) armTrap(*proc.EvalScope, proc.Thread) (uint64, error) { return 0, nil }
func (tr *tracer) disarmTrap(uint64)                                    {}
