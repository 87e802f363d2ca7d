package agent

import (
	"debug/elf"
	"debug/macho"
	"os"
)

// hasDebugInfo reports whether the running binary carries DWARF. Without it
// Delve attaches, warns on its standard error and then finds no variable,
// which would leave the console "attached" and useless; checking first lets
// the page say what to do instead. go run and go test strip DWARF unless
// told not to.
func hasDebugInfo() bool {
	exe, err := os.Executable()
	if err != nil {
		return true // let the agent try and say what it finds
	}
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		return f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil
	}
	if f, err := macho.Open(exe); err == nil {
		defer f.Close()
		return f.Section("__debug_info") != nil || f.Section("__zdebug_info") != nil
	}
	return true
}
