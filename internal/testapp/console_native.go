//go:build linux && (amd64 || arm64)

package testapp

// consoleHere: debugger/platform_native.go is built.
const consoleHere = true
