// Package debugapi is what the app side of the console knows about the
// debugger: the Evaluator interface, its values, errors and status, and the
// console's language. It holds no Delve type, so the console's server
// (package console) and the root package depend on it and not on Delve;
// package agent implements Evaluator, and package backend, in the agent
// process, answers it.
package debugapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/panicroom/panicroom/internal/park"
)

// Evaluator is everything the app side may ask of the debugger. The root
// package and package console hold an Evaluator; *agent.Client is the
// implementation.
// Every method is safe for concurrent use; Eval, Locals and Expand are
// serialized inside and each waits at most its deadline.
type Evaluator interface {
	// Status says whether evaluation is possible and, if not, why.
	Status() Status

	// Register makes a parked panic known and starts its snapshot in the
	// background. It does not block. Register may be called before or after
	// the goroutine has entered p.Spot.Wait.
	Register(p Panic)

	// Forget drops a panic once its goroutine is released. Its snapshot
	// stays available to Snapshot; evaluations answer CodeReleased.
	Forget(id string)

	// Snapshot returns the args and locals of every app frame as they were
	// right after the panic. It waits (bounded by ctx and the deadline) for
	// the snapshot taken by Register.
	Snapshot(ctx context.Context, panicID string) (*Snapshot, error)

	// Eval evaluates req.Expr in page frame req.Frame of panic req.Panic.
	// Expressions, calls and assignments (x = expr) are all accepted; an
	// assignment answers with the new value of its left-hand side.
	Eval(ctx context.Context, req Request) (*Value, error)

	// Locals lists the live args and locals of one page frame.
	Locals(ctx context.Context, panicID string, frame int) (*FrameVars, error)

	// Expand loads the children of a value that came back with More set.
	Expand(ctx context.Context, h Handle) (*Value, error)

	// Close detaches the agent (restoring every byte it wrote) and stops it.
	Close() error
}

// Panic is what the root package knows about a parked panic.
type Panic struct {
	ID          string
	GoroutineID int64
	Frames      []Frame // index 0 is the frame that panicked
	// Parked is where the goroutine waits, and what keeps the objects
	// its frames reference: the Evaluator calls Parked.Keep exactly once
	// per Register, from another goroutine than Register's and with no
	// lock of its own held, at the latest its request timeout after
	// Register (normally tens of milliseconds after it), with the
	// snapshot's heap pointers, or nil when it has none (agent off,
	// unavailable, dead, or still attaching at the deadline; a snapshot
	// retried after an agent restart does not call it again). Nil when the
	// goroutine cannot run calls.
	Parked *park.Parked

	// Retain, if set, is asked before a call is handed pointers into the
	// parked frames (a method on a local that never escaped: cart :=
	// &Cart{}; cart.Describe()). Such a call is safe while the frames stay
	// where they are, and stays safe afterwards only if they stay there
	// for good, since the callee may have kept the pointer. With peek
	// true, Retain only answers whether it would agree; with peek false
	// it commits: from then on, releasing the panic must neither let its
	// goroutine return nor drop what Parked keeps (Parked.Retain), until the process
	// exits. It is called with peek false while the goroutine is still
	// inside the call's park.Spot.Do, so that no release can come between
	// the call and the commitment. A refusal (false) is explained by
	// RetainLimit.
	Retain func(peek bool) bool
}

// The build flags the console needs, said once: every message that gives
// the advice quotes these. GoRun is for go run, which also strips the
// binary's debug information and compiles the main package without it.
const (
	GoBuildFlags = `-gcflags=all="-N -l"`
	GoRunFlags   = `-gcflags=all="-N -l -dwarf=true" -ldflags="-s=false -w=false"`
	// BuildAdvice is the whole of it, for either command.
	BuildAdvice = "build with go build " + GoBuildFlags + ", or run with go run " + GoRunFlags
)

// RuntimeOptimized follows the name of a runtime function in a
// CodeOptimized error: no build flag helps there, so the console advises
// another frame instead of a rebuild.
const RuntimeOptimized = "is part of the Go runtime, which is compiled with optimizations whatever the build flags"

// NoMainVariablesAdvice is what the log and the page say when
// Status.NoMainVariables is set.
const NoMainVariablesAdvice = "the main package was compiled without its variables' debug information, as go run does by default: its frames will show no arguments or locals. Run it with go run " + GoRunFlags

// RetainLimit is how many panics an app keeps for good because calls were
// handed pointers into their frames (Panic.Retain): each costs a parked
// goroutine, its stack and an OS thread until the app restarts.
const RetainLimit = 8

// RetainNote is the one line a call's answer carries when the call was
// handed pointers into the parked frames (Panic.Retain).
const RetainNote = "This call was handed pointers into the parked frames, so they are now kept until the app restarts: a pointer the function kept stays valid."

// Frame is one frame of the page, as the runtime reported it.
type Frame struct {
	Function string  // runtime.Frame.Function
	File     string  // runtime.Frame.File
	Line     int     // runtime.Frame.Line
	PC       uintptr // runtime.Frame.PC
	App      bool    // the frame belongs to the main module
}

// Request is one expression to evaluate.
type Request struct {
	Panic string
	Frame int    // page frame index
	Expr  string // a Go expression or an assignment "lhs = rhs"
}

// Handle names a value whose children have not been loaded yet. It is
// plain data: it stays valid across agent restarts for as long as the
// panic is parked.
type Handle struct {
	Panic string
	Frame int
	Expr  string // a Delve expression that evaluates to the value
	Start int    // index of the first child to load
}

// Value is one node of a value tree.
type Value struct {
	Name  string // field name, "[3]", map key rendering, or the expression
	Type  string // Go type as Delve names it
	Kind  string // reflect.Kind name: "int", "struct", "ptr", "map", ...
	Value string // short rendering: numbers, quoted strings, "nil", addresses
	Len   int64  // -1 when the kind has no length
	Cap   int64  // -1 when the kind has no capacity
	Addr  uint64 // 0 when the value does not live in memory

	// Unreadable is the reason the value could not be read (optimized
	// away, bad address, ...). Other fields may then be empty.
	Unreadable string

	// Children are the loaded children: struct fields (unexported too),
	// elements, map entries as key/value pairs (Name is the key), the
	// pointee of a pointer, the dynamic value of an interface.
	Children []Value
	// More is set when some children were not loaded (depth or element
	// limit); pass it to Expand.
	More *Handle
	// Cut is set when the value was already shown higher in the tree.
	Cut bool
	// Note, on the top value of an answer, is one line the developer
	// should know about how it was obtained (a call handed pointers into
	// the parked frames, which are now kept until the app restarts).
	Note string `json:",omitempty"`
}

// Snapshot holds the frames' variables as they were right after a panic.
type Snapshot struct {
	Panic  string
	Taken  time.Time
	Took   time.Duration // how long the process was stopped for it
	Frames []FrameVars   // one per page frame, same index
}

// FrameVars holds one frame's args and locals.
type FrameVars struct {
	Frame    int
	Function string
	Args     []Value
	Locals   []Value
	// Missing is why there are no variables: not an app frame, no Delve
	// counterpart, optimized function. Empty when Args/Locals are valid.
	Missing string
}

// State is the agent's coarse state.
type State int

const (
	StateOff         State = iota // disabled on purpose
	StateAttaching                // started, not yet usable
	StateAttached                 // evaluations work
	StateUnavailable              // tried and failed; Reason says why
)

func (s State) String() string {
	switch s {
	case StateOff:
		return "off"
	case StateAttaching:
		return "attaching"
	case StateAttached:
		return "attached"
	case StateUnavailable:
		return "unavailable"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText makes State readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for _, c := range []State{StateOff, StateAttaching, StateAttached, StateUnavailable} {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("unknown state %q", b)
}

// Status is what the page and the log say about the console.
type Status struct {
	State  State
	Reason string // why the state is not StateAttached, for humans
	Fix    string // what the user can do about it, for humans
	// Optimized is set when the binary was built without -N -l: the agent
	// runs but variables may be unreadable and calls are refused.
	Optimized bool
	// NoMainVariables is set when the debug information describes no
	// argument or local of package main: go run without -dwarf=true. The
	// main package's frames then show no variables.
	NoMainVariables bool
	AttachTook      time.Duration // last successful attach, agent start to ready
	Restarts        int
	AgentPID        int
	// Stops counts the requests that stopped the app. Reads of a parked
	// panic after its first stop are answered while the app runs.
	Stops int
}

// Code classifies an Error for the console.
type Code string

const (
	CodeUnavailable  Code = "unavailable"   // no agent attached; Status says why
	CodeUnknownPanic Code = "unknown-panic" // no such panic registered
	CodeReleased     Code = "released"      // the goroutine left; frames gone
	CodeNoFrame      Code = "no-frame"      // frame index out of range or not seen by Delve
	CodeStale        Code = "stale"         // the parked stack moved; memory untrustworthy
	CodeSyntax       Code = "syntax"        // the expression does not parse
	CodeEval         Code = "eval"          // Delve could not evaluate it
	CodeCall         Code = "call"          // a call was refused or failed
	CodeCallPanicked Code = "call-panicked" // the called function panicked; Value holds the panic
	CodeTimeout      Code = "timeout"       // the deadline passed
	CodeAgentDied    Code = "agent-died"    // the agent died during the request
	CodeOptimized    Code = "optimized"     // the frame's function was compiled with optimizations
)

// Error is the error type of every Evaluator method.
type Error struct {
	Code  Code
	Msg   string
	Value *Value // for CodeCallPanicked: the panic value
	// Err is the cause, when there is one in this process: the context's
	// error for a timeout or cancellation, the connection's for a dead
	// agent. Errors that crossed from the agent carry only their message.
	Err error `json:"-"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) and the like work
// through the API.
func (e *Error) Unwrap() error { return e.Err }

// Errorf formats as fmt.Errorf does: a %w verb makes its operand the cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Limits of one answer; more is loaded through Handles.
const (
	MaxString   = 1024
	MaxElements = 64
	MaxDepth    = 2
)

// DefaultTimeout bounds a request to the agent unless configured otherwise.
const DefaultTimeout = 10 * time.Second
