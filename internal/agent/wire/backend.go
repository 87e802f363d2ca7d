package wire

import (
	"fmt"
	"os"
)

// EnvBackend chooses how the agent drives the app. It is read by the app
// (to report a bad value on the page before any agent starts) and by the
// agent, which inherits it.
const EnvBackend = "PANICROOM_BACKEND"

// The agent's two ways into the app, both Delve's. Native is Delve's
// ptrace backend (Linux). Stub is its gdbserial backend, which speaks the
// GDB remote protocol to a debug stub: Apple's debugserver on macOS, LLVM's
// lldb-server on Linux, where it exists so that the macOS path is tested.
const (
	BackendNative = "native"
	BackendStub   = "lldb"
)

// BackendFix is what to do about a refused PANICROOM_BACKEND.
const BackendFix = "set " + EnvBackend + " to " + BackendNative + " or " + BackendStub + ", or unset it"

// ChooseBackend returns the backend for goos given the value of
// PANICROOM_BACKEND. macOS has no ptrace a debugger can use, so there the
// stub is the only choice.
func ChooseBackend(value, goos string) (string, error) {
	switch value {
	case "":
		if goos == "darwin" {
			return BackendStub, nil
		}
		return BackendNative, nil
	case BackendStub:
		return BackendStub, nil
	case BackendNative:
		if goos == "darwin" {
			return "", fmt.Errorf("%s=%s is not available on macOS, whose only debugger interface is debugserver: unset %s (or set it to %s)", EnvBackend, value, EnvBackend, BackendStub)
		}
		return BackendNative, nil
	}
	return "", fmt.Errorf("%s=%q is not a backend: valid values are %q (Delve's ptrace backend, the default on Linux) and %q (Delve's gdbserial backend through lldb-server or debugserver, the default on macOS); unset it for the default", EnvBackend, value, BackendNative, BackendStub)
}

// BackendFromEnv is ChooseBackend for this process.
func BackendFromEnv(goos string) (string, error) {
	return ChooseBackend(os.Getenv(EnvBackend), goos)
}
