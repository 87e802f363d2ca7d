//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package debugger

import (
	"reflect"
	"runtime"
	"testing"
)

// The helper finds the app's functions and variables by their symbol
// names, which carry the package's import path: a package moved or a
// function renamed without the string would leave every call refused (no
// goroutine spins) or the trap guard unread, with nothing at compile time
// to say why.
func TestSymbolNamesMatchTheCode(t *testing.T) {
	if got := runtime.FuncForPC(reflect.ValueOf(spin).Pointer()).Name(); got != spinName {
		t.Errorf("spin is %q in the binary; spinName says %q", got, spinName)
	}
	if want := `"` + reflect.TypeOf(trapSlot{}).PkgPath() + `".trapSlots`; trapSlotsName != want {
		t.Errorf("trapSlotsName is %s; the package's variable is %s", trapSlotsName, want)
	}
}
