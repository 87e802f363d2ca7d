package backend

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/panicroom/panicroom/internal/debugapi"
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
//   - in a selector x.f, x is resolved as the compiler would in frame N's
//     file: a local, else one of the file's imports by the name it was
//     imported as (a renamed import becomes Delve's "import/path".f),
//     else a package-level name of frame N's package (store.Lookup(1)
//     becomes main.store.Lookup(1)); struct literal keys are left alone,
//     and function literals' own parameters shadow frame N's names.
//
// Assignments "lhs = rhs" are split at the first top-level "=" and each side
// is rewritten on its own.

// names is what an identifier can mean in frame N, in the order the
// compiler looks: locals, the package block, the file's imports, the
// universe.
type names struct {
	locals map[string]bool
	// pkg is the import path of frame N's function.
	pkg string
	// imports maps the names frame N's file imports packages as to their
	// paths; nil when the file could not be read.
	imports map[string]string
	// isPackageLevel reports whether frame N's package declares name (a
	// variable or function). Nil means: whatever the file does not import.
	isPackageLevel func(name string) bool
	// isFunc reports whether the binary has a function of this qualified
	// name (import path, dot, name). Nil means: none known.
	isFunc func(qualified string) bool
}

// rewrite returns expr in the topmost frame's terms. locals are the names
// visible in frame N; pkg is the import path of frame N's function.
func rewrite(expr string, frame int, locals map[string]bool, pkg string) (string, error) {
	return rewriteIn(expr, frame, names{locals: locals, pkg: pkg})
}

// rewriteIn is rewrite with all that frame N's scope knows.
func rewriteIn(expr string, frame int, n names) (string, error) {
	if lhs, rhs, ok := debugapi.SplitAssign(expr); ok {
		l, err := rewriteExpr(lhs, frame, n)
		if err != nil {
			return "", err
		}
		r, err := rewriteExpr(rhs, frame, n)
		if err != nil {
			return "", err
		}
		return l + " = " + r, nil
	}
	return rewriteExpr(expr, frame, n)
}

// importsOf returns the names src's imports are known by in it (the
// explicit name, or the package name guessed from the path: its last
// element without a major-version suffix), mapped to their paths.
// Blank and dot imports are left out.
func importsOf(src []byte) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, is := range f.Imports {
		path, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			continue
		}
		name := guessPackageName(path)
		if is.Name != nil {
			name = is.Name.Name
		}
		if name != "_" && name != "." {
			out[name] = path
		}
	}
	return out, nil
}

// guessPackageName is the name a package is usually declared with:
// github.com/go-chi/chi/v5 → chi, gopkg.in/yaml.v3 → yaml.
func guessPackageName(path string) string {
	elems := strings.Split(path, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = elems[len(elems)-2]
	}
	if i := strings.Index(last, ".v"); i > 0 && strings.Trim(last[i+2:], "0123456789") == "" {
		last = last[:i]
	}
	return strings.TrimPrefix(last, "go-")
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

func rewriteExpr(src string, frame int, n names) (string, error) {
	e, err := parser.ParseExpr(src)
	if err != nil {
		return "", debugapi.Errorf(debugapi.CodeSyntax, "%v", err)
	}
	r := &rewriter{frame: frame, locals: n.locals, pkg: n.pkg, imports: n.imports, isPackageLevel: n.isPackageLevel, isFunc: n.isFunc}
	e = r.expr(e, nil)
	var buf bytes.Buffer
	if err := format.Node(&buf, token.NewFileSet(), e); err != nil {
		return "", fmt.Errorf("printing rewritten expression: %w", err)
	}
	return buf.String(), nil
}

type rewriter struct {
	frame          int
	locals         map[string]bool
	pkg            string
	imports        map[string]string
	isPackageLevel func(string) bool
	isFunc         func(string) bool
	// callee is set while the operand of a call is rewritten: there a
	// package-level name may be a type (a conversion, time.Duration(5)).
	callee bool
}

// valueQualifier names the package at path for its member name in a
// value's place. Delve resolves pkg.name by first looking for a variable
// called pkg: the frame's locals, then every package variable, function
// and constant of the binary, twice, a few milliseconds each time (reads
// of http.DefaultServeMux took 5 ms, 2 ms quoted). A quoted path,
// "net/http".DefaultServeMux, goes to the package at once, but Delve
// takes it for a variable or a function only, never a type: in a call's
// operand, where it may be a conversion, only a known function is quoted.
func (r *rewriter) valueQualifier(path, name string, callee bool) ast.Expr {
	if callee && (r.isFunc == nil || !r.isFunc(path+"."+name)) {
		return pathQualifier(path)
	}
	return quotedPath(path)
}

// pathQualifier names the package at path in Delve's syntax: a quoted
// path where the last element alone could be ambiguous or not an
// identifier.
func pathQualifier(path string) ast.Expr {
	if !strings.ContainsAny(path, "/.") {
		return ast.NewIdent(path)
	}
	return quotedPath(path)
}

// quotedPath is Delve's "path".name syntax for the package at path.
func quotedPath(path string) ast.Expr {
	return &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}
}

// packageRef resolves x in x.f when x is not a local: an import of frame
// N's file (the qualifier for its path), a package-level name of frame N's
// package (nil, pkgLevel true), or else a package Delve resolves itself
// (nil, false) — one the file does not import, which a debugger still
// lets its user name (os.Getenv, main.config from any frame).
func (r *rewriter) packageRef(x string) (path string, pkgLevel bool) {
	if r.pkg == "" || predeclared[x] || x == guessPackageName(r.pkg) {
		// Not Go, but Delve's way of naming the frame's own package
		// (main.counter), which developers who know Delve write.
		return "", false
	}
	if path, ok := r.imports[x]; ok {
		// The path, even where Delve knows the name: two packages can
		// share one (math/rand, crypto/rand).
		return path, false
	}
	if r.isPackageLevel != nil {
		return "", r.isPackageLevel(x)
	}
	return "", r.imports != nil
}

// inPlace rewrites for an evaluation in frame N's own scope, where Delve
// finds its locals and package-level names itself: only package names
// that frame N's file imports under another name change.
const inPlace = -1

func (r *rewriter) ident(id *ast.Ident, shadow map[string]bool, callee bool) ast.Expr {
	switch {
	case id.Name == "_" || shadow[id.Name] || r.frame == inPlace:
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
	return &ast.SelectorExpr{X: r.valueQualifier(r.pkg, id.Name, callee), Sel: ast.NewIdent(id.Name)}
}

// expr rewrites e; shadow holds names bound by enclosing function literals.
func (r *rewriter) expr(e ast.Expr, shadow map[string]bool) ast.Expr {
	callee := r.callee
	r.callee = false
	switch n := e.(type) {
	case nil:
		return nil
	case *ast.Ident:
		return r.ident(n, shadow, callee)
	case *ast.SelectorExpr:
		if id, ok := n.X.(*ast.Ident); ok && !r.locals[id.Name] && !shadow[id.Name] {
			switch path, pkgLevel := r.packageRef(id.Name); {
			case path != "":
				n.X = r.valueQualifier(path, n.Sel.Name, callee)
			case pkgLevel && r.frame != inPlace:
				n.X = r.ident(id, shadow, false)
			}
			return n
		}
		n.X = r.expr(n.X, shadow)
		return n
	// A call's operand, (T)(x), (*T)(p) and F[int](x), may still be a type.
	case *ast.ParenExpr:
		r.callee = callee
		n.X = r.expr(n.X, shadow)
	case *ast.StarExpr:
		r.callee = callee
		n.X = r.expr(n.X, shadow)
	case *ast.UnaryExpr:
		n.X = r.expr(n.X, shadow)
	case *ast.BinaryExpr:
		n.X = r.expr(n.X, shadow)
		n.Y = r.expr(n.Y, shadow)
	case *ast.CallExpr:
		r.callee = true
		n.Fun = r.expr(n.Fun, shadow)
		for i := range n.Args {
			n.Args[i] = r.expr(n.Args[i], shadow)
		}
	case *ast.IndexExpr:
		r.callee = callee
		n.X = r.expr(n.X, shadow)
		n.Index = r.expr(n.Index, shadow)
	case *ast.IndexListExpr:
		r.callee = callee
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
		if n.Name == "_" || predeclared[n.Name] || r.pkg == "" || r.frame == inPlace {
			return n
		}
		return &ast.SelectorExpr{X: pathQualifier(r.pkg), Sel: ast.NewIdent(n.Name)}
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
	case *ast.SelectorExpr:
		// pkg.T: Delve resolves package names itself, except those a
		// file renamed.
		if id, ok := n.X.(*ast.Ident); ok {
			if path, _ := r.packageRef(id.Name); path != "" {
				n.X = pathQualifier(path)
			}
		}
	}
	// The rest (struct, func and interface literals) Delve cannot
	// evaluate, and says so itself.
	return e
}
