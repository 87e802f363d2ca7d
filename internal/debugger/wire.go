package debugger

import "time"

// The app and the agent exchange one JSON object per line: requests on the
// agent's fd 3, answers on its fd 4. Stdout and stderr stay the app's, so a
// package init that prints cannot corrupt the protocol.

// codeNeedFrames asks the app to send the request again with its frames:
// the agent no longer has them. It never reaches the console.
const codeNeedFrames Code = "need-frames"

// Operations of a wireRequest.
const (
	opSnapshot = "snapshot"
	opEval     = "eval"
	opLocals   = "locals"
	opExpand   = "expand"
	opPing     = "ping"
)

type wireRequest struct {
	ID        uint64
	Op        string
	Goroutine int64
	// Frames are the page's frames; Delve's are matched against them.
	// They go to an agent once per panic (the first request about it) and
	// later requests say FramesSent instead: decoding them on every request
	// was a sixth of the agent's CPU in a stream of reads.
	Frames     []Frame `json:",omitempty"`
	FramesSent bool    `json:",omitempty"`
	Frame      int
	Expr       string
	Start      int
	// KeepAlive asks a snapshot to list the heap pointers held in the
	// frames (wireAnswer.KeepAlive).
	KeepAlive bool
	// Call is set when the panic's goroutine is spinning in rendezvous, so
	// the agent may inject calls from it.
	Call bool
	// StackPointers lets a call be handed pointers into the parked frames
	// when Delve's escape check refuses them: the app has agreed to keep
	// the frames for good if it happens (Panic.Retain).
	StackPointers bool `json:",omitempty"`
	// Held says that the app keeps the panic's goroutine parked until the
	// answer (park.Spot.Hold): an assignment to its frames may then be
	// written while the app runs (livewrite_linux.go).
	Held    bool `json:",omitempty"`
	Timeout time.Duration
	Panic   string // for handles in answers
}

type wireAnswer struct {
	ID       uint64
	Value    *Value     `json:",omitempty"`
	Snapshot *Snapshot  `json:",omitempty"`
	Vars     *FrameVars `json:",omitempty"`
	Err      *Error     `json:",omitempty"`
	// NeedCall asks the app to set up the rendezvous and send the request
	// again with Call set: the expression calls a function or allocates.
	NeedCall bool `json:",omitempty"`
	// KeepAlive lists, for a snapshot asked with KeepAlive, the heap
	// pointers held in the memory of the app frames' args and locals, each
	// checked against the runtime's heap metadata while the app was stopped
	// (keepalive.go). KeepAliveGC is runtime.memstats.numgc at that
	// stop: once a collection has ended since, the check is void.
	KeepAlive   []uintptr `json:",omitempty"`
	KeepAliveGC uint32    `json:",omitempty"`
	// KeepAliveErr says why no pointers were collected.
	KeepAliveErr string `json:",omitempty"`
	// Stopped is set when the agent stopped the app to answer.
	Stopped bool `json:",omitempty"`
	// Retained is set when a call was handed pointers into the parked
	// frames: the app must now keep them for good (Panic.Retain).
	Retained bool `json:",omitempty"`
}

// wireReady is the agent's first line, once attached or failed.
type wireReady struct {
	PID        int
	AttachTook time.Duration
	Optimized  bool
	// NoMainVariables: see Status.NoMainVariables.
	NoMainVariables bool
	Err             string // attach failed: the reason, for Status.Reason
	Fix             string
}

// Environment of the re-executed agent. envRole is ours; PANICROOM_AGENT is
// the user's switch.
const (
	envRole   = "PANICROOM_INTERNAL_ROLE"
	roleAgent = "agent"
	envParent = "PANICROOM_INTERNAL_PARENT"
	envUser   = "PANICROOM_AGENT"
)
