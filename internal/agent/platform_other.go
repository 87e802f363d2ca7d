//go:build !((linux || darwin) && (amd64 || arm64)) || panicroom_noconsole

package agent

import (
	"errors"
	"runtime"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// consoleUnsupported is the one sentence the page and the log give where the
// console cannot run: the helper process is not built here at all, so
// neither Delve nor its ptrace code is linked into the app.
// It follows "The console is unavailable: " on the page and in the log.
const consoleUnsupported = "it needs Linux on amd64 or arm64 (Delve's ptrace backend), and this is " +
	runtime.GOOS + "/" + runtime.GOARCH + "; the pages show the traceback without it"

// consoleUnsupportedFix says what to do instead.
const consoleUnsupportedFix = "run the app in a Linux container or VM (amd64 or arm64) to use the console"

func installTrapGuard() error { return nil }

// launch is never reached here (Start reports consoleUnsupported first).
func (a *Client) launch() (*conn, wire.Ready, error) {
	return nil, wire.Ready{}, errors.New(consoleUnsupported)
}
