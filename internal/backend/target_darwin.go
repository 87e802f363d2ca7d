package backend

import (
	"os"
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
