//go:build !linux

package debugger

func setPtracer(pid int) error { return nil }

func installTrapGuard() error { return nil }
