package debugger

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/scanner"
	"go/token"
	"strconv"
	"strings"
)

// Delve injects calls from the topmost frame of the goroutine only, and
// there the topmost frame is spin in this package. So an expression
// meant for frame N is rewritten before injection:
//
//   - identifiers that are args or locals of frame N become
//     runtime.frame(N).name, Delve's own syntax for another frame's locals;
//   - other unqualified identifiers that are not predeclared are qualified
//     with frame N's package, because spin's package would be
//     searched otherwise;
//   - selectors (x.f), struct literal keys, and package names (pkg.F) are
//     left alone; function literals' own parameters shadow frame N's names.
//
// Assignments "lhs = rhs" are split at the first top-level "=" and each side
// is rewritten on its own.

// checkSyntax refuses, as CodeSyntax, an expression or assignment that is
// not Go, naming the column: Delve's own parse errors would come back as
// evaluation failures, without the hint the console gives for syntax.
func checkSyntax(expr string) error {
	sides := []string{expr}
	if lhs, rhs, ok := splitAssign(expr); ok {
		sides = []string{lhs, rhs}
	}
	for i, side := range sides {
		_, err := parser.ParseExpr(side)
		if err == nil {
			continue
		}
		msg := err.Error()
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			// Both sides are trimmed: the left one starts the expression's
			// text, the right one ends it.
			off := strings.Index(expr, side)
			if i == 1 {
				off = strings.LastIndex(expr, side)
			}
			msg = fmt.Sprintf("column %d: %s", off+list[0].Pos.Column, list[0].Msg)
		}
		if len(sides) == 2 {
			return errorf(CodeSyntax, "the %s side of the assignment is not a Go expression: %s", [2]string{"left", "right"}[i], msg)
		}
		return errorf(CodeSyntax, "not a Go expression: %s", msg)
	}
	return nil
}

// rewrite returns expr in the topmost frame's terms. locals are the names
// visible in frame N; pkg is the import path of frame N's function.
func rewrite(expr string, frame int, locals map[string]bool, pkg string) (string, error) {
	if lhs, rhs, ok := splitAssign(expr); ok {
		l, err := rewriteExpr(lhs, frame, locals, pkg)
		if err != nil {
			return "", err
		}
		r, err := rewriteExpr(rhs, frame, locals, pkg)
		if err != nil {
			return "", err
		}
		return l + " = " + r, nil
	}
	return rewriteExpr(expr, frame, locals, pkg)
}

// splitAssign finds a top-level "=" (not ==, :=, <=, ...).
func splitAssign(expr string) (lhs, rhs string, ok bool) {
	var s scanner.Scanner
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(expr))
	s.Init(file, []byte(expr), nil, 0)
	depth := 0
	for {
		pos, tok, _ := s.Scan()
		switch tok {
		case token.EOF:
			return "", "", false
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		case token.ASSIGN:
			if depth == 0 {
				off := file.Offset(pos)
				return strings.TrimSpace(expr[:off]), strings.TrimSpace(expr[off+1:]), true
			}
		}
	}
}

var predeclared = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`bool byte complex64 complex128 error float32 float64
		int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr any comparable
		true false iota nil
		append cap clear close complex copy delete imag len make max min new panic print println real recover
		runtime`) {
		predeclared[n] = true
	}
}

func rewriteExpr(src string, frame int, locals map[string]bool, pkg string) (string, error) {
	e, err := parser.ParseExpr(src)
	if err != nil {
		return "", errorf(CodeSyntax, "%v", err)
	}
	r := &rewriter{frame: frame, locals: locals, pkg: pkg}
	e = r.expr(e, nil)
	var buf bytes.Buffer
	if err := format.Node(&buf, token.NewFileSet(), e); err != nil {
		return "", fmt.Errorf("printing rewritten expression: %w", err)
	}
	return buf.String(), nil
}

type rewriter struct {
	frame  int
	locals map[string]bool
	pkg    string
}

// qualifier is how frame N's package is named in Delve's syntax.
func (r *rewriter) qualifier() ast.Expr {
	if !strings.ContainsAny(r.pkg, "/.") {
		return ast.NewIdent(r.pkg)
	}
	return &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(r.pkg)}
}

func (r *rewriter) ident(id *ast.Ident, shadow map[string]bool) ast.Expr {
	switch {
	case id.Name == "_" || shadow[id.Name]:
		return id
	case r.locals[id.Name]:
		return &ast.SelectorExpr{
			X: &ast.CallExpr{
				Fun:  &ast.SelectorExpr{X: ast.NewIdent("runtime"), Sel: ast.NewIdent("frame")},
				Args: []ast.Expr{&ast.BasicLit{Kind: token.INT, Value: strconv.Itoa(r.frame)}},
			},
			Sel: ast.NewIdent(id.Name),
		}
	case predeclared[id.Name] || r.pkg == "":
		return id
	}
	return &ast.SelectorExpr{X: r.qualifier(), Sel: ast.NewIdent(id.Name)}
}

// expr rewrites e; shadow holds names bound by enclosing function literals.
func (r *rewriter) expr(e ast.Expr, shadow map[string]bool) ast.Expr {
	switch n := e.(type) {
	case nil:
		return nil
	case *ast.Ident:
		return r.ident(n, shadow)
	case *ast.SelectorExpr:
		// pkg.Name stays as is when pkg is not a local: Delve resolves
		// package names itself.
		if id, ok := n.X.(*ast.Ident); ok && !r.locals[id.Name] && !shadow[id.Name] {
			return n
		}
		n.X = r.expr(n.X, shadow)
		return n
	case *ast.ParenExpr:
		n.X = r.expr(n.X, shadow)
	case *ast.StarExpr:
		n.X = r.expr(n.X, shadow)
	case *ast.UnaryExpr:
		n.X = r.expr(n.X, shadow)
	case *ast.BinaryExpr:
		n.X = r.expr(n.X, shadow)
		n.Y = r.expr(n.Y, shadow)
	case *ast.CallExpr:
		n.Fun = r.expr(n.Fun, shadow)
		for i := range n.Args {
			n.Args[i] = r.expr(n.Args[i], shadow)
		}
	case *ast.IndexExpr:
		n.X = r.expr(n.X, shadow)
		n.Index = r.expr(n.Index, shadow)
	case *ast.IndexListExpr:
		n.X = r.expr(n.X, shadow)
		for i := range n.Indices {
			n.Indices[i] = r.expr(n.Indices[i], shadow)
		}
	case *ast.SliceExpr:
		n.X = r.expr(n.X, shadow)
		n.Low = r.expr(n.Low, shadow)
		n.High = r.expr(n.High, shadow)
		n.Max = r.expr(n.Max, shadow)
	case *ast.TypeAssertExpr:
		n.X = r.expr(n.X, shadow)
		n.Type = r.typ(n.Type)
	case *ast.KeyValueExpr:
		n.Value = r.expr(n.Value, shadow)
	case *ast.CompositeLit:
		n.Type = r.typ(n.Type)
		for i := range n.Elts {
			n.Elts[i] = r.expr(n.Elts[i], shadow)
		}
	case *ast.ArrayType, *ast.MapType, *ast.ChanType:
		// A type as an operand, as in a conversion []byte(s).
		return r.typ(n)
	case *ast.FuncLit:
		inner := map[string]bool{}
		for k := range shadow {
			inner[k] = true
		}
		for _, fl := range []*ast.FieldList{n.Type.Params, n.Type.Results} {
			if fl == nil {
				continue
			}
			for _, f := range fl.List {
				for _, nm := range f.Names {
					inner[nm.Name] = true
				}
			}
		}
		// Delve cannot evaluate function literals; keep the text intact so
		// its own error message reaches the user.
		return n
	}
	return e
}

// typ rewrites a type: the names in it are types of frame N's package (or
// predeclared), never its locals, even when a local has the same name.
func (r *rewriter) typ(e ast.Expr) ast.Expr {
	switch n := e.(type) {
	case *ast.Ident:
		if n.Name == "_" || predeclared[n.Name] || r.pkg == "" {
			return n
		}
		return &ast.SelectorExpr{X: r.qualifier(), Sel: ast.NewIdent(n.Name)}
	case *ast.ParenExpr:
		n.X = r.typ(n.X)
	case *ast.StarExpr:
		n.X = r.typ(n.X)
	case *ast.ArrayType:
		n.Elt = r.typ(n.Elt)
	case *ast.MapType:
		n.Key = r.typ(n.Key)
		n.Value = r.typ(n.Value)
	case *ast.ChanType:
		n.Value = r.typ(n.Value)
	case *ast.IndexExpr:
		n.X = r.typ(n.X)
		n.Index = r.typ(n.Index)
	case *ast.IndexListExpr:
		n.X = r.typ(n.X)
		for i := range n.Indices {
			n.Indices[i] = r.typ(n.Indices[i])
		}
	}
	// A selector is pkg.T, which Delve resolves; the rest (struct, func
	// and interface literals) it cannot evaluate, and says so itself.
	return e
}
