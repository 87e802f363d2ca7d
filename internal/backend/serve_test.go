package backend

import (
	"errors"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
)

func TestHasCall(t *testing.T) {
	for expr, want := range map[string]bool{
		"u.Name":                   false,
		"len(items) + cap(items)":  false,
		"u.Greeting()":             true,
		"main.settings.Greeting()": true,
		"m[f(1)]":                  true,
		"x = g()":                  false, // not an expression: assignments are split first
		"(":                        false,
	} {
		if got := hasCall(expr); got != want {
			t.Errorf("hasCall(%q) = %v, want %v", expr, got, want)
		}
	}
}

func TestCallErrorsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct{ delve, expr, want string }{
		{"main.settings has no member Greeting", "main.settings.Greeting()", "The linker keeps a method only if the program calls it"},
		{"could not find symbol main.nosuch", "main.nosuch()", "no such function"},
		{"could not find symbol value for cart", "nameOf(cart.Owner)", "cart is not an argument or local of this frame"},
		{"could not find symbol value for lookup", "lookup(1)", "linker dropped"},
		{"can not call optimized function example.com/shop.Total when regabi is in use", "shop.Total(7)", `-gcflags=all="-N -l"`},
		{"can not call optimized function internal/strconv.Itoa when regabi is in use", "strconv.Itoa(7)", "internal/strconv.Itoa belongs to the Go runtime's own packages"},
	} {
		err := callError(errors.New(tc.delve), tc.expr)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("callError(%q) = %q, want it to mention %q", tc.delve, err, tc.want)
		}
	}
}

// TestFramesSentOnce: the agent keeps a panic's frames from its first
// request, fills them into later ones, forgets the oldest beyond its bound,
// and then says so rather than working on no frames.
func TestFramesSentOnce(t *testing.T) {
	sn := &session{frames: newRecent[string, []debugapi.Frame](maxFrames)}
	first := wire.Scope{Panic: "p0", Frames: []debugapi.Frame{{Function: "main.handle"}}}
	if !sn.framesFor(&first) {
		t.Fatal("a request with frames was refused")
	}
	later := wire.Scope{Panic: "p0", FramesSent: true}
	if !sn.framesFor(&later) || len(later.Frames) != 1 || later.Frames[0].Function != "main.handle" {
		t.Fatalf("later request got frames %+v", later.Frames)
	}
	for i := 1; i <= maxFrames; i++ {
		sn.framesFor(&wire.Scope{Panic: "p" + strings.Repeat("x", i), Frames: []debugapi.Frame{{}}})
	}
	evicted := wire.Scope{Panic: "p0", FramesSent: true}
	if sn.framesFor(&evicted) {
		t.Errorf("frames of the oldest panic still kept after %d newer ones", maxFrames)
	}
	if none := (wire.Scope{}); !sn.framesFor(&none) {
		t.Error("a request that never sent frames was refused")
	}
}

// TestRewriteTypes: in a type position a name is a type of the frame's
// package, even when a local has the same name (the fuzzer's A.(m)).
func TestRewriteTypes(t *testing.T) {
	locals := map[string]bool{"u": true, "m": true, "items": true}
	for expr, want := range map[string]string{
		"u.(m)":            "runtime.frame(3).u.(app.m)",
		"A.(*m)":           `"app".A.(*app.m)`,
		"[]m{u}":           "[]app.m{runtime.frame(3).u}",
		"map[m]int(nil)":   "map[app.m]int(nil)",
		"u.(fmt.Stringer)": "runtime.frame(3).u.(fmt.Stringer)",
	} {
		got, err := rewrite(expr, 3, locals, "app")
		if err != nil || got != want {
			t.Errorf("rewrite(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
}

// TestRewriteQuotesValues: a package's member in a value's place is named
// by the package's quoted path, which Delve resolves without first looking
// for a variable of the package's name through the whole binary; in a
// call's operand only a known function is, since there the name may be a
// type, which Delve never finds behind a quoted path.
func TestRewriteQuotesValues(t *testing.T) {
	imports, err := importsOf([]byte(`package app
import (
	"fmt"
	str "strconv"
	"time"
	"net/http"
)`))
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]bool{"fmt.Sprint": true, "strconv.Itoa": true, "app.helper": true}
	n := names{locals: map[string]bool{"u": true}, pkg: "app", imports: imports,
		isFunc:         func(q string) bool { return funcs[q] },
		isPackageLevel: func(s string) bool { return s == "store" || s == "helper" || s == "Celsius" }}
	for expr, want := range map[string]string{
		"http.DefaultServeMux":   `"net/http".DefaultServeMux`,
		"fmt.Sprint(u)":          `"fmt".Sprint(runtime.frame(3).u)`,
		"str.Itoa(1)":            `"strconv".Itoa(1)`,
		"time.Duration(5)":       `time.Duration(5)`,
		"(*time.Duration)(nil)":  `(*time.Duration)(nil)`,
		"(time.Duration)(5)":     `(time.Duration)(5)`,
		"helper(u)":              `"app".helper(runtime.frame(3).u)`,
		"Celsius(3)":             `app.Celsius(3)`,
		"store":                  `"app".store`,
		"len(store.Items)":       `len("app".store.Items)`,
		"store.Get(time.Second)": `"app".store.Get("time".Second)`,
		"[]time.Duration{1}":     `[]time.Duration{1}`,
	} {
		got, err := rewriteIn(expr, 3, n)
		if err != nil || got != want {
			t.Errorf("rewriteIn(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
}

// TestRewriteScopes: a selector's left side is resolved as the compiler
// would in the frame's file: locals, then the file's imports by the names
// it gave them, then the package's own names.
func TestRewriteScopes(t *testing.T) {
	imports, err := importsOf([]byte(`package app
import (
	"fmt"
	str "strconv"
	"math/rand"
	chi "github.com/go-chi/chi/v5"
	"gopkg.in/yaml.v3"
	_ "embed"
	. "errors"
)`))
	if err != nil {
		t.Fatal(err)
	}
	n := names{locals: map[string]bool{"u": true, "fmt2": true}, pkg: "example.com/app", imports: imports}
	for expr, want := range map[string]string{
		"store.Lookup(42)":   `"example.com/app".store.Lookup(42)`,
		"store":              `"example.com/app".store`,
		"str.Itoa(42)":       "strconv.Itoa(42)",
		"rand.Intn(3)":       `"math/rand".Intn(3)`,
		"chi.NewRouter()":    `"github.com/go-chi/chi/v5".NewRouter()`,
		"yaml.Marshal(u)":    `"gopkg.in/yaml.v3".Marshal(runtime.frame(3).u)`,
		"fmt.Sprint(u.Name)": "fmt.Sprint(runtime.frame(3).u.Name)",
		"u.Cart.Total()":     "runtime.frame(3).u.Cart.Total()",
		"x.(str.NumError)":   `"example.com/app".x.(strconv.NumError)`,
		"app.counter + 1":    "app.counter + 1",
	} {
		got, err := rewriteIn(expr, 3, n)
		if err != nil || got != want {
			t.Errorf("rewriteIn(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	// In the frame's own scope only renamed packages change.
	for expr, want := range map[string]string{
		"str.Itoa(total)":   "strconv.Itoa(total)",
		"store.users[1]":    "store.users[1]",
		"u.Name":            "u.Name",
		"rand.Intn(3) + st": `"math/rand".Intn(3) + st`,
	} {
		got, err := rewriteIn(expr, inPlace, n)
		if err != nil || got != want {
			t.Errorf("in place: rewriteIn(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	// Without the file, Delve's package names decide.
	// With the package's own names known, a package the file does not
	// import is still one Delve resolves (the top-level console names any).
	known := names{locals: map[string]bool{}, pkg: "app", imports: imports, isPackageLevel: func(s string) bool { return s == "store" }}
	for expr, want := range map[string]string{
		"store.Lookup(1)":      `"app".store.Lookup(1)`,
		"strings.ToUpper(s)":   `strings.ToUpper("app".s)`,
		"main.settings.Name":   "main.settings.Name",
		`os.Getenv("HOME")`:    `os.Getenv("HOME")`,
		"str.Quote(store.Key)": `strconv.Quote("app".store.Key)`,
	} {
		got, err := rewriteIn(expr, 3, known)
		if err != nil || got != want {
			t.Errorf("with the package's names: rewriteIn(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	// Without the file, only the package's own names are qualified.
	blind := names{locals: map[string]bool{}, pkg: "app", isPackageLevel: func(s string) bool { return s == "store" }}
	for expr, want := range map[string]string{
		"store.Lookup(1)":    `"app".store.Lookup(1)`,
		"strings.ToUpper(s)": `strings.ToUpper("app".s)`,
	} {
		got, err := rewriteIn(expr, 3, blind)
		if err != nil || got != want {
			t.Errorf("without the file: rewriteIn(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
}
