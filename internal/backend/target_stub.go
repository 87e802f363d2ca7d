package backend

import (
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/go-delve/delve/pkg/proc/gdbserial"
)

// stubTarget is Delve's gdbserial backend: Delve talks the GDB remote
// protocol to a stub that is the app's tracer, Apple's debugserver on
// macOS (the only way a debugger gets at a process there) or LLVM's
// lldb-server on Linux. The stub reads memory only with the app stopped:
// there is no process_vm_readv across it, so every read stops the app for
// the length of one request.
type stubTarget struct{}

func (stubTarget) attach(pid int) (*proc.TargetGroup, *heapLayout, error) {
	// The agent is the app's binary re-executed, so its path is the app's:
	// Delve then need not ask the stub for it (lldb-server does not say).
	exe, _ := os.Executable()
	undo, err := prepareStub()
	if err != nil {
		return nil, nil, err
	}
	defer undo()
	grp, err := gdbserial.LLDBAttach(pid, exe, nil, nil)
	return grp, nil, err
}

func (stubTarget) liveMemory(int) liveReader { return nil }

func (stubTarget) stopped(err error) string {
	if runtime.GOOS != "darwin" {
		return ""
	}
	return explainStubStop(err, runtime.GOOS, debugserverCanUnmask())
}

func (stubTarget) explainAttach(err error, pid int) (string, string) {
	env := stubEnv{goos: runtime.GOOS, exe: exePath()}
	if env.goos == "linux" {
		env.native = func(err error) (string, string) { return explainAttach(err, pid) }
	}
	return explainStub(err, env)
}

func exePath() string {
	exe, _ := os.Executable()
	return exe
}

// debugserverCanUnmask reports whether the debugserver Delve will start
// passes the app's signals on (--unmask-signals, go-delve/delve#852): one
// that cannot leaves a nil dereference stalled in "bad access" instead of
// reaching the app's recover. True where there is no debugserver.
func debugserverCanUnmask() bool {
	path := os.Getenv("DELVE_DEBUGSERVER_PATH")
	if path == "" {
		var err error
		if path, err = exec.LookPath("debugserver"); err != nil {
			path = "/Library/Developer/CommandLineTools/Library/PrivateFrameworks/LLDB.framework/Versions/A/Resources/debugserver"
			if _, err := os.Stat(path); err != nil {
				return true
			}
		}
	}
	out, _ := exec.Command(path, "--unmask-signals").CombinedOutput()
	return !strings.Contains(string(out), "unrecognized option")
}
