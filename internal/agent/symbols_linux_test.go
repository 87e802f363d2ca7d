//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package agent

import (
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// The agent finds the app's functions and variables by the symbol names
// package wire gives, and writes the trap guard's slots at the offsets it
// gives: a package moved, a function renamed or a field added without them
// would leave every call refused (no goroutine is seen spinning) or the
// guard reading garbage, with nothing at compile time to say why.
func TestSymbolsMatchWire(t *testing.T) {
	if got := runtime.FuncForPC(reflect.ValueOf(spin).Pointer()).Name(); got != wire.SpinSymbol {
		t.Errorf("spin is %q in the binary; wire.SpinSymbol says %q", got, wire.SpinSymbol)
	}
	if want := `"` + reflect.TypeOf(trapSlot{}).PkgPath() + `".trapSlots`; wire.TrapSlotsSymbol != want {
		t.Errorf("wire.TrapSlotsSymbol is %s; the package's variable is %s", wire.TrapSlotsSymbol, want)
	}
	var s trapSlot
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"tid", unsafe.Offsetof(s.tid), wire.TrapSlotTid},
		{"pc", unsafe.Offsetof(s.pc), wire.TrapSlotPC},
		{"flags", unsafe.Offsetof(s.flags), wire.TrapSlotFlags},
		{"steps", unsafe.Offsetof(s.steps), wire.TrapSlotSteps},
		{"goid", unsafe.Offsetof(s.goid), wire.TrapSlotGoid},
		{"size", unsafe.Sizeof(s), wire.TrapSlotSize},
		{"count", uintptr(len(trapSlots)), wire.TrapSlotCount},
	} {
		if c.got != c.want {
			t.Errorf("trapSlot %s is %d; wire says %d", c.name, c.got, c.want)
		}
	}
}
