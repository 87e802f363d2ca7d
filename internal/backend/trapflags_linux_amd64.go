package backend

import (
	"github.com/go-delve/delve/pkg/dwarf/regnum"
	"github.com/go-delve/delve/pkg/proc"
)

// trapFlags is the flags register the guard restores when it has stepped
// an orphaned call back into the rendezvous.
func trapFlags(sn *session, regs proc.Registers) (uint64, error) {
	return sn.t.BinInfo().Arch.RegistersToDwarfRegisters(0, regs).Uint64Val(regnum.AMD64_Rflags), nil
}
