//go:build (linux || darwin) && (amd64 || arm64) && !panicroom_noconsole

package agent

// The agent process is this binary with package backend's init taking it
// over (backend/role.go); the import is what links Delve into the app.
import _ "github.com/panicroom/panicroom/internal/backend"

// consoleUnsupported is empty where the agent can attach: Delve's ptrace
// backend on Linux, its debugserver backend on macOS, on the two
// architectures the suites run on.
const consoleUnsupported = ""

const consoleUnsupportedFix = ""
