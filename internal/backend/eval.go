package backend

import (
	"go/ast"
	"go/parser"
	"strconv"
	"strings"
	"time"

	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// Expressions and assignments in one frame of a parked goroutine, with the
// app stopped or, for reads and number assignments, running.

// needsCall reports Delve's refusal to evaluate without call injection.
// needsCall reports whether a failed evaluation should be tried again as a
// call. Delve says so in so many words for a plain function call, but a
// method through a pointer to a package variable ("has no member M") fails
// before it gets there; any failed expression with a call in it goes to the
// call path, which gives the precise reason if it cannot call either.
func needsCall(err error, expr string) bool {
	if err == nil {
		return false
	}
	return strings.Contains(err.Error(), msgNeedsCall) || hasCall(expr)
}

// builtinCalls are evaluated by Delve without injecting anything.
var builtinCalls = map[string]bool{"len": true, "cap": true, "complex": true, "real": true, "imag": true, "min": true, "max": true}

// notACall reports whether c is a builtin Delve evaluates itself, or a
// conversion to a type written as one ((*T)(p), []byte(s), (*"T")(p)).
func notACall(c *ast.CallExpr) bool {
	switch f := ast.Unparen(c.Fun).(type) {
	case *ast.Ident:
		return builtinCalls[f.Name]
	case *ast.StarExpr, *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.BasicLit:
		return true
	}
	return false
}

func hasCall(expr string) bool {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		if notACall(c) {
			return true
		}
		found = true
		return false
	})
	return found
}

// eval answers req into out: a value, or NeedCall, with a Plan when the
// app can make the call itself (plan.go).
func (sn *session) eval(req wire.EvalIn, deadline time.Time, out *wire.EvalOut) (err error) {
	if req.Call {
		out.Value, err = sn.call(req, deadline, &out.Retained)
		return err
	}
	sc, err := sn.frameScope(req.At)
	if err != nil {
		return err
	}
	if req.Ran != nil {
		out.Value, err = sn.ran(req, sc)
		return err
	}
	if lhs, rhs, ok := debugapi.SplitAssign(req.Expr); ok {
		if err := sc.SetVariable(lhs, rhs); err != nil {
			if needsCall(err, rhs) {
				out.NeedCall = true
				return nil
			}
			return evalError(err)
		}
		out.Value, _, err = sn.readBack(req, lhs)
		return err
	}
	v, err := sn.read(req, sc, req.Expr)
	if err != nil {
		if needsCall(err, req.Expr) {
			out.NeedCall = true
			out.Plan = sn.plan(req, sc)
			return nil
		}
		return evalErrorFor(err, req.Expr)
	}
	val := tree(sn.t.BinInfo(), req.Panic, req.Frame, v, req.Expr)
	val.Name = req.Expr
	out.Value = &val
	return nil
}

// read evaluates expr, an expression without calls, in req's frame.
func (sn *session) read(req wire.EvalIn, sc *proc.EvalScope, expr string) (*proc.Variable, error) {
	// The packages the frame's file imports are named by their paths:
	// a renamed import is one Delve does not know by its name, and any
	// path is found faster than a name (valueQualifier).
	req.Expr = expr
	if alt := sn.inPlace(req, sc); alt != "" && alt != expr {
		v, err := sc.EvalExpression(alt, loadConfig)
		if err == nil || needsCall(err, alt) {
			return v, err
		}
	}
	return sc.EvalExpression(expr, loadConfig)
}

// readBack answers an assignment with the new value, read in a fresh scope
// so that no cached frame memory hides the write.
func (sn *session) readBack(req wire.EvalIn, lhs string) (*debugapi.Value, bool, error) {
	sc, err := sn.frameScope(req.At)
	if err != nil {
		return nil, false, err
	}
	v, err := sc.EvalExpression(lhs, loadConfig)
	if err != nil {
		return nil, false, evalError(err)
	}
	out := tree(sn.t.BinInfo(), req.Panic, req.Frame, v, lhs)
	out.Name = lhs
	return &out, false, nil
}

// mentionsImport reports whether expr has a selector on one of the names
// in imports; false when it does not parse.
func mentionsImport(expr string, imports map[string]string) bool {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok && imports[id.Name] != "" {
				found = true
			}
		}
		return !found
	})
	return found
}

// inPlace is req.Expr with the packages its frame's file renamed named
// by path, for an evaluation in that frame's scope; "" if it cannot say.
func (sn *session) inPlace(req wire.EvalIn, sc *proc.EvalScope) string {
	if req.Frame < 0 || req.Frame >= len(req.Frames) {
		return ""
	}
	n := names{imports: sn.imports.of(req.Frames[req.Frame].File), locals: map[string]bool{}}
	if n.imports == nil || !mentionsImport(req.Expr, n.imports) {
		return ""
	}
	if sc.Fn != nil {
		n.pkg = sc.Fn.PackageName()
	}
	if vars, err := sc.Locals(0, ""); err == nil {
		for _, v := range vars {
			n.locals[v.Name] = true
		}
	}
	out, err := rewriteIn(req.Expr, inPlace, n)
	if err != nil {
		return ""
	}
	return out
}

// namesIn is what names mean in Delve's frame d (the page's req.Frame).
func (sn *session) namesIn(req wire.EvalIn, l *located, d int, locals map[string]bool) names {
	n := names{locals: locals, isFunc: func(qualified string) bool {
		return len(sn.t.BinInfo().LookupFunc()[qualified]) > 0
	}}
	if fn := l.stack[d].Call.Fn; fn != nil {
		n.pkg = fn.PackageName()
	}
	if req.Frame >= 0 && req.Frame < len(req.Frames) {
		n.imports = sn.imports.of(req.Frames[req.Frame].File)
	}
	if n.pkg != "" {
		// A package-level variable or function of the frame's package:
		// Delve finds it by its qualified name, which costs a lookup in
		// the debug information and no read of the app.
		sc := sn.scope(l, d)
		q := strconv.Quote(n.pkg) // see valueQualifier
		n.isPackageLevel = func(name string) bool {
			if n.isFunc(n.pkg + "." + name) {
				return true
			}
			_, err := sc.EvalExpression(q+"."+name, proc.LoadConfig{})
			return err == nil
		}
	}
	return n
}
