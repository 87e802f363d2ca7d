package backend

import (
	"debug/dwarf"
	"reflect"
	"unsafe"

	"github.com/go-delve/delve/pkg/proc"
)

// Two things Delve knows and does not export, which a CallPlan needs: the
// image's DWARF and a function's place in it (Delve builds a call's frame
// from the same subprogram entry). Read through reflect, and checked
// against this Delve's field types: a Delve that renames them loses the
// app's own calls, which go to Delve's injection instead.

// canReadSignatures reports whether this Delve has the fields.
func canReadSignatures() bool {
	d, ok := reflect.TypeFor[proc.Image]().FieldByName("dwarf")
	if !ok || d.Type != reflect.TypeFor[*dwarf.Data]() {
		return false
	}
	o, ok := reflect.TypeFor[proc.Function]().FieldByName("offset")
	return ok && o.Type == reflect.TypeFor[dwarf.Offset]()
}

// delveDWARF is the executable's DWARF as Delve loaded it; nil if this
// Delve keeps it elsewhere.
func delveDWARF(bi *proc.BinaryInfo) *dwarf.Data {
	if len(bi.Images) == 0 || !canReadSignatures() {
		return nil
	}
	f := reflect.ValueOf(bi.Images[0]).Elem().FieldByName("dwarf")
	return *(**dwarf.Data)(unsafe.Pointer(f.UnsafeAddr()))
}

// subprogram is where fn's DWARF entry is.
func subprogram(bi *proc.BinaryInfo, fn *proc.Function) (*dwarf.Data, dwarf.Offset, bool) {
	d := delveDWARF(bi)
	if d == nil {
		return nil, 0, false
	}
	f := reflect.ValueOf(fn).Elem().FieldByName("offset")
	return d, *(*dwarf.Offset)(unsafe.Pointer(f.UnsafeAddr())), true
}
