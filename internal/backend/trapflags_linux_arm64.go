package backend

import (
	"errors"

	"github.com/go-delve/delve/pkg/proc"
)

// trapFlags is PSTATE, whose condition flags (NZCV) the guard puts back
// when an orphaned call returns: the runtime reloads the general registers
// itself, Delve would have restored the rest.
func trapFlags(_ *session, regs proc.Registers) (uint64, error) {
	all, err := regs.Slice(false)
	if err != nil {
		return 0, err
	}
	for _, r := range all {
		if r.Name == "PSTATE" {
			return r.Reg.Uint64Val, nil
		}
	}
	return 0, errors.New("no PSTATE among the thread's registers")
}
