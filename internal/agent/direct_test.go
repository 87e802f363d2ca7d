package agent_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// TestDirectCalls: calls the app makes itself, on a goroutine of its
// own, give what Delve's injection gives, and never stop the app.
func TestDirectCalls(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	f.do(command{Op: "snapshot", Panic: "p"}) // the app's stop to unwind the goroutine
	stops := f.status().Stops
	for _, tt := range []struct {
		frame      int
		expr, want string
	}{
		{3, "add(total, 3)", "10"},
		{3, "adder(2, 3)", "5"},             // a func value
		{3, "describe(user.Name)", `"Ada"`}, // to an interface parameter
		{3, "describe(user.Meta)", `"map[fails:1 logins:3]"`},
		{3, `concat("a\tb", "c")`, `"a\tbc"`},   // string constants
		{3, "add(-2, 0x10)", "14"},              // untyped constants
		{3, "add(total+1, len(items))", "108"},  // values Delve computes
		{2, "u.Age()", "36"},                    // a value method through a pointer
		{3, `user.Greeting("hi")`, `"hi, Ada"`}, // a pointer method
		{3, `(&stackUser).Greeting("x")`, `"x, Grace"`},
		{3, "lookup(1)", "(*main.User, error)"},
		{3, "sum(1, 2, total)", "10"}, // variadic, as the declaration says
		{3, "sum()", "0"},
		{3, "sum(items...)", "328350"},
		{3, "someErr.Error()", `"no user 3"`}, // through an interface
		{3, `seen.Has("ada")`, "true"},        // a method of a map type
		{3, "bump(2)", "2"},                   // a closure on the parked stack
		{3, "hits", "2"},
		{3, "scale(pt, 2).Y", "-4"}, // floats, in and out of a struct
		{3, "(scale(pt, 2).X)", "3"},
		{3, `user.Greeting("x")[0]`, "120"},              // what is read of a result
		{3, `user.Self().Greeting("hey")`, `"hey, Ada"`}, // calls on results, in Go's order
		{3, "add(add(1, 2), add(total, len(user.Greeting(\"ab\"))))", "17"},
		{3, `concat(user.Greeting("a"), describe(total))`, `"a, Ada7"`},
		{3, `len(user.Self().Name) + 1`, "4"},
		{3, `mix(-3, 1.5, "x", true, 1<<63)`, `"-3 1.5 x true 9223372036854775808"`},
	} {
		v := f.mustEval("p", tt.frame, tt.expr)
		got := v.Value
		if v.Kind == "results" {
			got = v.Type
		}
		if got != tt.want {
			t.Errorf("frame %d: %s = %s, want %s", tt.frame, tt.expr, got, tt.want)
		}
	}
	// bump's closure and the variable it captured are in the parked
	// frames: the call was handed pointers into them, which the app keeps.
	if n := f.do(command{Op: "retained", Panic: "p"}).Other; n == "0" {
		t.Error("a closure on the parked stack was called, and the app was not asked to keep the frames")
	}
	// Through a debug stub every request stops the app, the plan's and
	// the results' too; the call itself does not, but that the count
	// cannot tell.
	if got := f.status().Stops - stops; got != 0 && backendName() == "native" {
		t.Errorf("calls the app can make itself stopped it %d times", got)
	}
	// fmt.Sprintf is variadic, which only its source says: where the
	// standard library's source is not at hand (the arm64 guest), Delve
	// is given the call and says what it cannot do.
	_, err := os.Stat(filepath.Join(runtime.GOROOT(), "src", "fmt", "print.go"))
	stops = f.status().Stops
	for expr, want := range map[string]string{
		`fmt.Sprintf("%d-%s", total, user.Name)`:                `"7-Ada"`,
		`fmt.Sprintf("%d-%s", add(total, 1), user.Self().Name)`: `"8-Ada"`,
	} {
		r := f.eval("p", 3, expr)
		switch {
		case err == nil && (r.Err != nil || r.Value.Value != want):
			t.Errorf("%s = %+v (%+v), want %s", expr, r.Value, r.Err, want)
		case err != nil && (r.Err == nil || !strings.Contains(r.Err.Msg, "variadic")):
			t.Errorf("%s without fmt's source: %+v, want Delve's refusal naming variadic functions", expr, r.Err)
		}
	}
	if got := f.status().Stops - stops; err == nil && got != 0 && backendName() == "native" {
		t.Errorf("variadic calls with fmt's source at hand stopped the app %d times", got)
	}
	// A panic inside the call is the call's answer, and the app goes on.
	r := f.eval("p", 3, "typedNil.Error()")
	if r.Err == nil || r.Err.Code != debugapi.CodeCallPanicked || r.Err.Msg != "the call panicked: runtime error: invalid memory address or nil pointer dereference" || r.Err.Value == nil {
		t.Errorf("typedNil.Error(): %+v, want the call's nil pointer dereference", r.Err)
	}
	alive(t, f)
	if r := f.eval("p", 3, "panicky()"); r.Err == nil || r.Err.Msg != `the call panicked: "boom from call"` {
		t.Errorf("panicky(): %+v, want the panic's value as Go prints it", r.Err)
	}
	// What the app cannot make goes to Delve, which says why.
	for expr, msg := range map[string]string{
		"add(1<<70, 1)": "does not fit",
		"nilFunc()":     "nil",
	} {
		if r := f.eval("p", 3, expr); r.Err == nil || !strings.Contains(r.Err.Msg, msg) {
			t.Errorf("%s: %+v, want an error naming %q", expr, r.Err, msg)
		}
	}
	if v := f.mustEval("p", 3, "add(1, 1)"); v.Value != "2" {
		t.Errorf("add(1, 1) after the failures = %s", v.Value)
	}
	// A promoted method is Delve's: the calls before it are the app's,
	// and Delve is given the rest, with their results in place.
	stops = f.status().Stops
	if v := f.mustEval("p", 3, `admin.Greeting(user.Self().Name)`); v.Value != `"Ada, Ada"` || v.Name != `admin.Greeting(user.Self().Name)` {
		t.Errorf("admin.Greeting(user.Self().Name) = %s (named %q)", v.Value, v.Name)
	}
	if got := f.status().Stops - stops; got == 0 && backendName() == "native" {
		t.Errorf("a promoted method was called without Delve")
	}
}
