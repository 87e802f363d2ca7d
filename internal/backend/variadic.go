package backend

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"

	"github.com/go-delve/delve/pkg/proc"
)

// The debug information does not say whether a function is variadic: its
// last parameter is a slice either way. Its declaration does, and the
// source of the app's functions and of the standard library is usually at
// hand (the page shows it); without it, a call is made only as Go would
// make it of a function that is not variadic.

type variadicity struct{ variadic, known bool }

// maxVariadicCache bounds the functions whose answer is kept: those called
// from a console.
const maxVariadicCache = 1024

// variadic reports whether fn is variadic, from its declaration; known is
// false when the source is not at hand or does not match the binary (it
// must declare params parameters, the receiver not counted).
func (sn *session) variadic(fn *proc.Function, params int) (variadic, known bool) {
	if v, ok := sn.variadics[fn.Name]; ok {
		return v.variadic, v.known
	}
	var v variadicity
	defer func() {
		if sn.variadics == nil || len(sn.variadics) >= maxVariadicCache {
			sn.variadics = map[string]variadicity{}
		}
		sn.variadics[fn.Name] = v
	}()
	file, line := sn.t.BinInfo().EntryLineForFunc(fn)
	if fi, err := os.Stat(file); err != nil || fi.Size() > 4<<20 {
		return false, false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return false, false
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn.BaseName() || fset.Position(fd.Pos()).Line > line || fset.Position(fd.End()).Line < line {
			continue
		}
		n, list := 0, fd.Type.Params.List
		for _, field := range list {
			n += max(len(field.Names), 1)
		}
		if n != params {
			return false, false
		}
		if len(list) > 0 {
			_, v.variadic = list[len(list)-1].Type.(*ast.Ellipsis)
		}
		v.known = true
		return v.variadic, v.known
	}
	return false, false
}
