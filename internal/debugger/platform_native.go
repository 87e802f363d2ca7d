//go:build (linux || darwin) && (amd64 || arm64) && !panicroom_noconsole

package debugger

// consoleUnsupported is empty where the helper process can attach: Delve's
// native ptrace backend on the two architectures the suites run on.
const consoleUnsupported = ""

const consoleUnsupportedFix = ""
