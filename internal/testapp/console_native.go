//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package testapp

// consoleHere: internal/agent/platform_native.go is built.
const consoleHere = true
