package backend

import (
	"debug/dwarf"
	"debug/elf"
	"debug/macho"
	"errors"
)

// mainHasVariables reports whether the debug information d describes any
// argument or local of package main. `go run` compiles the main package
// with -dwarf=false: its functions are still listed, so the console
// attaches and every other package works, but the main package's frames
// come without a single variable. Only that case is worth a warning, so
// nil or unreadable debug information answers true.
func mainHasVariables(d *dwarf.Data) bool {
	if d == nil {
		return true
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return true // no package main found: nothing to say
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		if name, _ := e.Val(dwarf.AttrName).(string); name != "main" {
			r.SkipChildren()
			continue
		}
		for depth := 1; depth > 0; {
			e, err := r.Next()
			if err != nil || e == nil {
				return true
			}
			switch {
			case e.Tag == 0:
				depth--
			case e.Tag == dwarf.TagFormalParameter, e.Tag == dwarf.TagVariable && depth > 1:
				return true
			case e.Children:
				depth++
			}
		}
		return false
	}
}

func openDWARF(path string) (*dwarf.Data, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		return f.DWARF()
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		return f.DWARF()
	}
	return nil, errors.New("neither ELF nor Mach-O")
}
