package agent

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// Calls the app makes itself, from the agent's CallPlan (backend's
// plan.go): the function and its arguments are built with package reflect
// and called on a goroutine of the app's own, while the app runs. No
// thread is stopped and the parked goroutine stays in its read(2), so its
// frames cannot move; a call that never returns keeps only that goroutine.

// envCalls, set to "inject", makes every call go through Delve's
// injection: the fault tests of that path use it.
const envCalls = "PANICROOM_INTERNAL_CALLS"

var injectOnly = os.Getenv(envCalls) == "inject"

// maxCallsPerExpr bounds the calls the app makes for one expression,
// one after the other (f(g(h())) is three).
const maxCallsPerExpr = 32

// callDirect makes the calls of wr's expression that plans cover, one by
// one in Go's order, each result put in the expression in the call's
// place, and gives the rest to Delve if a later step has no plan. done is
// false when the app could not make the first call after all (a type or
// value it does not accept) and nothing was called: the caller goes to
// Delve with the whole expression.
func (a *Client) callDirect(ctx context.Context, r *record, wr wire.EvalIn, plan *wire.CallPlan) (v *debugapi.Value, done bool, err error) {
	if injectOnly || r.p.Parked == nil || r.p.Parked.Lost() != "" {
		return nil, false, nil
	}
	expr := wr.Expr
	// Every result stays reachable until the next expression: the last
	// for the console's expansions of it, the others until the calls
	// they were passed to are over.
	var kept []any
	defer func() { r.results.Store(&kept) }()
	note := false
	named := func(v *debugapi.Value, err error) (*debugapi.Value, bool, error) {
		if v != nil {
			v.Name = expr
			if note {
				v.Note = debugapi.RetainNote
			}
		}
		return v, true, err
	}
	for step := 0; ; step++ {
		o, noted, ok, err := a.makeCall(ctx, r, plan)
		switch {
		case !ok && step == 0:
			return nil, false, nil
		case !ok:
			return named(a.evalWithCall(ctx, r, wr))
		case err != nil:
			return nil, true, err
		}
		note = note || noted
		kept = append(kept, o.vals...)
		if plan.Within == nil || o.panicked {
			wr.Ran = &wire.CallRan{Values: o.addrs, Panicked: o.panicked, PanicMessage: o.message, OutTypes: plan.OutTypes, OutNames: plan.OutNames, Suffix: plan.Suffix}
			ans, err := a.request(ctx, wire.Request{Eval: &wr})
			runtime.KeepAlive(kept)
			if err != nil {
				return nil, true, err
			}
			if ans.Eval == nil || ans.Eval.Value == nil {
				return nil, true, debugapi.Errorf(debugapi.CodeEval, "the agent answered a call with no value")
			}
			return named(ans.Eval.Value, nil)
		}
		// The rest of the expression, with the result read where it is.
		w := plan.Within
		if len(w) != 2 || w[0] < 0 || w[1] > len(wr.Expr) || w[0] > w[1] || len(o.addrs) != 1 || len(plan.OutTypes) != 1 || step == maxCallsPerExpr {
			return nil, true, debugapi.Errorf(debugapi.CodeEval, "the agent's plan for %s does not fit it", expr)
		}
		wr.Expr = wr.Expr[:w[0]] + fmt.Sprintf("(*(*%q)(%#x))", plan.OutTypes[0], o.addrs[0]) + wr.Expr[w[1]:]
		ans, err := a.request(ctx, wire.Request{Eval: &wr})
		runtime.KeepAlive(kept)
		switch {
		case err != nil:
			return nil, true, err
		case ans.Eval == nil:
			return nil, true, debugapi.Errorf(debugapi.CodeEval, "the agent answered an evaluation with no value")
		case !ans.Eval.NeedCall:
			return named(ans.Eval.Value, nil)
		case ans.Eval.Plan == nil:
			return named(a.evalWithCall(ctx, r, wr))
		}
		plan = ans.Eval.Plan
	}
}

// outcome is what a call gave: each result kept in a new variable of its
// type, where the agent reads it as the type the function declares (the
// type passed here may be a stand-in), or a panic's value in an
// interface.
type outcome struct {
	vals     []any // pointers to the values
	addrs    []uint64
	panicked bool
	message  string // the panic's (panicMessage)
	exited   bool
}

// panicMessage is p as the console shows a panic's value: an error's
// Error and a Stringer's String, as Go prints them, a string quoted as
// the console shows strings; "" if those panic too.
func panicMessage(p any) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	switch v := p.(type) {
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(p)
}

// makeCall makes plan's one call. ok is false when the app cannot make
// it after all, and nothing was called; noted, when it was handed
// pointers into the parked frames for the first time.
func (a *Client) makeCall(ctx context.Context, r *record, plan *wire.CallPlan) (o outcome, noted, ok bool, err error) {
	fn, in, ok := planFunc(plan)
	if !ok {
		return o, false, false, nil
	}
	// The arguments are copied out of the frames before the call, while
	// the goroutine is held parked: a release meanwhile would let it run
	// on that memory.
	unhold, ok := r.p.Parked.Hold()
	if !ok {
		return o, false, true, debugapi.Errorf(debugapi.CodeReleased, "the panic's goroutine was released; its frames are gone")
	}
	args, ok, err := planArgs(plan, in)
	if err != nil {
		unhold()
		return o, false, true, err
	}
	if ok && plan.StackPointers {
		// The callee gets pointers into the parked frames, and may keep
		// them: the frames are kept for good from now on, before the
		// call, so that no release can come between the two.
		ok = r.p.Retain != nil && r.p.Retain(true) && r.p.Retain(false)
	}
	unhold()
	if !ok {
		return o, false, false, nil
	}
	noted = plan.StackPointers && !r.shared.Swap(true)

	did := make(chan outcome, 1)
	go func() {
		o := outcome{exited: true}
		defer func() {
			if o.exited {
				if p := recover(); p != nil {
					pv := &p
					o = outcome{vals: []any{pv}, addrs: []uint64{uint64(uintptr(unsafe.Pointer(pv)))}, panicked: true, message: panicMessage(p)}
				}
			}
			did <- o
		}()
		call := fn.Call
		if plan.Spread {
			call = fn.CallSlice
		}
		for _, v := range call(args) {
			p := reflect.New(v.Type())
			p.Elem().Set(v)
			o.vals = append(o.vals, p.Interface())
			o.addrs = append(o.addrs, uint64(p.Pointer()))
		}
		o.exited = false
	}()
	select {
	case o = <-did:
	case <-ctx.Done():
		return o, noted, true, debugapi.Errorf(debugapi.CodeTimeout, "%v; the call keeps running in the app, on a goroutine of its own", ctx.Err())
	case <-time.After(a.opts.Timeout):
		return o, noted, true, debugapi.Errorf(debugapi.CodeTimeout, "the call did not return within %v; it keeps running in the app, on a goroutine of its own (this panic's frames are untouched: reads and other calls still work)", a.opts.Timeout)
	}
	if o.exited && !o.panicked {
		return o, noted, true, debugapi.Errorf(debugapi.CodeCall, "the call ended its goroutine (runtime.Goexit) without returning")
	}
	return o, noted, true, nil
}

// typesBase is where the module's runtime types start: int's type less
// its offset among them.
func typesBase(intOff uint64) uintptr {
	e := any(0)
	return uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&e))[0]) - uintptr(intOff)
}

// typeOf is the runtime type ref names, checked against its kind and
// size; nil if it does not match.
func typeOf(base uintptr, ref wire.TypeRef) reflect.Type {
	switch ref.Builtin {
	case "":
	case "any":
		return reflect.TypeFor[any]()
	case "error":
		return reflect.TypeFor[error]()
	case "unsafe":
		return reflect.TypeFor[unsafe.Pointer]()
	default:
		return nil
	}
	var e any
	(*[2]unsafe.Pointer)(unsafe.Pointer(&e))[0] = unsafe.Add(nil, base+uintptr(ref.Off))
	t := reflect.TypeOf(e)
	if t == nil || (ref.Kind != 0 && t.Kind() != reflect.Kind(ref.Kind)) || t.Size() != uintptr(ref.Size) {
		return nil
	}
	if ref.Ptr {
		t = reflect.PointerTo(t)
	}
	return t
}

// build is the plan's function as a reflect value, and its parameters'
// types; false if a type does not check, or the entry is not the named
// function's.
func planFunc(p *wire.CallPlan) (fn reflect.Value, in []reflect.Type, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // FuncOf refused the types
		}
	}()
	if f := runtime.FuncForPC(uintptr(p.Entry)); f == nil || f.Entry() != uintptr(p.Entry) || f.Name() != p.Func {
		return reflect.Value{}, nil, false
	}
	base := typesBase(p.IntType)
	if typeOf(base, wire.TypeRef{Off: p.IntType, Kind: uint8(reflect.Int), Size: int64(unsafe.Sizeof(0))}) != reflect.TypeFor[int]() {
		return reflect.Value{}, nil, false
	}
	out := make([]reflect.Type, len(p.Out))
	in = make([]reflect.Type, len(p.In))
	for i, r := range p.In {
		if in[i] = typeOf(base, r); in[i] == nil {
			return reflect.Value{}, nil, false
		}
	}
	for i, r := range p.Out {
		if out[i] = typeOf(base, r); out[i] == nil {
			return reflect.Value{}, nil, false
		}
	}
	if p.Variadic && (len(in) == 0 || in[len(in)-1].Kind() != reflect.Slice) {
		return reflect.Value{}, nil, false
	}
	ft := reflect.FuncOf(in, out, p.Variadic)
	// A func value is a pointer to its code's address, followed by what
	// a closure captured.
	var fv unsafe.Pointer
	if p.Closure != 0 {
		fv = *(*unsafe.Pointer)(unsafe.Pointer(&p.Closure))
		if *(*uintptr)(fv) != uintptr(p.Entry) {
			return reflect.Value{}, nil, false
		}
	} else {
		code := new(uintptr)
		*code = uintptr(p.Entry)
		fv = unsafe.Pointer(code)
	}
	return reflect.NewAt(ft, unsafe.Pointer(&fv)).Elem(), in, true
}

// planArgs are the plan's arguments, copied out of the app's memory and
// converted to the parameters' types; false if one is not assignable;
// an error for a constant Go would refuse.
func planArgs(p *wire.CallPlan, in []reflect.Type) ([]reflect.Value, bool, error) {
	packed := p.Variadic && !p.Spread
	if len(p.Args) != len(in) && (!packed || len(p.Args) < len(in)-1) {
		return nil, false, nil
	}
	base := typesBase(p.IntType)
	out := make([]reflect.Value, len(p.Args))
	for i, a := range p.Args {
		param := in[min(i, len(in)-1)]
		if packed && i >= len(in)-1 {
			param = param.Elem()
		}
		var v reflect.Value
		var ok bool
		if a.ConstKind != "" {
			var err error
			if v, ok, err = constValue(a, base, param); err != nil {
				return nil, false, err
			}
		} else {
			t := typeOf(base, a.Type)
			if t == nil || a.Addr == 0 {
				return nil, false, nil
			}
			ptr := *(*unsafe.Pointer)(unsafe.Pointer(&a.Addr))
			v, ok = reflect.NewAt(t, ptr), true
			if !a.AddrOf {
				c := reflect.New(t).Elem()
				c.Set(v.Elem())
				v = c
			}
		}
		if !ok || !v.Type().AssignableTo(param) {
			return nil, false, nil
		}
		out[i] = v
	}
	return out, true, nil
}

// constValue is a constant argument as a value of its own type, if it
// has one, or else of param's type (or its default type, for an
// interface), as Go converts an untyped constant; an error where Go
// would refuse it, false where the app leaves it to Delve.
func constValue(a wire.CallArg, base uintptr, param reflect.Type) (reflect.Value, bool, error) {
	if a.ConstKind == "nil" {
		switch param.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return reflect.Zero(param), true, nil
		}
		return reflect.Value{}, false, nil
	}
	target := param
	if a.Type.Off != 0 || a.Type.Builtin != "" {
		if target = typeOf(base, a.Type); target == nil {
			return reflect.Value{}, false, nil
		}
	} else if param.Kind() == reflect.Interface {
		target = map[string]reflect.Type{"int": reflect.TypeFor[int](), "char": reflect.TypeFor[rune](), "float": reflect.TypeFor[float64](),
			"string": reflect.TypeFor[string](), "bool": reflect.TypeFor[bool]()}[a.ConstKind]
	}
	if target == nil {
		return reflect.Value{}, false, nil
	}
	v := reflect.New(target).Elem()
	k := target.Kind()
	refuse := func() (reflect.Value, bool, error) {
		return reflect.Value{}, false, debugapi.Errorf(debugapi.CodeEval, "cannot use %s (untyped %s constant) as %s value: it does not fit", a.Const, a.ConstKind, target)
	}
	switch {
	case (a.ConstKind == "int" || a.ConstKind == "char") && k >= reflect.Int && k <= reflect.Int64:
		i, err := strconv.ParseInt(a.Const, 0, 64)
		if err != nil || v.OverflowInt(i) {
			return refuse()
		}
		v.SetInt(i)
	case (a.ConstKind == "int" || a.ConstKind == "char") && k >= reflect.Uint && k <= reflect.Uintptr:
		u, err := strconv.ParseUint(a.Const, 0, 64)
		if err != nil || v.OverflowUint(u) {
			return refuse()
		}
		v.SetUint(u)
	case (a.ConstKind == "int" || a.ConstKind == "char" || a.ConstKind == "float") && (k == reflect.Float32 || k == reflect.Float64):
		f, err := strconv.ParseFloat(a.Const, 64)
		if err != nil || v.OverflowFloat(f) {
			return refuse()
		}
		v.SetFloat(f)
	case a.ConstKind == "string" && k == reflect.String:
		v.SetString(a.Const)
	case a.ConstKind == "bool" && k == reflect.Bool:
		v.SetBool(a.Const == "true")
	default:
		return reflect.Value{}, false, nil // Delve names the mismatch
	}
	return v, true, nil
}
