package agent

import (
	"debug/elf"
	"debug/macho"
	"os"
)

// debugInfo is what the running binary's file says of its DWARF, read
// once at Start.
type debugInfo struct {
	// present: without DWARF Delve attaches, warns on its standard error
	// and then finds no variable, which would leave the console
	// "attached" and useless; checking first lets the page say what to do
	// instead. go run and go test strip DWARF unless told not to.
	present bool
	// compressed, as the Go linker writes it by default: the agent then
	// inflates it at every start before it can attach (with the figures
	// of BENCHMARKS.md, about half the time to a ready console), worth a
	// line saying how to avoid it.
	compressed bool
}

// readDebugInfo sets a.dwarf and reports whether the binary has DWARF.
func (a *Client) readDebugInfo() bool {
	a.dwarf = ownDebugInfo()
	return a.dwarf.present
}

// ownDebugInfo describes the running binary's DWARF.
func ownDebugInfo() debugInfo {
	exe, err := os.Executable()
	if err != nil {
		return debugInfo{present: true} // let the agent try and say what it finds
	}
	return debugInfoOf(exe)
}

// debugInfoOf describes the DWARF of the binary at path. A file it cannot
// read as ELF or Mach-O counts as having it: the agent will try and say
// what it finds.
func debugInfoOf(path string) debugInfo {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		if s := f.Section(".debug_info"); s != nil {
			return debugInfo{present: true, compressed: s.Flags&elf.SHF_COMPRESSED != 0}
		}
		z := f.Section(".zdebug_info") != nil
		return debugInfo{present: z, compressed: z}
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		if f.Section("__debug_info") != nil {
			return debugInfo{present: true}
		}
		z := f.Section("__zdebug_info") != nil
		return debugInfo{present: z, compressed: z}
	}
	return debugInfo{present: true}
}

// CompressedDebugInfoAdvice is said once, at the first attach, by an app
// whose debug information is compressed.
const CompressedDebugInfoAdvice = "panicroom: this binary's debug information is compressed, so the debugger inflates it at every start before its console is ready; build with -ldflags=-compressdwarf=false (panicroom run does) to have it ready in about half the time"
