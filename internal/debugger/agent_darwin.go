//go:build darwin && (amd64 || arm64) && !panicroom_noconsole

package debugger

import (
	"errors"
	"syscall"

	"github.com/go-delve/delve/pkg/proc"
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

// agentProcAttr: macOS has no Pdeathsig. The agent notices the app's death
// by the EOF of its request pipe, whose only writer is the app, and then
// detaches and exits (agentMain).
func agentProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// setPtracer: there is no Yama; debugserver's right to attach is macOS's
// Developer Mode (explainStub says so when it is refused).
func setPtracer(int) error { return nil }

// startGuardian: the Linux guardian continues an app left in group-stop by
// a dead ptrace tracer. Under debugserver the app is stopped by Mach task
// suspension, which SIGCONT does not undo, and debugserver itself, not the
// agent, holds it; there is no guardian.
func startGuardian(int) (interface{ Close() error }, error) { return nopCloser{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// installTrapGuard: the Linux guard puts its handler in front of the
// runtime's with rt_sigaction, a raw system call Go on macOS cannot make
// (system calls go through libSystem there). Without it an agent killed
// during a call leaves the runtime's debug-call traps unanswered, which
// kills the app; Start logs this error as that warning.
func installTrapGuard() error {
	return errors.New("macOS has no SIGTRAP guard yet (the Linux one installs its handler with a raw rt_sigaction)")
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

func (tr *tracer) freeze(wireRequest, *located) {}

func (tr *tracer) thaw(wireRequest) *located { return nil }

func (tr *tracer) readsRunning(wireRequest) bool { return false }

func (tr *tracer) writesRunning(wireRequest, *located) bool { return false }
