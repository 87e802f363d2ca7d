//go:build !(linux && (amd64 || arm64))

package backend

import (
	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// Where the agent cannot write into the app's SIGTRAP guard (only Linux has
// one) and cannot read the app while it runs (process_vm_readv is Linux's),
// calls go unguarded and every read stops the app.

// armTrap: no guard, so calls are made unguarded.
func (sn *session) armTrap(*proc.EvalScope, *proc.G) (uint64, error) { return 0, nil }

func (sn *session) disarmTrap(uint64) {}

// sweepTrapSlots: no guard, so no slots left by an earlier agent.
func (sn *session) sweepTrapSlots() {}

// Nothing is frozen for reads while the app runs.
type frozen struct{}

const maxFrozen = 1

func (sn *session) freeze(wire.Scope, *located) {}

func (sn *session) thaw(wire.Scope) *located { return nil }

func (sn *session) readsRunning(wire.Request) bool { return false }

func (sn *session) writesRunning(wire.Request, *located) bool { return false }
