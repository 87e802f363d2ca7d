//go:build !(linux && (amd64 || arm64)) || panicroom_noconsole

package testapp

// consoleHere: internal/agent/platform_other.go is built.
const consoleHere = false
