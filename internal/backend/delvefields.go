package backend

import (
	"debug/dwarf"
	"reflect"
	"sync"
	"unsafe"

	"github.com/go-delve/delve/pkg/proc"
)

// Things Delve knows and does not export: the image's DWARF (which the
// attach's shortcut swaps, stopwork_linux.go, and which a CallPlan and the
// go-run check read) and a function's place in it (Delve builds a call's
// frame from the same subprogram entry). Read through reflect, and
// checked against this Delve's field types: a Delve that renames them
// loses the shortcut and the app's own calls, not the console.

// field is the unexported field name of the struct p points to, settable.
func field(p any, name string) reflect.Value {
	return settable(reflect.ValueOf(p).Elem().FieldByName(name))
}

func settable(f reflect.Value) reflect.Value {
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// hasField reports whether struct T has a field name of type F.
func hasField[T, F any](name string) bool {
	f, ok := reflect.TypeFor[T]().FieldByName(name)
	return ok && f.Type == reflect.TypeFor[F]()
}

// hasImageDWARF: this Delve keeps an image's DWARF in Image.dwarf.
var hasImageDWARF = sync.OnceValue(func() bool { return hasField[proc.Image, *dwarf.Data]("dwarf") })

// canReadSignatures reports whether this Delve has the fields a plan
// reads.
var canReadSignatures = sync.OnceValue(func() bool {
	return hasImageDWARF() && hasField[proc.Function, dwarf.Offset]("offset")
})

// delveDWARF is the executable's DWARF as Delve loaded it; nil if this
// Delve keeps it elsewhere.
func delveDWARF(bi *proc.BinaryInfo) *dwarf.Data {
	if len(bi.Images) == 0 || !hasImageDWARF() {
		return nil
	}
	return field(bi.Images[0], "dwarf").Interface().(*dwarf.Data)
}

// subprogram is where fn's DWARF entry is.
func subprogram(bi *proc.BinaryInfo, fn *proc.Function) (*dwarf.Data, dwarf.Offset, bool) {
	d := delveDWARF(bi)
	if d == nil || !canReadSignatures() {
		return nil, 0, false
	}
	return d, field(fn, "offset").Interface().(dwarf.Offset), true
}
