package testapp

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// IsAgent reports whether pid runs as the debugger's agent (Linux: from
// its environment in /proc). Not by its name: the app's first os/exec
// forks a child of the same name that never execs (the os package's check
// that clone can return a pidfd), and a test that took it for the agent
// killed no agent.
func IsAgent(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(env), "\x00"), wire.EnvRole+"="+wire.RoleAgent)
}
