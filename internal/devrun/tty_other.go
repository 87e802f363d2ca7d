//go:build unix && !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package devrun

// inForeground cannot ask the terminal here: forward every signal.
func inForeground() bool { return false }
