//go:build linux && (amd64 || arm64)

package backend

import (
	"fmt"
	"reflect"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
	"golang.org/x/sys/unix"
)

// An assignment to a number or a bool held in the parked frames is written
// while the app runs, as reads are (nonstop_linux.go), instead of stopping
// every thread of the app for it. It is safe for exactly that:
//
//   - the frames are dead to the runtime and the goroutine waits in
//     read(2): nothing else reads or writes that memory, so no write
//     barrier, no torn value another goroutine could see, and no
//     concurrent use a stop would have serialized;
//   - the app holds the goroutine parked until the answer (wire.EvalIn.Held,
//     park.Spot.Hold), so it cannot be released between thaw's check and
//     the write;
//   - the value has no pointers: a pointer written behind the collector's
//     back, or into the heap, is left to the stopped path;
//   - the writer refuses any byte outside the variable.
//
// Everything else (heap fields, package variables, strings, pointers,
// anything whose address is not in the parked frames) stops the app as
// before. Through a stub (lldb) there are no live reads, hence no live
// writes either.

// writesRunning reports whether req, thawed into l, can be answered while
// the app runs; for an assignment it points l's memory at a writer bounded
// to the assigned variable.
func (sn *session) writesRunning(req wire.Request, l *located) bool {
	in := req.Eval
	if in == nil {
		return true
	}
	lhs, _, assign := debugapi.SplitAssign(in.Expr)
	if !assign {
		return true
	}
	lm, ok := sn.live.(liveMemory)
	if !in.Held || !ok || len(l.stack) == 0 {
		return false
	}
	d, err := l.frame(in.Scope, in.Frame)
	if err != nil {
		return false // the stopped path says why
	}
	v, err := sn.scope(l, d).EvalExpression(lhs, proc.LoadConfig{})
	if err != nil || v.Unreadable != nil || v.RealType == nil || v.Addr == 0 ||
		v.Flags&(proc.VariableCPURegister|proc.VariableFakeAddress|proc.VariableConstant) != 0 || !pointerFree(v.Kind) {
		return false
	}
	lo := l.stack[0].Regs.SP()
	hi := uint64(l.stack[len(l.stack)-1].Regs.CFA)
	size := uint64(v.RealType.Size())
	if v.Addr < lo || v.Addr+size > hi || size == 0 {
		return false
	}
	l.mem = frameWriter{liveMemory: lm, lo: v.Addr, hi: v.Addr + size}
	return true
}

// pointerFree lists the kinds Delve's set-variable writes as raw numbers.
func pointerFree(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}

// frameWriter reads the running app and writes into [lo, hi) of it only,
// with process_vm_writev.
type frameWriter struct {
	liveMemory
	lo, hi uint64
}

func (w frameWriter) WriteMemory(addr uint64, data []byte) (int, error) {
	if addr < w.lo || addr+uint64(len(data)) > w.hi {
		return 0, fmt.Errorf("writing %d bytes at %#x: outside the assigned variable [%#x, %#x)", len(data), addr, w.lo, w.hi)
	}
	if len(data) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &data[0]}}
	local[0].SetLen(len(data))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(data)}}
	n, err := unix.ProcessVMWritev(w.pid, local, remote, 0)
	if err != nil {
		return 0, fmt.Errorf("writing %d bytes at %#x: %w", len(data), addr, err)
	}
	if n < len(data) {
		return n, fmt.Errorf("writing %d bytes at %#x: only %d written", len(data), addr, n)
	}
	return n, nil
}

var _ liveReader = frameWriter{}
