// Package wire is the protocol between the app (package agent) and the
// agent process (package backend): the messages, the environment the agent
// is started with, and the names and layouts of the app's symbols the agent
// looks up in the app's memory. Neither side imports the other; both import
// this.
package wire

import (
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// The app and the agent exchange one JSON object per line: requests on the
// agent's fd 3, answers on its fd 4. Stdout and stderr stay the app's, so a
// package init that prints cannot corrupt the protocol.

// CodeNeedFrames asks the app to send the request again with its frames:
// the agent no longer has them. It never reaches the console.
const CodeNeedFrames debugapi.Code = "need-frames"

// A Request carries exactly one operation: its In payload, whose field
// names the operation. The Answer of the same ID carries the matching Out
// payload, or Err. A new operation is one In/Out pair here, one case in
// the agent's table (backend's serve.go) and one method of agent.Client.
type Request struct {
	ID uint64
	// Timeout bounds the agent's work on the request, stops included.
	Timeout time.Duration

	Snapshot *SnapshotIn `json:",omitempty"`
	Eval     *EvalIn     `json:",omitempty"`
	Locals   *LocalsIn   `json:",omitempty"`
	Expand   *ExpandIn   `json:",omitempty"`
}

// Answer is the agent's line for the Request of the same ID.
type Answer struct {
	ID  uint64
	Err *debugapi.Error `json:",omitempty"`
	// Stopped is set when the agent stopped the app to answer.
	Stopped bool `json:",omitempty"`

	Snapshot *SnapshotOut `json:",omitempty"`
	Eval     *EvalOut     `json:",omitempty"`
	Locals   *LocalsOut   `json:",omitempty"`
	Expand   *ExpandOut   `json:",omitempty"`
}

// Op names the request's operation for messages and logs: "" when it
// carries none, or more than one.
func (r *Request) Op() string {
	op, n := "", 0
	for _, c := range []struct {
		name string
		set  bool
	}{{"snapshot", r.Snapshot != nil}, {"eval", r.Eval != nil}, {"locals", r.Locals != nil}, {"expand", r.Expand != nil}} {
		if c.set {
			op, n = c.name, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return op
}

// Scope returns the parked goroutine the request is about; nil when it
// carries no operation.
func (r *Request) Scope() *Scope {
	switch {
	case r.Snapshot != nil:
		return &r.Snapshot.Scope
	case r.Eval != nil:
		return &r.Eval.Scope
	case r.Locals != nil:
		return &r.Locals.Scope
	case r.Expand != nil:
		return &r.Expand.Scope
	}
	return nil
}

// Scope names a parked goroutine: its panic, its goroutine and the page's
// frames, which the agent matches against Delve's.
type Scope struct {
	Panic     string
	Goroutine int64
	// Frames go to an agent once per panic (its first request about it)
	// and later requests say FramesSent instead: decoding them on every
	// request was a sixth of the agent's CPU in a stream of reads.
	Frames     []debugapi.Frame `json:",omitempty"`
	FramesSent bool             `json:",omitempty"`
}

// At names one page frame of a parked goroutine.
type At struct {
	Scope
	Frame int
}

// SnapshotIn asks for the args and locals of every app frame.
type SnapshotIn struct {
	Scope
	// KeepAlive asks for the heap pointers held in the frames
	// (SnapshotOut.KeepAlive).
	KeepAlive bool `json:",omitempty"`
}

// SnapshotOut is a snapshot and, when asked, the pointers to keep alive.
type SnapshotOut struct {
	Snapshot *debugapi.Snapshot
	// KeepAlive lists the heap pointers held in the memory of the app
	// frames' args and locals, each checked against the runtime's heap
	// metadata while the app was stopped (backend's keepalive.go).
	// KeepAliveGC is runtime.memstats.numgc at that stop: once a
	// collection has ended since, the check is void.
	KeepAlive   []uintptr `json:",omitempty"`
	KeepAliveGC uint32    `json:",omitempty"`
	// KeepAliveErr says why no pointers were collected.
	KeepAliveErr string `json:",omitempty"`
}

// EvalIn evaluates an expression, a call or an assignment in one frame.
type EvalIn struct {
	At
	Expr string
	// Call is set when the panic's goroutine is spinning in rendezvous,
	// so the agent may inject calls from it.
	Call bool `json:",omitempty"`
	// StackPointers lets a call be handed pointers into the parked frames
	// when Delve's escape check refuses them: the app has agreed to keep
	// the frames for good if it happens (debugapi.Panic.Retain).
	StackPointers bool `json:",omitempty"`
	// FramesKept says that an earlier call was handed pointers into the
	// parked frames, so the app keeps them for good already: a call need
	// not be tried with Delve's escape check first (a whole injection,
	// refused, when the call takes a pointer into them).
	FramesKept bool `json:",omitempty"`
	// Held says that the app keeps the panic's goroutine parked until the
	// answer (park.Spot.Hold): an assignment to its frames may then be
	// written while the app runs (backend's livewrite_linux.go).
	Held bool `json:",omitempty"`
	// Ran asks for the values of a CallPlan the app has run: Expr is the
	// call's, and the answer is its value.
	Ran *CallRan `json:",omitempty"`
}

// EvalOut is the value, or the request to come back with Call set.
type EvalOut struct {
	Value *debugapi.Value `json:",omitempty"`
	// NeedCall asks the app to set up the rendezvous and send the request
	// again with Call set: the expression calls a function or allocates.
	NeedCall bool `json:",omitempty"`
	// Retained is set when a call was handed pointers into the parked
	// frames: the app must now keep them for good (debugapi.Panic.Retain).
	Retained bool `json:",omitempty"`
	// Plan, with NeedCall, is the call the expression makes, for the app
	// to run itself; nil when only Delve can run it.
	Plan *CallPlan `json:",omitempty"`
}

// A CallPlan is a call the app can make with package reflect, on a
// goroutine of its own, with no stop of the app: one function, or method,
// applied to values that are already in the app's memory or are
// constants; the whole expression, or the call in it Go makes first
// (Within). The agent reads the function's signature and the values'
// addresses and types from the debug information; the app checks each
// type it builds against the Kind and Size given, and the function
// against its name, before it calls anything.
type CallPlan struct {
	Func string // the function's symbol, as runtime.FuncForPC names it
	// Entry is the function's (ABIInternal) entry; Closure, if not 0, is
	// the address of the func value to call (a closure's context).
	Entry, Closure uint64
	// IntType is the offset of int's runtime type among the module's
	// types, from which the app finds the others'.
	IntType uint64
	In, Out []TypeRef
	// Variadic says the function's last parameter is ...T: Args past
	// the others are its elements, or, with Spread (f(xs...)), the
	// slice itself.
	Variadic, Spread bool `json:",omitempty"`
	Args             []CallArg
	// StackPointers says that an argument holds a pointer into the
	// parked goroutine's stack: the app must keep its frames for good
	// (debugapi.Panic.Retain) before the call.
	StackPointers bool
	// OutTypes and OutNames are the results' declared types and names,
	// for the answer.
	OutTypes, OutNames []string
	// Suffix is what the expression reads of the call's one result
	// (".Name", "[i].X"): the agent reads it there.
	Suffix string `json:",omitempty"`
	// Within, if set, is where the call is in a larger expression (the
	// byte offsets of its start and end): the call is the one Go makes
	// first, and the app puts its one result there, as a read of where
	// it keeps it, and asks for the rest.
	Within []int `json:",omitempty"`
}

// TypeRef names a runtime type: the one at Off among the module's types,
// or a pointer to it; or, for a type the binary has no runtime type for,
// one the app knows (Builtin: "any", "error", or "unsafe" for a
// pointer-shaped type, which the call's registers cannot tell apart).
type TypeRef struct {
	Off     uint64 `json:",omitempty"`
	Ptr     bool   `json:",omitempty"`
	Builtin string `json:",omitempty"`
	Kind    uint8  `json:",omitempty"`
	Size    int64  `json:",omitempty"`
}

// CallArg is one argument: the value of type Type at Addr, a pointer to
// it (AddrOf), or a constant (Const, with ConstKind "int", "float",
// "char", "string", "bool" or "nil"), converted to the parameter's type.
type CallArg struct {
	Type      TypeRef `json:",omitempty"`
	Addr      uint64  `json:",omitempty"`
	AddrOf    bool    `json:",omitempty"`
	Const     string  `json:",omitempty"`
	ConstKind string  `json:",omitempty"`
}

// CallRan says where the app put what a CallPlan's call gave: the
// address of each result, a value of its declared type, or of an
// interface (any) holding the panic's value.
type CallRan struct {
	Values   []uint64 `json:",omitempty"`
	Panicked bool     `json:",omitempty"`
	// PanicMessage is the panic's value as Go prints it.
	PanicMessage       string   `json:",omitempty"`
	OutTypes, OutNames []string `json:",omitempty"`
	Suffix             string   `json:",omitempty"`
}

// LocalsIn lists the live args and locals of one frame.
type LocalsIn struct {
	At
}

// LocalsOut is one frame's variables.
type LocalsOut struct {
	Vars *debugapi.FrameVars
}

// ExpandIn loads the children of a value (a debugapi.Handle).
type ExpandIn struct {
	At
	Expr  string
	Start int
}

// ExpandOut is the value with its next children.
type ExpandOut struct {
	Value *debugapi.Value
}

// Ready is the agent's first line, once attached or failed.
type Ready struct {
	PID        int
	AttachTook time.Duration
	Optimized  bool
	// NoMainVariables: see Status.NoMainVariables.
	NoMainVariables bool
	Err             string // attach failed: the reason, for Status.Reason
	Fix             string
}

// Environment of the re-executed binary. EnvRole is ours: it makes the
// binary the agent or the agent's guardian before main runs; PANICROOM_AGENT
// is the user's switch.
const (
	EnvRole      = "PANICROOM_INTERNAL_ROLE"
	RoleAgent    = "agent"
	RoleGuardian = "guardian"
	EnvParent    = "PANICROOM_INTERNAL_PARENT"
	EnvUser      = "PANICROOM_AGENT"
)

// WithFramesSent returns r with its scope's frames replaced by FramesSent,
// for an agent that already has them. r and its payload are unchanged: the
// caller may need to send it again, frames and all.
func (r Request) WithFramesSent() Request {
	strip := func(s *Scope) { s.Frames, s.FramesSent = nil, true }
	switch {
	case r.Snapshot != nil:
		p := *r.Snapshot
		strip(&p.Scope)
		r.Snapshot = &p
	case r.Eval != nil:
		p := *r.Eval
		strip(&p.Scope)
		r.Eval = &p
	case r.Locals != nil:
		p := *r.Locals
		strip(&p.Scope)
		r.Locals = &p
	case r.Expand != nil:
		p := *r.Expand
		strip(&p.Scope)
		r.Expand = &p
	}
	return r
}
