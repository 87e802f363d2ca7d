package testapp

import (
	"runtime"
	"testing"
)

// SkipWithoutConsole skips a test that needs the console where the module
// is built without it, which is decided by the same build constraint as the
// debugger's helper (consoleHere's two files), not by a second list.
func SkipWithoutConsole(t testing.TB) {
	t.Helper()
	if !consoleHere {
		t.Skipf("the console runs on linux/amd64 and linux/arm64 only, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
}

// ConsoleBuilt reports whether this build has the console (the debugger's
// helper, with Delve linked in) on Linux, by the same constraint.
func ConsoleBuilt() bool { return consoleHere }
