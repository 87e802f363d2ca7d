package backend

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-delve/delve/pkg/dwarf/godwarf"
	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// Calls the app makes itself. Delve's injection stops every thread of the
// app several times per call (20–30 ms, BENCHMARKS.md figure 4); but most
// calls typed into a console are one function or method applied to
// values that already sit in the app's memory, and the app can make
// those with package reflect, on a goroutine of its own, while it runs:
// the agent only reads where the values are and what the function's
// signature is. Anything else (nested calls, conversions, generic
// functions, promoted methods, values only Delve can compute) goes to
// Delve as before; so does anything this file is unsure of, since a plan
// it gets wrong would be a wrong call in the app.

// plan is req.Expr as a call the app can make itself, or nil.
func (sn *session) plan(req wire.EvalIn, sc *proc.EvalScope) (plan *wire.CallPlan) {
	defer func() {
		if recover() != nil {
			plan = nil // a planner's bug costs the fast path, not the call
		}
	}()
	if _, _, assign := debugapi.SplitAssign(req.Expr); assign || sn.optimized {
		return nil
	}
	e, err := parser.ParseExpr(req.Expr)
	if err != nil {
		return nil
	}
	// The call Go makes first; if it is the whole expression, with what
	// is read of its result (f(x).Name, f(x)[i]), the plan is for all of
	// it; else for that call, whose result the app puts in the expression
	// in its place (Within) and asks again.
	call := firstCall(e)
	if call == nil {
		return nil
	}
	whole, suffix := callOf(req.Expr, e)
	p := &planner{sn: sn, req: req, sc: sc, bi: sn.t.BinInfo(), locals: map[string]bool{}}
	if len(p.bi.Images) == 0 || !canReadSignatures() {
		return nil
	}
	if vars, err := sc.Locals(0, ""); err == nil {
		for _, v := range vars {
			p.locals[v.Name] = true
		}
	}
	plan, ok := p.build(call)
	if !ok {
		return nil
	}
	switch {
	case call != whole:
		if len(plan.Out) != 1 {
			return nil
		}
		plan.Within = []int{int(call.Pos()) - 1, int(call.End()) - 1}
	case suffix != nil:
		if len(plan.Out) != 1 {
			return nil
		}
		plan.Suffix = req.Expr[call.End()-1 : suffix.End()-1]
	}
	return plan
}

// firstCall is the call of e that Go completes first: one with no other
// call in it, the leftmost of those. Builtins (len, cap, …) and
// conversions Delve evaluates itself, and are not calls here.
func firstCall(e ast.Expr) *ast.CallExpr {
	var first *ast.CallExpr
	var walk func(n ast.Node) bool // reports whether n has a call
	walk = func(n ast.Node) bool {
		found := false
		ast.Inspect(n, func(c ast.Node) bool {
			if c == n || c == nil {
				return true
			}
			found = walk(c) || found
			return false
		})
		call, ok := n.(*ast.CallExpr)
		if !ok || notACall(call) {
			return found
		}
		if !found && (first == nil || call.Pos() < first.Pos()) {
			first = call
		}
		return true
	}
	walk(e)
	return first
}

// callOf is the call e is, and, if e reads something of the call's result
// (f(x).Name, f(x)[i]), e without its parentheses; nil if e is not that.
func callOf(expr string, e ast.Expr) (call *ast.CallExpr, suffix ast.Expr) {
	outer := ast.Unparen(e)
	call, ok := outer.(*ast.CallExpr)
	for x := outer; !ok; {
		switch s := x.(type) {
		case *ast.SelectorExpr:
			x = ast.Unparen(s.X)
		case *ast.IndexExpr:
			if hasCall(expr[s.Index.Pos()-1 : s.Index.End()-1]) {
				return nil, nil
			}
			x = ast.Unparen(s.X)
		default:
			return nil, nil
		}
		suffix = outer
		call, ok = x.(*ast.CallExpr)
	}
	return call, suffix
}

type planner struct {
	sn     *session
	req    wire.EvalIn
	sc     *proc.EvalScope
	bi     *proc.BinaryInfo
	locals map[string]bool
	plan   wire.CallPlan
	// lo and hi bound the parked goroutine's stack, once read.
	lo, hi uint64
}

// src is the text of n in the expression.
func (p *planner) src(n ast.Node) string {
	return p.req.Expr[n.Pos()-1 : n.End()-1]
}

func (p *planner) read(n ast.Node) (*proc.Variable, bool) {
	v, err := p.sn.read(p.req, p.sc, p.src(n))
	return v, err == nil && v != nil && v.Unreadable == nil
}

func (p *planner) lookup(name string) *proc.Function {
	if fns := p.bi.LookupFunc()[name]; len(fns) == 1 {
		return fns[0]
	}
	return nil
}

// build fills p.plan for call; false when the app should not make it.
func (p *planner) build(call *ast.CallExpr) (*wire.CallPlan, bool) {
	var fn *proc.Function
	switch f := call.Fun.(type) {
	case *ast.Ident:
		if p.locals[f.Name] {
			// A func value: the closure it holds is what is called.
			v, ok := p.read(f)
			if !ok || v.Kind != reflect.Func || v.Addr == 0 {
				return nil, false
			}
			closure, ok := p.word(v.Addr)
			if !ok || closure == 0 {
				return nil, false
			}
			entry, ok := p.word(closure)
			if !ok {
				return nil, false
			}
			if fn = p.bi.PCToFunc(entry); fn == nil || fn.Entry != entry {
				return nil, false
			}
			p.plan.Closure = closure
			// A closure that never escaped is on the parked stack, and
			// so are the variables it captured.
			p.noteStack(closure)
		} else if pkg := p.pkg(); pkg != "" {
			fn = p.lookup(pkg + "." + f.Name)
		}
	case *ast.SelectorExpr:
		if id, ok := f.X.(*ast.Ident); ok && !p.locals[id.Name] {
			if path := p.imports()[id.Name]; path != "" {
				fn = p.lookup(path + "." + f.Sel.Name)
				break
			}
		}
		var ok bool
		if fn, ok = p.receiver(f); !ok {
			return nil, false
		}
	}
	// Only the executable's functions: its types are the ones the app
	// finds from int's.
	if fn == nil || strings.Contains(fn.Name, "[") || fn.Optimized() || p.bi.PCToImage(fn.Entry) != p.bi.Images[0] {
		return nil, false
	}
	in, out, names, ok := p.signature(fn)
	if !ok {
		return nil, false
	}
	recv := len(p.plan.Args)
	n := recv + len(call.Args)
	variadic, _ := p.sn.variadic(fn, len(in)-recv)
	switch {
	case variadic && call.Ellipsis.IsValid(): // f(xs...)
		p.plan.Spread = n == len(in)
		ok = p.plan.Spread
	case variadic:
		ok = n >= len(in)-1
	default:
		ok = n == len(in) && !call.Ellipsis.IsValid()
	}
	if !ok {
		return nil, false
	}
	p.plan.Variadic = variadic
	for _, a := range call.Args {
		arg, ok := p.arg(a)
		if !ok {
			return nil, false
		}
		p.plan.Args = append(p.plan.Args, arg)
	}
	for _, t := range in {
		r, ok := p.ref(t)
		if !ok {
			return nil, false
		}
		p.plan.In = append(p.plan.In, r)
	}
	for i, a := range p.plan.Args {
		param := p.plan.In[min(i, len(in)-1)]
		if variadic && !p.plan.Spread && i >= len(in)-1 {
			st, ok := resolveTypedef(in[len(in)-1]).(*godwarf.SliceType)
			if !ok {
				return nil, false
			}
			if param, ok = p.ref(st.ElemType); !ok {
				return nil, false
			}
		}
		// A value passed as unsafe.Pointer only to a parameter passed
		// the same way: in an interface it would be the wrong type.
		if (a.Type.Builtin == "unsafe") != (param.Builtin == "unsafe") {
			return nil, false
		}
	}
	for _, t := range out {
		r, ok := p.ref(t)
		if !ok {
			return nil, false
		}
		p.plan.Out = append(p.plan.Out, r)
		p.plan.OutTypes = append(p.plan.OutTypes, t.String())
	}
	p.plan.OutNames = names
	intType, err := p.bi.FindType("int")
	if err != nil {
		return nil, false
	}
	if p.plan.IntType, ok = p.sn.runtimeType(intType); !ok {
		return nil, false
	}
	p.plan.Func, p.plan.Entry = fn.Name, fn.Entry
	return &p.plan, true
}

func (p *planner) pkg() string {
	if p.sc.Fn == nil {
		return ""
	}
	return p.sc.Fn.PackageName()
}

func (p *planner) imports() map[string]string {
	if p.req.Frame < 0 || p.req.Frame >= len(p.req.Frames) {
		return nil
	}
	return p.sn.imports.of(p.req.Frames[p.req.Frame].File)
}

// receiver finds the method f names and appends its receiver to the
// plan's arguments, as Go's method sets and automatic & and * have it.
func (p *planner) receiver(f *ast.SelectorExpr) (*proc.Function, bool) {
	v, ok := p.read(f.X)
	if !ok {
		return nil, false
	}
	t := resolveTypedef(v.RealType)
	// recv is the value the method is called on, named by where it lives.
	var recv struct {
		addr  uint64 // where the value is
		typ   godwarf.Type
		isPtr bool // the value is a pointer to a named type
	}
	switch t.(type) {
	case *godwarf.InterfaceType:
		// The dynamic value, when it is a pointer: it is the interface's
		// data word. Other dynamic types Delve calls.
		if v.Addr == 0 || len(v.Children) != 1 || v.Children[0].Kind != reflect.Ptr {
			return nil, false
		}
		recv.addr, recv.typ, recv.isPtr = v.Addr+uint64(p.bi.Arch.PtrSize()), v.Children[0].DwarfType, true
	case *godwarf.PtrType:
		recv.addr, recv.typ, recv.isPtr = v.Addr, v.DwarfType, true
		if v.Addr == 0 && len(v.Children) == 1 && v.Children[0].Addr != 0 {
			// &x: call on x's address.
			recv.addr, recv.typ, recv.isPtr = v.Children[0].Addr, v.Children[0].DwarfType, false
		}
	default:
		recv.addr, recv.typ = v.Addr, v.DwarfType
	}
	if recv.addr == 0 || recv.typ == nil {
		return nil, false
	}
	named := recv.typ
	if recv.isPtr {
		pt, ok := resolveTypedef(recv.typ).(*godwarf.PtrType)
		if !ok {
			return nil, false
		}
		named = pt.Type
	}
	pkg, base, ok := splitTypeName(named.Common().Name)
	if !ok {
		return nil, false
	}
	// A method declared on the value has a pointer twin the compiler
	// wrote (without a signature in the debug information): with both,
	// the value's is the method.
	byVal := p.lookup(pkg + "." + base + "." + f.Sel.Name)
	byPtr := p.lookup(pkg + ".(*" + base + ")." + f.Sel.Name)
	var fn *proc.Function
	arg, typ := wire.CallArg{Addr: recv.addr}, named
	switch {
	case byVal != nil && recv.isPtr:
		// (*x).M(): the pointer must not be nil, which Delve reports.
		target, ok := p.word(recv.addr)
		if !ok || target == 0 {
			return nil, false
		}
		fn, arg.Addr = byVal, target
	case byVal != nil:
		fn = byVal
	case byPtr != nil && recv.isPtr:
		fn, typ = byPtr, recv.typ
	case byPtr != nil:
		// (&x).M(): x is addressable, since it has an address.
		fn, arg.AddrOf = byPtr, true
		p.noteStack(recv.addr)
	default:
		return nil, false
	}
	p.plan.Args = append(p.plan.Args, arg)
	return fn, p.typed(&p.plan.Args[0], typ)
}

// typed sets a's type to t's runtime type, and notes a pointer into the
// parked stack in the value a names.
func (p *planner) typed(a *wire.CallArg, t godwarf.Type) bool {
	r, ok := p.ref(t)
	if !ok {
		return false
	}
	a.Type = r
	if !a.AddrOf && a.Addr != 0 {
		p.scanForStack(a.Addr, t.Size())
	}
	return true
}

// arg is one argument of the call.
func (p *planner) arg(e ast.Expr) (wire.CallArg, bool) {
	if c, ok := constArg(e, p.locals); ok {
		return c, true
	}
	v, ok := p.read(e)
	if !ok {
		return wire.CallArg{}, false
	}
	if v.Addr != 0 && v.Addr < proc.FakeAddressBase && v.DwarfType != nil {
		a := wire.CallArg{Addr: v.Addr}
		return a, p.typed(&a, v.DwarfType)
	}
	// A value Delve computed (total+1, len(s)): a constant of its type.
	if v.Value == nil {
		return wire.CallArg{}, false
	}
	a := wire.CallArg{Const: v.Value.ExactString()}
	switch v.Value.Kind() {
	case constant.Int:
		a.ConstKind = "int"
	case constant.Float:
		a.ConstKind = "float"
		f, _ := constant.Float64Val(v.Value)
		a.Const = strconv.FormatFloat(f, 'g', -1, 64)
	case constant.Bool:
		a.ConstKind = "bool"
	case constant.String:
		a.ConstKind = "string"
		a.Const = constant.StringVal(v.Value)
		if int64(len(a.Const)) != v.Len {
			return wire.CallArg{}, false // not loaded whole
		}
	default:
		return wire.CallArg{}, false
	}
	if v.DwarfType == nil {
		return a, true // as an untyped constant: int, float64, string, bool
	}
	r, ok := p.ref(v.DwarfType)
	a.Type = r
	return a, ok
}

// constArg is e as an untyped constant, if it is a literal.
func constArg(e ast.Expr, locals map[string]bool) (wire.CallArg, bool) {
	neg := ""
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, e = "-", u.X
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT:
			return wire.CallArg{Const: neg + x.Value, ConstKind: "int"}, true
		case token.FLOAT:
			return wire.CallArg{Const: neg + x.Value, ConstKind: "float"}, true
		case token.CHAR:
			r, _, _, err := strconv.UnquoteChar(x.Value[1:len(x.Value)-1], '\'')
			if err != nil || neg != "" {
				return wire.CallArg{}, false
			}
			return wire.CallArg{Const: strconv.Itoa(int(r)), ConstKind: "char"}, true
		case token.STRING:
			s, err := strconv.Unquote(x.Value)
			if err != nil || neg != "" {
				return wire.CallArg{}, false
			}
			return wire.CallArg{Const: s, ConstKind: "string"}, true
		}
	case *ast.Ident:
		if locals[x.Name] || neg != "" {
			return wire.CallArg{}, false
		}
		switch x.Name {
		case "true", "false":
			return wire.CallArg{Const: x.Name, ConstKind: "bool"}, true
		case "nil":
			return wire.CallArg{ConstKind: "nil"}, true
		}
	}
	return wire.CallArg{}, false
}

// ref is t's runtime type; or a pointer to its element's; or, as the
// linker gives no runtime type to a type no code of the app converts
// to an interface or allocates, one that passes in the same registers.
func (p *planner) ref(t godwarf.Type) (wire.TypeRef, bool) {
	kind, size := kindSize(t)
	if off, ok := p.sn.runtimeType(t); ok {
		return wire.TypeRef{Off: off, Kind: uint8(kind), Size: size}, true
	}
	switch t.Common().Name {
	case "interface {}", "any":
		return wire.TypeRef{Builtin: "any"}, true
	case "error":
		return wire.TypeRef{Builtin: "error"}, true
	}
	if pt, ok := resolveTypedef(t).(*godwarf.PtrType); ok && t.Common().Name == "*"+pt.Type.Common().Name {
		if off, ok := p.sn.runtimeType(pt.Type); ok {
			k, s := kindSize(pt.Type)
			return wire.TypeRef{Off: off, Ptr: true, Kind: uint8(k), Size: s}, true
		}
	}
	switch kind {
	case reflect.Ptr, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return wire.TypeRef{Builtin: "unsafe"}, true
	}
	return wire.TypeRef{}, false
}

func kindSize(t godwarf.Type) (reflect.Kind, int64) {
	k := t.Common().ReflectKind
	if k == reflect.Invalid {
		k = resolveTypedef(t).Common().ReflectKind
	}
	return k, t.Size()
}

func resolveTypedef(t godwarf.Type) godwarf.Type {
	for {
		td, ok := t.(*godwarf.TypedefType)
		if !ok {
			return t
		}
		t = td.Type
	}
}

// splitTypeName splits a named type's DWARF name into its package's path
// and its name; false for types that methods cannot be looked up by.
func splitTypeName(name string) (pkg, base string, ok bool) {
	if strings.ContainsAny(name, "[*(") {
		return "", "", false
	}
	i := strings.LastIndexByte(name, '.')
	if i <= strings.LastIndexByte(name, '/') {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

func (p *planner) word(addr uint64) (uint64, bool) {
	var b [8]byte
	n := p.bi.Arch.PtrSize()
	if _, err := p.sc.Mem.ReadMemory(b[:n], addr); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

// stackBounds reads the parked goroutine's stack, once.
func (p *planner) stackBounds() bool {
	if p.hi != 0 {
		return true
	}
	lo, err1 := p.sc.EvalExpression("runtime.curg.stack.lo", proc.LoadConfig{})
	hi, err2 := p.sc.EvalExpression("runtime.curg.stack.hi", proc.LoadConfig{})
	if err1 != nil || err2 != nil || lo.Value == nil || hi.Value == nil {
		return false
	}
	l, _ := constant.Uint64Val(lo.Value)
	h, _ := constant.Uint64Val(hi.Value)
	p.lo, p.hi = l, h
	return h > l
}

// noteStack marks the plan as handing the callee addr when it points into
// the parked stack, or when the stack cannot be read.
func (p *planner) noteStack(addr uint64) {
	if !p.stackBounds() || (addr >= p.lo && addr < p.hi) {
		p.plan.StackPointers = true
	}
}

// scanForStack marks the plan if any word of the size bytes at addr
// points into the parked stack. Only the value itself matters: a heap
// object never points into a stack, so a pointer into the parked frames
// reaches the callee through the argument's own words or not at all.
func (p *planner) scanForStack(addr uint64, size int64) {
	const most = 64 << 10
	if size <= 0 {
		return
	}
	if size > most || !p.stackBounds() {
		p.plan.StackPointers = true
		return
	}
	buf := make([]byte, size)
	if _, err := p.sc.Mem.ReadMemory(buf, addr); err != nil {
		p.plan.StackPointers = true
		return
	}
	ps := p.bi.Arch.PtrSize()
	for i := 0; i+ps <= len(buf); i += ps {
		if w := binary.LittleEndian.Uint64(buf[i : i+8]); w >= p.lo && w < p.hi {
			p.plan.StackPointers = true
			return
		}
	}
}

// signature is fn's parameters (the receiver first) and results, with
// the results' names, from its subprogram's formal parameters.
func (p *planner) signature(fn *proc.Function) (in, out []godwarf.Type, names []string, ok bool) {
	d, off, ok := subprogram(p.bi, fn)
	if !ok {
		return nil, nil, nil, false
	}
	r := d.Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil || e == nil || e.Tag != dwarf.TagSubprogram {
		return nil, nil, nil, false
	}
	if !e.Children {
		return nil, nil, nil, true
	}
	img := p.bi.Images[0]
	for {
		c, err := r.Next()
		if err != nil || c == nil {
			return nil, nil, nil, false
		}
		if c.Tag == 0 {
			return in, out, names, true
		}
		if c.Tag == dwarf.TagFormalParameter {
			toff, ok := c.Val(dwarf.AttrType).(dwarf.Offset)
			if !ok {
				return nil, nil, nil, false
			}
			t, err := img.Type(toff)
			if err != nil {
				return nil, nil, nil, false
			}
			if ret, _ := c.Val(dwarf.AttrVarParam).(bool); ret {
				out = append(out, t)
				name, _ := c.Val(dwarf.AttrName).(string)
				names = append(names, name)
			} else {
				in = append(in, t)
			}
		}
		if c.Children {
			r.SkipChildren()
		}
	}
}

// runtimeType is the offset of t's runtime type among the module's types
// (the linker's DW_AT_go_runtime_type); false if it has none.
func (sn *session) runtimeType(t godwarf.Type) (uint64, bool) {
	c := t.Common()
	if c.Index != 0 {
		return 0, false
	}
	if sn.rtypes == nil {
		sn.rtypes = map[dwarf.Offset]uint64{}
	}
	if off, ok := sn.rtypes[c.Offset]; ok {
		return off, off != 0
	}
	var off uint64
	if d := delveDWARF(sn.t.BinInfo()); d != nil {
		r := d.Reader()
		r.Seek(c.Offset)
		if e, err := r.Next(); err == nil && e != nil {
			off, _ = e.Val(godwarf.AttrGoRuntimeType).(uint64)
		}
	}
	// A named struct is a typedef of a struct of the same name, which
	// has the runtime type; another typedef's underlying type is a
	// different type, whose runtime type this is not.
	if td, ok := t.(*godwarf.TypedefType); ok && off == 0 && td.Type.Common().Name == c.Name {
		off, _ = sn.runtimeType(td.Type)
	}
	sn.rtypes[c.Offset] = off
	return off, off != 0
}

// ran answers a call the app made from a CallPlan: its values, read
// where the app put them.
func (sn *session) ran(req wire.EvalIn, sc *proc.EvalScope) (*debugapi.Value, error) {
	bi := sn.t.BinInfo()
	vals := make([]debugapi.Value, 0, len(req.Ran.Values))
	for i, addr := range req.Ran.Values {
		expr := fmt.Sprintf("*(*interface {})(%#x)", addr)
		if !req.Ran.Panicked {
			if i >= len(req.Ran.OutTypes) {
				return nil, debugapi.Errorf(debugapi.CodeEval, "the call gave %d values for %d results", len(req.Ran.Values), len(req.Ran.OutTypes))
			}
			expr = fmt.Sprintf("*(*%q)(%#x)", req.Ran.OutTypes[i], addr)
		}
		if req.Ran.Suffix != "" && !req.Ran.Panicked {
			expr = "(" + expr + ")" + req.Ran.Suffix
		}
		v, err := sc.EvalExpression(expr, loadConfig)
		if err != nil {
			return nil, evalErrorFor(err, req.Expr)
		}
		val := tree(bi, req.Panic, req.Frame, v, expr)
		if req.Ran.Panicked {
			val.Name = "panic"
			msg := "the call panicked: " + req.Ran.PanicMessage
			if req.Ran.PanicMessage == "" {
				msg = "the call panicked: " + val.Value + " " + firstChildValue(val)
			}
			return nil, &debugapi.Error{Code: debugapi.CodeCallPanicked, Msg: msg, Value: &val}
		}
		if i < len(req.Ran.OutNames) && req.Ran.Suffix == "" {
			val.Name = goName(req.Ran.OutNames[i])
		}
		vals = append(vals, val)
	}
	switch len(vals) {
	case 0:
		return &debugapi.Value{Name: req.Expr, Kind: "invalid", Value: "(no result)", Len: -1, Cap: -1}, nil
	case 1:
		vals[0].Name = req.Expr
		return &vals[0], nil
	}
	out := debugapi.Value{Name: req.Expr, Kind: "results", Len: int64(len(vals)), Cap: -1, Children: vals}
	types := make([]string, 0, len(vals))
	for _, c := range vals {
		types = append(types, c.Type)
	}
	out.Type = "(" + strings.Join(types, ", ") + ")"
	return &out, nil
}
