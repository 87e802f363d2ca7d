//go:build darwin && (amd64 || arm64) && !panicroom_noconsole

package backend

import (
	"os"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// The macOS side of the agent: Delve's gdbserial backend driving Apple's
// debugserver. Compiled and vetted for darwin/amd64 and darwin/arm64, and
// its portable parts run on Linux through lldb-server (make test-lldb);
// never run on a Mac.

// newTarget: debugserver is the only debugger interface macOS allows.
func newTarget(string) target { return stubTarget{} }

// prepareStub has nothing to do: Delve finds debugserver itself (on PATH,
// in the command line tools, or DELVE_DEBUGSERVER_PATH).
func prepareStub() (func(), error) { return func() {}, nil }

// startGuardian: the Linux guardian continues an app left in group-stop by
// a dead ptrace tracer. Under debugserver the app is stopped by Mach task
// suspension, which SIGCONT does not undo, and debugserver itself, not the
// agent, holds it; there is no guardian.
func startGuardian(int) (interface{ Close() error }, error) { return nopCloser{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// guardianMain: there is no guardian on macOS (startGuardian); a binary
// started in that role exits at once.
func guardianMain() int {
	os.Stderr.WriteString("panicroom: there is no guardian on macOS\n")
	return 2
}

// armTrap: no guard, so calls are made unguarded.
func (tr *tracer) armTrap(*proc.EvalScope, *proc.G) (uint64, error) { return 0, nil }

func (tr *tracer) disarmTrap(uint64) {}

// sweepTrapSlots: no guard, so no slots left by an earlier agent.
func (tr *tracer) sweepTrapSlots() {}

// Reads while the app runs need the native backend's process_vm_readv;
// through debugserver every read stops the app, so nothing is frozen.
type frozen struct{}

const maxFrozen = 1

func (tr *tracer) freeze(wire.Scope, *located) {}

func (tr *tracer) thaw(wire.Scope) *located { return nil }

func (tr *tracer) readsRunning(wire.Request) bool { return false }
