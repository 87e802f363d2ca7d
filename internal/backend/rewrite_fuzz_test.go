package backend

import (
	"go/parser"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// FuzzRewrite feeds the call rewriter arbitrary expressions: it must never
// panic, and whatever it returns must parse again as Go, keep every
// frame-N local behind runtime.frame(N), and be stable (rewriting a result
// with no locals changes nothing more).
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"u.Name", "len(items)", `cfg.Lookup("x")`, "count = 3", `u.Name = "x"`, `m["k"] = v`,
		"store.users[1].Greeting()", "add(items[3], total)", "x == y", "a <= b", "x != 0 && y >= 1",
		"func(u int) int { return u + total }(1)", "[]int{total, 2}[0]", "T{Name: u}.Name",
		"items[1:2:3]", "v.(fmt.Stringer)", "*p", "&u", "-total", "runtime.frame(2).u",
		"map[string]int{}", "chan int(nil)", "main.config", `"a" + "b"`, "_", "((u))", "u.", "= 3", "a = b = c",
		"x := 1", "a[", "f(", "\x00", "// comment", "u /* c */ .Name",
	} {
		f.Add(s)
	}
	locals := map[string]bool{"u": true, "items": true, "total": true, "m": true, "count": true, "p": true}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > 4<<10 {
			return
		}
		// A package path with slashes becomes a quoted qualifier, which is
		// Delve's syntax and not Go's: only check that it does not panic.
		rewrite(expr, 3, locals, "github.com/x/app")
		out, err := rewrite(expr, 3, locals, "app")
		if err != nil {
			return
		}
		if _, _, ok := debugapi.SplitAssign(out); ok {
			lhs, rhs, _ := debugapi.SplitAssign(out)
			for _, side := range []string{lhs, rhs} {
				if _, err := parser.ParseExpr(side); err != nil {
					t.Fatalf("rewrite(%q) = %q, whose side %q does not parse: %v", expr, out, side, err)
				}
			}
		} else if _, err := parser.ParseExpr(out); err != nil {
			t.Fatalf("rewrite(%q) = %q, which does not parse: %v", expr, out, err)
		}
		if strings.Contains(out, "runtime.frame(") && !strings.Contains(out, "runtime.frame(3)") && !strings.Contains(expr, "runtime.frame(") {
			t.Fatalf("rewrite(%q) = %q names another frame", expr, out)
		}
		again, err := rewrite(out, 3, nil, "")
		if err != nil {
			t.Fatalf("rewrite(%q) = %q, which does not rewrite again: %v", expr, out, err)
		}
		if again != out {
			t.Fatalf("rewriting %q with no locals and no package changed it to %q", out, again)
		}

	})
}
