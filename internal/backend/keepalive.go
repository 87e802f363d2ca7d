package backend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"go/constant"
	"reflect"
	"runtime"

	"github.com/go-delve/delve/pkg/dwarf/godwarf"
	"github.com/go-delve/delve/pkg/proc"
)

// Keep-alive (trap 1 of DESIGN.md). The frames of a parked panic are dead
// to the runtime: at the panicking call no local is live, so the heap
// objects that only those frames reference are not GC roots. During the
// snapshot the agent lists every heap pointer held in the memory of each
// app frame's args and locals, and the app stores them where the collector
// sees them (park.Parked.Keep).
//
// Which pointers: type-directed, through the frame's own variables only:
// pointers, string and slice data, maps, chans, funcs (closures), both
// words of interfaces, recursively through struct fields and array
// elements laid out inside the variable. Pointers into the parked
// goroutine's own stack are followed (a non-escaping &T{...} lives in an
// unnamed stack slot Delve does not list), and are never kept themselves.
//
// Which of them may be kept: the app turns them into unsafe.Pointer, and
// the collector throws ("found bad pointer in Go heap") on a pointer into
// a heap arena whose span is free, or past the end of its object, and a
// stack pointer kept past the goroutine's release would become one once
// the stack's memory is reused for the heap. So each candidate is checked
// the way the runtime's own findObject does, by reading the target's heap
// metadata while it is stopped (heapChecker): its span must be in use
// (mSpanInUse, which excludes stacks: those are mSpanManual), the address
// inside [base, limit), and the object slot allocated (alloc or mark bits,
// or below freeIndexForScan, for a swept span; mark bits of the last cycle
// for a span not yet swept, whose unmarked objects the sweeper is about to
// free; a kept pointer to a free slot is "found pointer to free object"
// under GODEBUG=clobberfree=1, and the slot's reuse otherwise).
// /proc/PID/maps could not do this: stacks and free spans live in the same
// anonymous mappings as objects.
//
// The check holds at the stop. The app (record.keepAlive) drops the whole
// list if a collection ended between the stop and its call (the count
// memstats.numgc moved): that cycle may have freed what only the dead
// frames referenced. A cycle still marking when the root stores the
// pointers sees them through the write barrier. What remains is a cycle
// that both ends and sweeps the object between that comparison and the
// root's store, microseconds, and only if something forces a collection
// (runtime.GC) while the root holds the collector off.

// maxKeepAlive bounds the pointers kept for one panic.
const maxKeepAlive = 4096

// Bounds of the walk through one snapshot's variables.
const (
	maxVarBytes    = 1 << 20 // bytes of one variable read
	maxStackFollow = 4       // pointers into the goroutine's stack followed in a row
	maxWalkWords   = 1 << 20 // pointer-sized words visited in all
)

// runtime constants that DWARF does not carry. pageSize (_PageSize) is
// 8 KiB on every port; arenaBaseOffset is non-zero only on amd64 (and
// AIX). The agent is the app's own binary, so its GOARCH is the target's.
const rtPageSize = 8192

func arenaBaseOffset() uint64 {
	if runtime.GOARCH == "amd64" {
		return 0xffff800000000000
	}
	return 0
}

// mSpanInUse is runtime.mSpanInUse (mSpanDead, mSpanInUse, mSpanManual).
const mSpanInUse = 1

// heapLayout holds the offsets of the runtime's heap metadata, read from
// DWARF once per agent.
type heapLayout struct {
	ptrSize int

	mheapAddr uint64 // &runtime.mheap_
	numgcAddr uint64 // &runtime.memstats.numgc

	arenasOff   int64 // mheap.arenas
	l1Len       int64 // len(mheap.arenas)
	l2Len       int64 // len(*mheap.arenas[i])
	sweepgenOff int64 // mheap.sweepgen

	spansOff      int64 // heapArena.spans
	pagesPerArena int64

	spanSize   int64 // sizeof(mspan)
	startAddr  int64
	limit      int64
	elemsize   int64
	freeindex  int64
	nelems     int64
	allocBits  int64
	gcmarkBits int64
	sweepgen   int64
	state      int64
}

func fieldOffset(t godwarf.Type, path ...string) (int64, godwarf.Type, error) {
	var off int64
	for _, name := range path {
		st, ok := resolveType(t).(*godwarf.StructType)
		if !ok {
			return 0, nil, fmt.Errorf("%s is not a struct", t)
		}
		found := false
		for _, f := range st.Field {
			if f.Name == name {
				off += f.ByteOffset
				t = f.Type
				found = true
				break
			}
		}
		if !found {
			return 0, nil, fmt.Errorf("%s has no field %s", st.StructName, name)
		}
	}
	return off, t, nil
}

// globalAddr is the address of a package variable (static for the life
// of the process).
func globalAddr(sc *proc.EvalScope, expr string) (uint64, error) {
	v, err := sc.EvalExpression("&"+expr, proc.LoadConfig{})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", expr, err)
	}
	if len(v.Children) == 0 || v.Children[0].Addr == 0 || v.Children[0].Addr >= proc.FakeAddressBase {
		return 0, fmt.Errorf("%s has no address", expr)
	}
	return v.Children[0].Addr, nil
}

func loadHeapLayout(bi *proc.BinaryInfo, sc *proc.EvalScope) (*heapLayout, error) {
	h := &heapLayout{ptrSize: bi.Arch.PtrSize()}
	var err error
	if h.mheapAddr, err = globalAddr(sc, "runtime.mheap_"); err != nil {
		return nil, err
	}
	if h.numgcAddr, err = globalAddr(sc, "runtime.memstats.numgc"); err != nil {
		return nil, err
	}
	mheap, err := bi.FindType("runtime.mheap")
	if err != nil {
		return nil, fmt.Errorf("runtime.mheap: %w", err)
	}
	var at godwarf.Type
	if h.arenasOff, at, err = fieldOffset(mheap, "arenas"); err != nil {
		return nil, err
	}
	l1, ok := resolveType(at).(*godwarf.ArrayType)
	if !ok {
		return nil, errors.New("mheap.arenas is not an array")
	}
	p, ok := resolveType(l1.Type).(*godwarf.PtrType)
	if !ok {
		return nil, errors.New("mheap.arenas[i] is not a pointer")
	}
	l2, ok := resolveType(p.Type).(*godwarf.ArrayType)
	if !ok {
		return nil, errors.New("*mheap.arenas[i] is not an array")
	}
	h.l1Len, h.l2Len = l1.Count, l2.Count
	if h.sweepgenOff, _, err = fieldOffset(mheap, "sweepgen"); err != nil {
		return nil, err
	}
	ha, err := bi.FindType("runtime.heapArena")
	if err != nil {
		return nil, fmt.Errorf("runtime.heapArena: %w", err)
	}
	var st godwarf.Type
	if h.spansOff, st, err = fieldOffset(ha, "spans"); err != nil {
		return nil, err
	}
	sa, ok := resolveType(st).(*godwarf.ArrayType)
	if !ok {
		return nil, errors.New("heapArena.spans is not an array")
	}
	h.pagesPerArena = sa.Count
	span, err := bi.FindType("runtime.mspan")
	if err != nil {
		return nil, fmt.Errorf("runtime.mspan: %w", err)
	}
	h.spanSize = span.Size()
	for _, f := range []struct {
		dst  *int64
		path []string
	}{
		{&h.startAddr, []string{"startAddr"}},
		{&h.limit, []string{"limit"}},
		{&h.elemsize, []string{"elemsize"}},
		{&h.freeindex, []string{"freeIndexForScan"}},
		{&h.nelems, []string{"nelems"}},
		{&h.allocBits, []string{"allocBits"}},
		{&h.gcmarkBits, []string{"gcmarkBits"}},
		{&h.sweepgen, []string{"sweepgen"}},
		{&h.state, []string{"state", "s", "value"}},
	} {
		if *f.dst, _, err = fieldOffset(span, f.path...); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// heapChecker answers "may the app keep this pointer?" for one stop of the
// target. Everything it reads is only valid while the target is stopped.
type heapChecker struct {
	l        *heapLayout
	mem      proc.MemoryReadWriter
	mheap    uint64 // &runtime.mheap_
	sweepgen uint32 // mheap_.sweepgen
	numgc    uint32 // memstats.numgc: collections ended
	arenas   []uint64
	spans    map[uint64]*spanInfo // by *mspan
}

type spanInfo struct {
	base, limit, elemsize uint64
	freeindex, nelems     uint64
	allocBits, gcmarkBits uint64
	sweepgen              uint32
	state                 uint8
}

// prepareKeepAlive reads the heap layout while the app is stopped for the
// attach anyway, so that the first panic's stop does not pay for it
// (~10 ms of DWARF reading). A failure is left for the first snapshot to
// report.
func (sn *session) prepareKeepAlive() {
	sc, err := proc.ThreadScope(sn.t, sn.t.CurrentThread())
	if err != nil {
		return
	}
	if l, err := loadHeapLayout(sn.t.BinInfo(), sc); err == nil {
		sn.heap = l
	}
}

func (sn *session) newHeapChecker(sc *proc.EvalScope) (*heapChecker, error) {
	if sn.heap == nil {
		l, err := loadHeapLayout(sn.t.BinInfo(), sc)
		if err != nil {
			return nil, err
		}
		sn.heap = l
	}
	mheap := sn.heap.mheapAddr
	h := &heapChecker{l: sn.heap, mem: sn.t.Memory(), mheap: mheap, spans: map[uint64]*spanInfo{}}
	var ok bool
	if h.sweepgen, ok = h.u32(mheap + uint64(h.l.sweepgenOff)); !ok {
		return nil, errors.New("reading mheap_.sweepgen")
	}
	if h.numgc, ok = h.u32(sn.heap.numgcAddr); !ok {
		return nil, errors.New("reading memstats.numgc")
	}
	for i := int64(0); i < h.l.l1Len; i++ {
		p, ok := h.ptr(mheap + uint64(h.l.arenasOff+i*int64(h.l.ptrSize)))
		if !ok {
			return nil, errors.New("reading mheap_.arenas")
		}
		h.arenas = append(h.arenas, p)
	}
	return h, nil
}

func (h *heapChecker) read(addr uint64, n int) ([]byte, bool) {
	b := make([]byte, n)
	if _, err := h.mem.ReadMemory(b, addr); err != nil {
		return nil, false
	}
	return b, true
}

func (h *heapChecker) ptr(addr uint64) (uint64, bool) {
	b, ok := h.read(addr, h.l.ptrSize)
	if !ok {
		return 0, false
	}
	return word(b, h.l.ptrSize), true
}

func (h *heapChecker) u32(addr uint64) (uint32, bool) {
	b, ok := h.read(addr, 4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

func word(b []byte, size int) uint64 {
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// spanOf is the runtime's spanOf: nil (0) for an address outside every
// heap arena.
func (h *heapChecker) spanOf(p uint64) uint64 {
	heapArenaBytes := uint64(h.l.pagesPerArena) * rtPageSize
	ri := (p - arenaBaseOffset()) / heapArenaBytes
	l2bits := uint(0)
	for 1<<l2bits < h.l.l2Len {
		l2bits++
	}
	i1, i2 := ri>>l2bits, ri&(uint64(h.l.l2Len)-1)
	if h.l.l1Len == 1 {
		i1, i2 = 0, ri
	}
	if i1 >= uint64(len(h.arenas)) || i2 >= uint64(h.l.l2Len) || h.arenas[i1] == 0 {
		return 0
	}
	ha, ok := h.ptr(h.arenas[i1] + i2*uint64(h.l.ptrSize))
	if !ok || ha == 0 {
		return 0
	}
	s, ok := h.ptr(ha + uint64(h.l.spansOff) + ((p/rtPageSize)%uint64(h.l.pagesPerArena))*uint64(h.l.ptrSize))
	if !ok {
		return 0
	}
	return s
}

func (h *heapChecker) span(s uint64) *spanInfo {
	if si, ok := h.spans[s]; ok {
		return si
	}
	var si *spanInfo
	if b, ok := h.read(s, int(h.l.spanSize)); ok {
		ps := h.l.ptrSize
		si = &spanInfo{
			base:       word(b[h.l.startAddr:], ps),
			limit:      word(b[h.l.limit:], ps),
			elemsize:   word(b[h.l.elemsize:], ps),
			freeindex:  uint64(binary.LittleEndian.Uint16(b[h.l.freeindex:])),
			nelems:     uint64(binary.LittleEndian.Uint16(b[h.l.nelems:])),
			allocBits:  word(b[h.l.allocBits:], ps),
			gcmarkBits: word(b[h.l.gcmarkBits:], ps),
			sweepgen:   binary.LittleEndian.Uint32(b[h.l.sweepgen:]),
			state:      b[h.l.state],
		}
	}
	h.spans[s] = si
	return si
}

// bit reads bit n of the gcBits at bits.
func (h *heapChecker) bit(bits, n uint64) (bool, bool) {
	if bits == 0 {
		return false, false
	}
	b, ok := h.read(bits+n/8, 1)
	if !ok {
		return false, false
	}
	return b[0]&(1<<(n%8)) != 0, true
}

// live reports whether p points into an allocated object of the Go heap
// that the current collection (if any) has not condemned: keeping it is
// then exactly as safe as any pointer the program holds. Any doubt
// answers false; a pointer wrongly dropped costs only the keep-alive.
func (h *heapChecker) live(p uint64) bool {
	s := h.spanOf(p)
	if s == 0 {
		return false // not in a heap arena: rodata, C memory, thread stacks
	}
	si := h.span(s)
	if si == nil || si.state != mSpanInUse || p < si.base || p >= si.limit || si.elemsize == 0 {
		return false // free span, goroutine stack (mSpanManual), past the end
	}
	idx := (p - si.base) / si.elemsize
	if idx >= si.nelems {
		return false
	}
	switch sg := h.sweepgen; si.sweepgen {
	case sg, sg + 3:
		// Swept: allocated below freeIndexForScan (the runtime's
		// own test for pointers out of thin air: freeindex may be
		// ahead of an object still being initialized), or marked by
		// the last cycle (allocBits), or, during a mark phase (when
		// freeIndexForScan is not advanced), allocated black or
		// already marked by this one (gcmarkBits, all clear otherwise).
		if idx < si.freeindex {
			return true
		}
		if set, ok := h.bit(si.allocBits, idx); ok && set {
			return true
		}
		set, ok := h.bit(si.gcmarkBits, idx)
		return ok && set
	case sg - 2, sg - 1, sg + 1:
		// Not swept yet: the sweeper will free every object the last
		// mark did not reach.
		set, ok := h.bit(si.gcmarkBits, idx)
		return ok && set
	}
	return false
}

// keeper collects the keep-alive pointers of one snapshot.
type keeper struct {
	heap    *heapChecker
	sc      *proc.EvalScope // of the parked goroutine, for dynamic types
	mem     proc.MemoryReadWriter
	ptrSize int
	stackLo uint64 // the parked goroutine's stack
	stackHi uint64

	ptrs    map[godwarf.Type]bool // hasPointers, memoized
	seen    map[uint64]bool
	visited map[[2]uint64]bool // (address, type offset) of stack memory walked
	words   int
	out     []uintptr
	full    bool
}

// newKeeper prepares a collection for the goroutine of sc. It fails when
// the heap metadata cannot be read, and the snapshot then keeps nothing.
func (sn *session) newKeeper(sc *proc.EvalScope) (*keeper, error) {
	h, err := sn.newHeapChecker(sc)
	if err != nil {
		return nil, err
	}
	k := &keeper{heap: h, sc: sc, mem: sn.t.Memory(), ptrSize: h.l.ptrSize, ptrs: map[godwarf.Type]bool{}, seen: map[uint64]bool{}, visited: map[[2]uint64]bool{}}
	lo, err1 := sc.EvalExpression("runtime.curg.stack.lo", loadConfig)
	hi, err2 := sc.EvalExpression("runtime.curg.stack.hi", loadConfig)
	if err1 == nil && err2 == nil && lo.Value != nil && hi.Value != nil {
		k.stackLo, _ = uint64Value(lo)
		k.stackHi, _ = uint64Value(hi)
	}
	return k, nil
}

func uint64Value(v *proc.Variable) (uint64, bool) {
	if v.Unreadable != nil || v.Value == nil {
		return 0, false
	}
	return constant.Uint64Val(v.Value)
}

// candidate considers one pointer value.
func (k *keeper) candidate(p uint64) {
	if p == 0 || k.full || k.seen[p] {
		return
	}
	k.seen[p] = true
	if k.onStack(p) {
		return
	}
	if !k.heap.live(p) {
		return
	}
	k.out = append(k.out, uintptr(p))
	if len(k.out) >= maxKeepAlive {
		k.full = true
	}
}

func (k *keeper) onStack(p uint64) bool {
	return k.stackHi != 0 && p >= k.stackLo && p < k.stackHi
}

// variable collects the pointers held in one arg or local.
func (k *keeper) variable(v *proc.Variable) {
	if k.full || v == nil {
		return
	}
	t := v.RealType
	if t == nil {
		return
	}
	if v.Addr == 0 || v.Addr >= proc.FakeAddressBase || v.Flags&proc.VariableCPURegister != 0 {
		k.loaded(v)
		return
	}
	// An escaped variable (its DWARF name is &x) lives in the heap: the
	// frame holds its address. Keeping that keeps all it points to.
	k.candidate(v.Addr)
	k.memory(v.Addr, t, 0)
}

// loaded handles a variable without memory of its own (composed from
// registers): its loaded value says where its pointers lead.
func (k *keeper) loaded(v *proc.Variable) {
	switch v.Kind {
	case reflect.Ptr, reflect.UnsafePointer:
		if len(v.Children) > 0 {
			k.candidate(v.Children[0].Addr)
		}
	case reflect.String, reflect.Slice, reflect.Map, reflect.Chan:
		k.candidate(v.Base)
	case reflect.Interface:
		if len(v.Children) > 0 {
			c := &v.Children[0]
			if c.Kind == reflect.Ptr && len(c.Children) > 0 {
				k.candidate(c.Children[0].Addr)
			} else {
				k.candidate(c.Addr)
			}
		}
	}
}

// memory walks the value of type t at addr. depth counts the pointers
// into the stack followed to get here.
func (k *keeper) memory(addr uint64, t godwarf.Type, depth int) {
	t = resolveType(t)
	if !k.hasPointers(t) {
		return
	}
	size := t.Size()
	if size <= 0 {
		return
	}
	if size > maxVarBytes {
		size = maxVarBytes
	}
	b := make([]byte, size)
	if _, err := k.mem.ReadMemory(b, addr); err != nil {
		return
	}
	k.walk(b, addr, 0, t, depth)
}

// walk visits the value of type t at offset off of b (read from base).
func (k *keeper) walk(b []byte, base uint64, off int64, t godwarf.Type, depth int) {
	if k.full || k.words > maxWalkWords {
		return
	}
	t = resolveType(t)
	if !k.hasPointers(t) {
		return
	}
	ps := int64(k.ptrSize)
	if off < 0 || off+ps > int64(len(b)) {
		return
	}
	ptrAt := func(o int64) uint64 {
		k.words++
		if o < 0 || o+ps > int64(len(b)) {
			return 0
		}
		return word(b[o:], k.ptrSize)
	}
	switch t := t.(type) {
	case *godwarf.PtrType:
		p := ptrAt(off)
		if k.onStack(p) && depth < maxStackFollow && t.Type != nil {
			key := [2]uint64{p, uint64(t.Type.Common().Offset)}
			if !k.visited[key] {
				k.visited[key] = true
				k.memory(p, t.Type, depth+1)
			}
			return
		}
		k.candidate(p)
	case *godwarf.MapType, *godwarf.ChanType, *godwarf.FuncType:
		k.candidate(ptrAt(off))
	case *godwarf.InterfaceType:
		k.candidate(ptrAt(off)) // itab or type
		data := ptrAt(off + ps)
		if k.onStack(data) {
			// A non-escaping value boxed on the stack: only the
			// dynamic type says where its pointers are.
			k.boxed(base+uint64(off), t, depth)
			return
		}
		k.candidate(data)
	case *godwarf.StringType:
		k.walkStruct(b, base, off, &t.StructType, depth)
	case *godwarf.SliceType:
		k.walkStruct(b, base, off, &t.StructType, depth)
	case *godwarf.StructType:
		k.walkStruct(b, base, off, t, depth)
	case *godwarf.ArrayType:
		elem := resolveType(t.Type)
		es := elem.Size()
		if es <= 0 || !k.hasPointers(elem) {
			return
		}
		for i := int64(0); i < t.Count && off+i*es < int64(len(b)); i++ {
			k.walk(b, base, off+i*es, elem, depth)
			if k.full || k.words > maxWalkWords {
				return
			}
		}
	}
}

// boxed walks the dynamic value of the interface of type t at addr, whose
// data word points into the goroutine's stack. Delve reads the dynamic
// type from the runtime's type descriptor.
func (k *keeper) boxed(addr uint64, t *godwarf.InterfaceType, depth int) {
	if depth >= maxStackFollow || k.sc == nil || t.Name == "" {
		return
	}
	key := [2]uint64{addr, uint64(t.Offset)}
	if k.visited[key] {
		return
	}
	k.visited[key] = true
	v, err := k.sc.EvalExpression(fmt.Sprintf("*(*%q)(%#x)", t.Name, addr), proc.LoadConfig{})
	if err != nil || v.Unreadable != nil || len(v.Children) == 0 {
		return
	}
	// The child is the data word itself, typed, for a pointer-shaped
	// dynamic type, and the value it points to otherwise.
	c := &v.Children[0]
	if c.Addr == 0 || c.Addr >= proc.FakeAddressBase || c.RealType == nil {
		return
	}
	k.memory(c.Addr, c.RealType, depth+1)
}

func (k *keeper) walkStruct(b []byte, base uint64, off int64, t *godwarf.StructType, depth int) {
	for _, f := range t.Field {
		k.walk(b, base, off+f.ByteOffset, f.Type, depth)
		if k.full {
			return
		}
	}
}

// resolveType strips typedefs and qualifiers, keeping the Go kinds that
// godwarf models as typedefs (maps, chans, interfaces).
func resolveType(t godwarf.Type) godwarf.Type {
	for i := 0; i < 64 && t != nil; i++ {
		switch tt := t.(type) {
		case *godwarf.TypedefType:
			t = tt.Type
		case *godwarf.QualType:
			t = tt.Type
		default:
			return t
		}
	}
	return t
}

// hasPointers reports whether a value of type t holds pointer words.
func (k *keeper) hasPointers(t godwarf.Type) bool {
	t = resolveType(t)
	if has, ok := k.ptrs[t]; ok {
		return has
	}
	has := hasPointers(t, 0)
	k.ptrs[t] = has
	return has
}

func hasPointers(t godwarf.Type, depth int) bool {
	if depth > 64 {
		return false
	}
	switch t := resolveType(t).(type) {
	case *godwarf.PtrType, *godwarf.MapType, *godwarf.ChanType, *godwarf.FuncType, *godwarf.InterfaceType, *godwarf.StringType, *godwarf.SliceType:
		return true
	case *godwarf.StructType:
		for _, f := range t.Field {
			if hasPointers(f.Type, depth+1) {
				return true
			}
		}
	case *godwarf.ArrayType:
		return t.Count > 0 && hasPointers(t.Type, depth+1)
	}
	return false
}
