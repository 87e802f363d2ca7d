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

// compressedDebugInfo reports whether the binary at path carries its DWARF
// compressed, as the Go linker writes it by default. The agent then
// inflates it at every start before it can attach (with the figures of
// BENCHMARKS.md, about half the time to a ready console): worth a line
// saying how to avoid it.
func compressedDebugInfo(path string) bool {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if s := f.Section(".debug_info"); s != nil {
			return s.Flags&elf.SHF_COMPRESSED != 0
		}
		return f.Section(".zdebug_info") != nil
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		return f.Section("__zdebug_info") != nil
	}
	return false
}

// CompressedDebugInfoAdvice is said once, at the first attach, by an app
// whose debug information is compressed.
const CompressedDebugInfoAdvice = "panicroom: this binary's debug information is compressed, so the debugger inflates it at every start before its console is ready; build with -ldflags=-compressdwarf=false (panicroom run does) to have it ready in about half the time"
