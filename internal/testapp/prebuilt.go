package testapp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FixturesEnv names a directory of fixtures built beforehand, for a machine
// without the go command: make test-arm64 cross-compiles every program the
// tests would build and runs the tests in an emulated arm64 machine.
const FixturesEnv = "PANICROOM_FIXTURES"

// Prebuilt returns the fixture name from $PANICROOM_FIXTURES, ok false when
// the variable is unset (the caller then builds it with go build). A
// fixture missing from the directory is an error naming the fix.
func Prebuilt(name string) (path string, ok bool, err error) {
	dir := os.Getenv(FixturesEnv)
	if dir == "" {
		return "", false, nil
	}
	path = filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return "", true, fmt.Errorf("%s=%s has no fixture %q (scripts/arm64/run lists what it prebuilds; add it there): %v", FixturesEnv, dir, name, err)
	}
	return path, true, nil
}

// NeedGo skips a test that runs the go command itself where there is none.
func NeedGo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("needs the go command, which is not here (%v)", err)
	}
}

// TimescaleEnv multiplies the tests' waits and the fixtures' deadlines on a
// slow machine: make test-arm64 sets it, as everything runs 4 to 14 times
// slower emulated, more on a loaded machine. The fixtures read it too.
const TimescaleEnv = "PANICROOM_TEST_TIMESCALE"

// Scaled is d times $PANICROOM_TEST_TIMESCALE (1 when unset or below 1).
func Scaled(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv(TimescaleEnv), 64); err == nil && f > 1 {
		return time.Duration(float64(d) * f)
	}
	return d
}
