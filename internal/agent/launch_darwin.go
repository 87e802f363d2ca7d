//go:build darwin && (amd64 || arm64) && !panicroom_noconsole

package agent

import (
	"errors"
	"syscall"
)

// The app's side of the macOS console: how the agent is started. The agent
// itself is package backend's darwin.go. Compiled and vetted for
// darwin/amd64 and darwin/arm64; never run on a Mac.

// agentProcAttr: macOS has no Pdeathsig. The agent notices the app's death
// by the EOF of its request pipe, whose only writer is the app, and then
// detaches and exits (agentMain).
func agentProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// setPtracer: there is no Yama; debugserver's right to attach is macOS's
// Developer Mode (explainStub says so when it is refused).
func setPtracer(int) error { return nil }

// installTrapGuard: the Linux guard puts its handler in front of the
// runtime's with rt_sigaction, a raw system call Go on macOS cannot make
// (system calls go through libSystem there). Without it an agent killed
// during a call leaves the runtime's debug-call traps unanswered, which
// kills the app; Start logs this error as that warning.
func installTrapGuard() error {
	return errors.New("macOS has no SIGTRAP guard yet (the Linux one installs its handler with a raw rt_sigaction)")
}
