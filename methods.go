//go:build !panicroom_off

package panicroom

import (
	"debug/elf"
	"go/token"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/panicroom/panicroom/internal/traceback"
)

// methodSets lists, by receiver type ("main.User"), the methods present in
// the running binary, for the console's completion. The symbol table is the
// right source: it holds exactly the methods the linker kept, which are the
// ones a call from the console can reach. It is read once, at the first
// completion that needs it.
var methodSets = sync.OnceValue(func() map[string][]string {
	exe, err := os.Executable()
	if err != nil {
		return map[string][]string{}
	}
	return readMethodSets(exe)
})

// readMethodSets reads the method sets of the binary at path; a binary
// without a symbol table (go run and go test strip it) has none to offer.
func readMethodSets(path string) map[string][]string {
	out := make(map[string][]string)
	f, err := elf.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return out
	}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		recv, method, ok := splitMethod(s.Name)
		if ok && !slices.Contains(out[recv], method) {
			out[recv] = append(out[recv], method)
		}
	}
	return out
}

// splitMethod splits "example.com/p.(*T).M" or "example.com/p.T.M" into
// "example.com/p.T" and "M". Closures, wrappers and generic instances are
// not methods one can type.
func splitMethod(sym string) (recv, method string, ok bool) {
	if strings.ContainsAny(sym, "[]") || strings.Contains(sym, ".func") || strings.HasSuffix(sym, "-fm") {
		return "", "", false
	}
	pkg, name := traceback.SplitFunction(sym)
	typ, m, found := strings.Cut(name, ".")
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "(*"), ")")
	if pkg == "" || !found || !token.IsIdentifier(typ) || !token.IsIdentifier(m) {
		return "", "", false
	}
	return pkg + "." + typ, m, true
}

// methodsOf returns the methods of a type as Delve names it ("*main.User"
// or "main.User"): pointer and value receivers both, since a call through
// either reaches both.
func methodsOf(typeName string) []string {
	return methodSets()[strings.TrimPrefix(typeName, "*")]
}
