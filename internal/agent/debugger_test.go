package agent_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// Page frames of the fixture's panic: 0 check, 1 validate, 2 process,
// 3 handle.
func TestEvalAcrossFrames(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	tests := []struct {
		frame     int
		expr      string
		want, typ string
	}{
		{0, "n", "107", "int"},
		{0, "limit", "10", "int"},
		{0, "n > limit", "true", "bool"},
		{1, "limit * 2", "20", "int"},
		{1, "u.Name", `"Ada"`, "string"},
		{1, "u.age", "36", "int"},
		{1, "n", "107", "int"},
		{2, "label", `"processing"`, "string"},
		{2, "len(big)", "3000", "int"},
		{2, "items[10]", "100", "int"},
		{2, "len(items)", "100", "int"},
		{2, "items[2:4][1]", "9", "int"},
		{2, "total + 1", "8", "int"},
		{2, "u.Meta[\"logins\"]", "3", "int"},
		{2, "u.Tags[1]", `"ops"`, "string"},
		{2, "u.Next.Next.Email", `"ada@example.com"`, "string"},
		{2, "u.Any.(int)", "7", "int"},
		{2, "float64(total) / 2", "3.5", "float64"},
		{3, "req.Path", `"/boom"`, "string"},
		{3, "req.Query[\"q\"]", `"1"`, "string"},
		{3, "user == user.Next", "true", "bool"},
		{3, "main.counter", "42", "int"},
	}
	for _, tt := range tests {
		v := f.mustEval("p", tt.frame, tt.expr)
		if v.Value != tt.want || v.Type != tt.typ {
			t.Errorf("frame %d: %s = %s (%s), want %s (%s)", tt.frame, tt.expr, v.Value, v.Type, tt.want, tt.typ)
		}
	}

	errs := []struct {
		frame int
		expr  string
		code  debugapi.Code
		msg   string
	}{
		{0, "nosuchvar", debugapi.CodeEval, "could not find symbol value for nosuchvar"},
		{0, "n +", debugapi.CodeSyntax, "column 4: expected operand"}, // the code the console's syntax hint needs
		{99, "n", debugapi.CodeNoFrame, "frame 99 does not exist"},
	}
	for _, tt := range errs {
		r := f.eval("p", tt.frame, tt.expr)
		if r.Err != nil && strings.Contains(r.Err.Msg, "unsafe mode") {
			t.Errorf("%s: the message advises an unsafe mode the browser does not have: %s", tt.expr, r.Err.Msg)
		}
		if r.Err == nil || r.Err.Code != tt.code || !strings.Contains(r.Err.Msg, tt.msg) {
			t.Errorf("frame %d: %s: got %+v, want %s containing %q", tt.frame, tt.expr, r.Err, tt.code, tt.msg)
		}
	}
	if r := f.eval("nope", 0, "n"); r.Err == nil || r.Err.Code != debugapi.CodeUnknownPanic {
		t.Errorf("unknown panic: %+v", r.Err)
	}
}

func TestValueTree(t *testing.T) {
	f := startFixture(t)
	f.panic("p")

	u := f.mustEval("p", 1, "u")
	if u.Kind != "ptr" || len(u.Children) != 1 {
		t.Fatalf("u: %+v", u)
	}
	s := u.Children[0]
	fields := map[string]debugapi.Value{}
	for _, c := range s.Children {
		fields[c.Name] = c
	}
	if fields["age"].Value != "36" {
		t.Errorf("unexported field age = %+v", fields["age"])
	}
	if fields["Tags"].Len != 2 || fields["Tags"].Cap != 2 || fields["Tags"].Children[0].Value != `"admin"` {
		t.Errorf("Tags = %+v", fields["Tags"])
	}
	if next := fields["Next"]; !next.Cut || next.Value != u.Value {
		t.Errorf("the cycle u.Next == u is not cut: %+v", next)
	}
	if m := fields["Meta"]; m.Len != 2 || len(m.Children) != 2 {
		t.Errorf("Meta = %+v", m)
	}

	// Element limit, then expansion of the rest.
	items := f.mustEval("p", 2, "items")
	if len(items.Children) != debugapi.MaxElements || items.More == nil || items.More.Start != 64 {
		t.Fatalf("items: %d children, More %+v", len(items.Children), items.More)
	}
	r := f.do(command{Op: "expand", Handle: items.More})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := len(r.Value.Children); n != 36 {
		t.Fatalf("expanded items: %d children, want 36", n)
	}
	if c := r.Value.Children[35]; c.Name != "[99]" || c.Value != "9801" {
		t.Errorf("items[99] = %s %s", c.Name, c.Value)
	}
	if r.Value.More != nil {
		t.Errorf("nothing left to expand, got More %+v", r.Value.More)
	}

	// String limit.
	big := f.mustEval("p", 2, "big")
	if big.Len != 3000 || big.More == nil || len(big.Value) != debugapi.MaxString+2+len("…") {
		t.Fatalf("big: len %d, %d bytes shown, More %+v", big.Len, len(big.Value), big.More)
	}
	r = f.do(command{Op: "expand", Handle: big.More})
	if r.Err != nil || r.Value.Len != 3000-debugapi.MaxString {
		t.Fatalf("expanded big: %+v %v", r.Value, r.Err)
	}

	// Depth limit: &user is **User; its pointee is not loaded and comes
	// back through a handle, as the *User it is.
	pu := f.mustEval("p", 3, "&user")
	if pu.More == nil {
		t.Fatalf("&user: no handle to expand: %+v", pu)
	}
	r = f.do(command{Op: "expand", Handle: pu.More})
	if r.Err != nil {
		t.Fatalf("expand %+v: %v", pu.More, r.Err)
	}
	if r.Value.Type != "*main.User" || len(r.Value.Children) != 1 || r.Value.Children[0].Children[0].Value != `"Ada"` {
		t.Fatalf("expanded &user: %+v", r.Value)
	}
}

func TestSnapshot(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	r := f.do(command{Op: "snapshot", Panic: "p"})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	s := r.Snapshot
	want := map[int]map[string]string{
		0: {"n": "107", "limit": "10"},
		1: {"n": "107", "limit": "10"},
		2: {"total": "7", "label": `"processing"`},
		3: {"total": "7"},
	}
	for i, vars := range want {
		fv := s.Frames[i]
		if fv.Missing != "" {
			t.Errorf("frame %d (%s): missing: %s", i, fv.Function, fv.Missing)
			continue
		}
		got := map[string]string{}
		for _, v := range append(fv.Args, fv.Locals...) {
			got[v.Name] = v.Value
		}
		for name, val := range vars {
			if got[name] != val {
				t.Errorf("frame %d (%s): %s = %q, want %q", i, fv.Function, name, got[name], val)
			}
		}
	}
	var sawRuntime bool
	for _, fv := range s.Frames {
		if strings.HasPrefix(fv.Function, "runtime.") || strings.HasPrefix(fv.Function, "main.grow") {
			sawRuntime = sawRuntime || fv.Missing != ""
		}
	}
	if !sawRuntime {
		t.Errorf("non-app frames should say why they have no variables")
	}
	t.Logf("snapshot of %d frames took %v", len(s.Frames), s.Took)

	// The snapshot outlives the goroutine; live evaluation does not.
	f.do(command{Op: "release", Panic: "p"})
	r = f.do(command{Op: "snapshot", Panic: "p"})
	if r.Err != nil || len(r.Snapshot.Frames) != len(s.Frames) {
		t.Fatalf("snapshot after release: %+v", r.Err)
	}
	if r := f.eval("p", 0, "n"); r.Err == nil || r.Err.Code != debugapi.CodeReleased {
		t.Fatalf("eval after release: %+v", r.Err)
	}
}

func TestCalls(t *testing.T) {
	for _, mode := range []string{"", injectCalls} {
		t.Run(callMode(mode), func(t *testing.T) { testCalls(t, mode) })
	}
}

func testCalls(t *testing.T, mode string) {
	f := startFixture(t, mode)
	f.panic("p")
	tests := []struct {
		frame int
		expr  string
		want  string
	}{
		{3, "add(total, 3)", "10"},
		{3, `user.Greeting("hi")`, `"hi, Ada"`},
		{2, "u.Age()", "36"},
		{2, "add(len(items), total)", "107"},
		{1, "add(n, limit)", "117"},
		{0, "add(n, limit) * 2", "234"},
		{2, "main.add(total, main.counter)", "49"},
		{3, "stackUser.Age()", "40"}, // a value receiver gets a copy: allowed
	}
	errs := []struct {
		frame int
		expr  string
		code  debugapi.Code
		msg   string
	}{
		{3, "panicky()", debugapi.CodeCallPanicked, "boom from call"},
		{3, "strings.ToTitle(req.Path)", debugapi.CodeCall, "linker dropped"},
	}
	if mode == "" {
		// Package reflect converts to an interface and packs a variadic
		// call's arguments; Delve does neither.
		tests = append(tests, []struct {
			frame      int
			expr, want string
		}{{3, "describe(total)", `"7"`}, {3, "sum(1, 2)", "3"}}...)
	} else {
		errs = append(errs, []struct {
			frame int
			expr  string
			code  debugapi.Code
			msg   string
		}{{3, "describe(total)", debugapi.CodeCall, "interface"}, {3, "sum(1, 2)", debugapi.CodeCall, "variadic"}}...)
	}
	for _, tt := range tests {
		v := f.mustEval("p", tt.frame, tt.expr)
		if v.Value != tt.want {
			t.Errorf("frame %d: %s = %s, want %s", tt.frame, tt.expr, v.Value, tt.want)
		}
	}
	for _, tt := range errs {
		r := f.eval("p", tt.frame, tt.expr)
		if r.Err != nil && strings.Contains(r.Err.Msg, "unsafe mode") {
			t.Errorf("%s: the message advises an unsafe mode the browser does not have: %s", tt.expr, r.Err.Msg)
		}
		if r.Err == nil || r.Err.Code != tt.code || !strings.Contains(r.Err.Msg, tt.msg) {
			t.Errorf("frame %d: %s: got %+v, want %s containing %q", tt.frame, tt.expr, r.Err, tt.code, tt.msg)
		}
	}
	// The goroutine is usable after every failure.
	if v := f.mustEval("p", 3, "add(1, 1)"); v.Value != "2" {
		t.Errorf("add(1, 1) after failures = %s", v.Value)
	}
}

func TestAssign(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	tests := []struct {
		frame      int
		assign     string
		read, want string
	}{
		{3, "total = 99", "total", "99"},
		{2, "total = total + 1", "total", "8"},
		{1, "u.age = 50", "u.age", "50"},
		{3, `user.Meta["logins"] = 10`, `user.Meta["logins"]`, "10"},
		{2, `label = "changed"`, "label", `"changed"`},
		{0, "limit = 200", "n > limit", "false"},
	}
	for _, tt := range tests {
		v := f.mustEval("p", tt.frame, tt.assign)
		if v == nil {
			t.Fatalf("%s: no value", tt.assign)
		}
		if got := f.mustEval("p", tt.frame, tt.read); got.Value != tt.want {
			t.Errorf("frame %d: after %s, %s = %s, want %s", tt.frame, tt.assign, tt.read, got.Value, tt.want)
		}
	}
}

// TestReadsWhileRunning: once a stop has unwound a parked goroutine,
// reads, expansions and locals of its frames are answered while the app
// runs (DESIGN.md, "where speed can come from"), and so are assignments
// to numbers in its frames; other assignments and calls still stop it, and
// the reads after them see what they changed.
func TestReadsWhileRunning(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	// The snapshot runs on its own from the panic: let its stop be over
	// before counting.
	if r := f.do(command{Op: "snapshot", Panic: "p"}); r.Err != nil {
		t.Fatalf("snapshot: %v", r.Err)
	}
	f.mustEval("p", 2, "total = total") // unwinds the goroutine, if the snapshot did not
	stops := f.status().Stops
	reads := []struct {
		frame      int
		expr, want string
	}{
		{1, "u.Email", `"ada@example.com"`},
		{2, "items[99]", "9801"},
		{2, "u.Tags[0]", `"admin"`},
		{3, `req.Query["q"]`, `"1"`},
		{2, "len(items) * 2", "200"},
	}
	for round := 0; round < 5; round++ {
		for _, r := range reads {
			if v := f.mustEval("p", r.frame, r.expr); v.Value != r.want {
				t.Errorf("frame %d: %s = %s, want %s", r.frame, r.expr, v.Value, r.want)
			}
		}
	}
	items := f.mustEval("p", 2, "items")
	more := f.do(command{Op: "expand", Handle: items.More})
	if more.Err != nil || len(more.Value.Children) == 0 || more.Value.Children[0].Name != "[64]" || more.Value.Children[0].Value != "4096" {
		t.Errorf("expand items from 64: %+v %+v", more.Value, more.Err)
	}
	if vars := f.do(command{Op: "locals", Panic: "p", Frame: 2}); vars.Err != nil || vars.Vars == nil || len(vars.Vars.Locals)+len(vars.Vars.Args) == 0 {
		t.Errorf("locals of frame 2: %+v %+v", vars.Vars, vars.Err)
	}
	// Through a stub every read stops the app once (it has no
	// process_vm_readv): slower, never a different value.
	if got, want := f.status().Stops-stops, readStops(len(reads)*5+3); got != want {
		t.Fatalf("reads stopped the app %d times, want %d (%s backend)", got, want, backendName())
	}
	stops += readStops(len(reads)*5 + 3)

	// A number in the parked frames is written while the app runs
	// (livewrite_linux.go); through a stub it stops the app, as reads do.
	f.mustEval("p", 3, "total = 41")
	if got, want := f.status().Stops-stops, readStops(1); got != want {
		t.Errorf("an assignment to a local number stopped the app %d times, want %d (%s backend)", got, want, backendName())
	}
	if v := f.mustEval("p", 3, "total"); v.Value != "41" {
		t.Errorf("read after the assignment: total = %s, want 41", v.Value)
	}
	// Memory the app's other goroutines may use, and values with
	// pointers, are written with the app stopped.
	for _, assign := range []string{"main.counter = main.counter", "label = label"} {
		stops = f.status().Stops
		f.mustEval("p", 2, assign)
		if got := f.status().Stops - stops; got != 1 {
			t.Errorf("%s stopped the app %d times, want 1", assign, got)
		}
	}
	if v := f.mustEval("p", 3, "add(total, 1)"); v.Value != "42" {
		t.Errorf("add(total, 1) = %s, want 42", v.Value)
	}
	stops = f.status().Stops
	if v := f.mustEval("p", 2, "items[99]"); v.Value != "9801" {
		t.Errorf("read after a call: items[99] = %s", v.Value)
	}
	if got, want := f.status().Stops-stops, readStops(1); got != want {
		t.Errorf("a read after a call stopped the app %d times, want %d (%s backend)", got, want, backendName())
	}
}

// TestCallsOnParkedValues calls methods and functions on values that never
// escaped, so live in the parked frames: Delve's escape check refuses them,
// the app agrees to keep the frames for good (Panic.Retain), and the call
// runs, its answer saying so in one line. Later calls go without the
// check (a refused injection would cost as much as the call), so without
// the line. A call that needs no such pointer leaves the panic as it was.
func TestCallsOnParkedValues(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	if v := f.mustEval("p", 3, "add(1, 2)"); v.Note != "" {
		t.Errorf("a call on values only got the note %q", v.Note)
	}
	if n := f.do(command{Op: "retained", Panic: "p"}).Other; n != "0" {
		t.Fatalf("a call on values only retained the panic (%s)", n)
	}
	for _, tt := range []struct {
		frame      int
		expr, want string
	}{
		{3, `stackUser.Greeting("hi")`, `"hi, Grace"`},    // pointer receiver on a local
		{3, "cart.Describe()", `"Grace's cart, 2 items"`}, // a local that is a pointer to the stack
		{3, `cart.Owner.Greeting("yo")`, `"yo, Grace"`},   // a chain
		{3, "nameOf(&stackUser)", `"Grace"`},              // a pointer argument
		{3, "stackUser.Age()", "40"},                      // a value receiver gets a copy
	} {
		v := f.mustEval("p", tt.frame, tt.expr)
		if v.Value != tt.want {
			t.Errorf("frame %d: %s = %s, want %s", tt.frame, tt.expr, v.Value, tt.want)
		}
		first := tt.expr == `stackUser.Greeting("hi")`
		if noted := strings.Contains(v.Note, "kept until the app restarts"); noted != first {
			t.Errorf("%s: note %q; want the one line on keeping the frames on the first such call only", tt.expr, v.Note)
		}
	}
	if n := f.do(command{Op: "retained", Panic: "p"}).Other; n == "0" {
		t.Error("calls handed pointers into the parked frames, and the app was not asked to keep them")
	}
	// Writes through the receiver reach the parked frame.
	if v := f.mustEval("p", 3, "cart.Items"); v.Value != "2" {
		t.Errorf("cart.Items = %s after the calls", v.Value)
	}
	// A callee may have kept a pointer into the frames for the app's other
	// goroutines: an assignment to them is no longer written while the
	// app runs.
	f.mustEval("p", 3, "stackUser.Age()") // unwinds the goroutine after the calls
	stops := f.status().Stops
	f.mustEval("p", 3, "cart.Items = 2")
	if got := f.status().Stops - stops; got != 1 {
		t.Errorf("an assignment to frames handed to a call stopped the app %d times, want 1", got)
	}
}

// TestCallsOnParkedValuesRefused is an app that will not keep the frames
// (at its RetainLimit): the call is refused, with what to do instead.
func TestCallsOnParkedValuesRefused(t *testing.T) {
	f := startFixture(t, "PANICROOM_FIXTURE_RETAIN=refuse")
	f.panic("p")
	r := f.eval("p", 3, "cart.Describe()")
	if r.Err == nil || r.Err.Code != debugapi.CodeCall || !strings.Contains(r.Err.Msg, "Restart the app") || strings.Contains(r.Err.Msg, "unsafe mode") || strings.Contains(r.Err.Msg, "runtime.frame") {
		t.Fatalf("cart.Describe() with the frames not kept: %+v", r.Err)
	}
	if n := f.do(command{Op: "retained", Panic: "p"}).Other; n != "0" {
		t.Errorf("a refused call committed the app to keep the frames (%s)", n)
	}
	if v := f.mustEval("p", 3, "add(1, 1)"); v.Value != "2" {
		t.Errorf("add(1, 1) after the refusal = %s", v.Value)
	}
}

// TestNamesAsGoScopesThem evaluates names as the code of the frame's
// package would: a package-level variable unqualified, in reads and calls,
// and a package by the name its file imported it as.
func TestNamesAsGoScopesThem(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	for _, tt := range []struct {
		frame      int
		expr, want string
	}{
		{3, "directory.names[42]", `"Ada"`},
		{3, "directory.Lookup(42)", `"Ada"`},
		{2, "directory.Lookup(42) + label", `"Adaprocessing"`},
		{3, `pth.Base("/a/b")`, `"b"`},
		{3, `len(pth.Base(req.Path))`, "4"},
		{3, "main.directory.Lookup(42)", `"Ada"`},
		{3, "len(os.Args) > 0", "true"}, // an imported package's variable, by its path
		{3, "time.Duration(90)", "90"},  // a conversion, which no path may name
	} {
		v := f.mustEval("p", tt.frame, tt.expr)
		if v.Value != tt.want {
			t.Errorf("frame %d: %s = %s, want %s", tt.frame, tt.expr, v.Value, tt.want)
		}
	}
}

// TestValuesAsGoPrintsThem: nil is nil whatever its kind (a nil map is
// what "assignment to entry in nil map" is about), a typed nil in an
// interface says both, functions say where they are, and results are
// named as the function's signature names them, never ~r0.
func TestValuesAsGoPrintsThem(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	for expr, want := range map[string]string{
		"nilMap":   "nil",
		"nilSlice": "nil",
		"empty":    "len 0",
		"nilChan":  "nil",
		"nilFunc":  "nil",
		"nilIface": "nil",
		"typedNil": "*main.LookupError(nil)",
	} {
		if v := f.mustEval("p", 3, expr); v.Value != want {
			t.Errorf("%s = %q, want %q", expr, v.Value, want)
		}
	}
	if v := f.mustEval("p", 3, "adder"); !strings.HasPrefix(v.Value, "main.add (") || !strings.Contains(v.Value, "main.go:") {
		t.Errorf("a function value: %q, want its name and file:line", v.Value)
	}
	v := f.mustEval("p", 3, "lookup(1)")
	if v.Type != "(*main.User, error)" || len(v.Children) != 2 || v.Children[0].Name != "result 0" || v.Children[1].Name != "result 1" || v.Children[1].Value != "nil" {
		t.Errorf("lookup(1): type %q, results %+v", v.Type, v.Children)
	}
	v = f.mustEval("p", 3, "split(7)")
	if len(v.Children) != 2 || v.Children[0].Name != "quotient" || v.Children[1].Name != "remainder" {
		t.Errorf("split(7): %+v", v.Children)
	}
	for expr, msg := range map[string]string{
		`User{Name: "x"}.Name`:      "composite literals (T{…}) are not supported",
		"func() int { return 1 }()": "function literals are not supported",
	} {
		r := f.eval("p", 3, expr)
		if r.Err == nil || !strings.Contains(r.Err.Msg, msg) || strings.Contains(r.Err.Msg, "ast.") {
			t.Errorf("%s: %+v, want %q", expr, r.Err, msg)
		}
	}
}

// TestUnknownBackendRefused: a PANICROOM_BACKEND the agent does not know
// leaves the console unavailable with a reason naming the valid values,
// before any agent starts, and the app keeps serving.
func TestUnknownBackendRefused(t *testing.T) {
	cmd := exec.Command(fixtureBinary(t))
	cmd.Env = append(os.Environ(), "PANICROOM_AGENT=", "PANICROOM_BACKEND=gdb")
	f := launchFixture(t, cmd, cmd.Start)
	st := f.waitAttached()
	if st.State != debugapi.StateUnavailable {
		t.Fatalf("state %s, want unavailable: %+v", st.State, st)
	}
	for _, s := range []string{`PANICROOM_BACKEND="gdb"`, `"native"`, `"lldb"`} {
		if !strings.Contains(st.Reason, s) {
			t.Errorf("reason %q does not say %s", st.Reason, s)
		}
	}
	if st.AgentPID != 0 || st.Restarts != 0 {
		t.Errorf("an agent was started: %+v", st)
	}
	f.panic("p")
	if r := f.eval("p", 2, "total"); r.Err == nil || r.Err.Code != debugapi.CodeUnavailable || !strings.Contains(r.Err.Msg, "PANICROOM_BACKEND") {
		t.Errorf("eval: %+v, want unavailable naming PANICROOM_BACKEND", r.Err)
	}
	alive(t, f)
}
