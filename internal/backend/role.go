package backend

import (
	"os"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// The agent and its guardian are the app's own binary, re-executed with
// wire.EnvRole set (package agent starts them). Package agent links this
// package in with a blank import, so this init runs before the app's main
// and turns the process into its role; in the app itself it does nothing.
func init() {
	switch os.Getenv(wire.EnvRole) {
	case wire.RoleAgent:
		os.Exit(agentMain())
	case wire.RoleGuardian:
		os.Exit(guardianMain())
	}
}
