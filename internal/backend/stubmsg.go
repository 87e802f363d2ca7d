package backend

import (
	"errors"
	"fmt"
	"strings"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// What a failure of Delve's gdbserial backend means, from the errors Delve
// v1.27.2 returns (pkg/proc/gdbserial) and the causes Delve's own tracker
// found for them. The stub writes its own message to the agent's stderr
// (the app's), never into the error, so one error text can have several
// causes: the classification names the likeliest and says where the stub's
// own words are.

// stubEnv is what the classification depends on besides the error.
type stubEnv struct {
	goos string // the app's
	exe  string // the app's binary
	// native explains a ptrace refusal the way the native backend does
	// (Yama, containers); nil off Linux.
	native func(error) (string, string)
}

// Error texts of pkg/proc/gdbserial (v1.27.2), matched as substrings: the
// backend returns most of them as plain errors.
const (
	stubMsgUnavailable = "backend unavailable" // *gdbserial.ErrBackendUnavailable
	stubMsgExitedWait  = "stub exited while waiting for connection"
	stubMsgExitedDial  = "stub exited while attempting to connect"
	stubMsgRosetta     = "can not run under Rosetta"
	stubMsgProtocol    = "protocol error"
	stubMsgBadAccess   = "bad access" // machTargetExcToError(EXC_BAD_ACCESS)
)

// Fixes named more than once.
const (
	fixDeveloperMode = "enable Developer Mode for debuggers: `DevToolsSecurity -enable` (or `sudo dseditgroup -o edit -a $USER -t user _developer`), then restart the app"
	fixUpdateCLT     = "update the Xcode command line tools (`softwareupdate --list`, or `sudo rm -rf /Library/Developer/CommandLineTools && xcode-select --install`), and unset DELVE_DEBUGSERVER_PATH if it points at an older debugserver"
)

// explainStub turns an attach error of the gdbserial backend into the
// page's reason and fix.
func explainStub(err error, env stubEnv) (reason, fix string) {
	msg := err.Error()
	mac := env.goos == "darwin"
	var old *oldStubError
	switch {
	case errors.As(err, &old):
		return msg, fmt.Sprintf("install lldb-server %d or newer (Debian 12: `apt-get install lldb-19`; it is found in /usr/lib/llvm-N/bin), or unset %s for Delve's ptrace backend", minLLDBServerAMD64, wire.EnvBackend)
	case strings.Contains(msg, stubMsgUnavailable):
		if mac {
			return "debugserver, the debugger stub macOS allows, is not installed (it comes with the Xcode command line tools)",
				"install the command line tools: `xcode-select --install`, then restart the app"
		}
		return "lldb-server is not installed, and " + wire.EnvBackend + "=" + wire.BackendStub + " drives the app through it",
			"install LLVM's lldb-server (Debian 12: `apt-get install lldb-19`; Fedora: `dnf install lldb`), or unset " + wire.EnvBackend + " for Delve's ptrace backend"
	case strings.Contains(msg, stubMsgRosetta):
		return "debugserver cannot attach from a shell running under Rosetta (" + msg + ")",
			"start the app from a native arm64 shell (`arch -arm64 zsh`) with an arm64 Go toolchain"
	case mac && sipProtected(env.exe):
		return "macOS System Integrity Protection forbids debugging " + env.exe + " (" + msg + ")",
			"build the app to a directory of your own (`go build -o ./bin/app`) and run it from there"
	case strings.Contains(msg, stubMsgExitedWait), strings.Contains(msg, stubMsgExitedDial):
		if mac {
			return "debugserver exited before attaching (" + msg + "): macOS refused to let it debug the app, which it does unless Developer Mode is on (a server cannot answer the authorization prompt); debugserver's own message is on the app's stderr",
				fixDeveloperMode
		}
		if env.native != nil {
			// lldb-server attaches with ptrace: the kernel's refusals
			// and their fixes are the native backend's. (lldb-server 19
			// dies of a segmentation fault attaching to an app that
			// already has a tracer.)
			reason, fix := env.native(errors.New("operation not permitted"))
			return "lldb-server exited before attaching (" + msg + "; its own message is on the app's stderr); " + reason, fix
		}
		return "lldb-server exited before attaching (" + msg + "); its own message is on the app's stderr",
			"check that lldb-server can ptrace the app (`sysctl kernel.yama.ptrace_scope`), or unset " + wire.EnvBackend
	case mac && strings.Contains(msg, stubMsgProtocol):
		return "debugserver answered Delve with an error (" + msg + "): a debugserver broken by a macOS update does this (go-delve/delve#3964, #2436)",
			fixUpdateCLT
	case env.native != nil:
		return env.native(err)
	}
	return "attaching through debugserver failed: " + msg, fixUpdateCLT + "; see the app's stderr for debugserver's own message"
}

// explainStubStop says why the app stopped on its own through the stub,
// or "" when the error is not one the stub causes.
func explainStubStop(err error, goos string, canUnmask bool) string {
	if goos != "darwin" || err == nil || !strings.Contains(err.Error(), stubMsgBadAccess) {
		return ""
	}
	if !canUnmask {
		return "the app stopped in \"bad access\" (a nil dereference or other fault) and debugserver kept the signal from the Go runtime, so the panic never reached recover: this debugserver is too old for --unmask-signals (go-delve/delve#852, #3651); " + fixUpdateCLT
	}
	return "the app stopped in \"bad access\" (a nil dereference or other fault) and debugserver kept the signal from the Go runtime (go-delve/delve#3651): " + fixUpdateCLT
}

// sipProtected reports whether macOS's System Integrity Protection covers
// the path: no debugger may attach to what runs from there, Developer Mode
// or not.
func sipProtected(path string) bool {
	for _, dir := range []string{"/System/", "/usr/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(path, dir) && !strings.HasPrefix(path, "/usr/local/") {
			return true
		}
	}
	return false
}
