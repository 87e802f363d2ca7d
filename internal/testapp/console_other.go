//go:build !(linux && (amd64 || arm64))

package testapp

// consoleHere: debugger/platform_other.go is built.
const consoleHere = false
