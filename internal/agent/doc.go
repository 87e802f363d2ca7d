// Package agent is the app side of the console: it starts the agent (this
// same binary re-executed, with package backend taking it over before
// main), restarts it when it dies, and turns [debugapi.Evaluator] calls
// into requests on its pipes. No Delve type crosses it; the protocol is
// package wire's.
//
// # Setup
//
// The app calls [Start] once at start-up; it returns at once and the agent
// attaches in the background: it reads the binary's debug information while
// the app runs, then stops the app once, for tens of milliseconds. When a
// panic is parked, the app calls [Client.Register] with the page's frames
// and the goroutine's park.Spot, and [Client.Forget] on release.
//
// # Protocol
//
// One JSON request per line on the agent's fd 3, one answer per line on
// fd 4, serialized, each bounded by Options.Timeout (default 10 s). The
// first request about a parked goroutine stops the app to unwind its stack;
// later reads, expansions and locals are answered from those frames while
// the app runs (with the native backend only), and so are assignments of
// numbers to locals of the parked frames, while the app holds the
// goroutine parked (hold.go; the backend's livewrite_linux.go). Other
// assignments stop the app for the length of one request.
//
// A call of one function or method on values of the frame comes back
// from the agent as a [wire.CallPlan] (the function's entry and
// signature, the arguments' addresses and runtime types), and the app
// makes it itself with package reflect, on a goroutine of its own, while
// it runs (direct.go): no stop, and the parked goroutine stays in its
// read(2). Any other call (nested calls, conversions, generic functions,
// a type the app cannot name) Delve injects: it needs the goroutine
// running on a thread, so the app makes it spin in rendezvous (no
// breakpoint is ever written into the app) and the agent injects from
// there.
//
// A call handed a pointer into the parked frames (a method on a local
// that never escaped) is made only when the app agrees to keep those
// frames for good ([debugapi.Panic].Retain): a pointer the callee kept
// then never points into a stack that was reused. The app's own calls
// commit to it before the call; Delve's escape check refuses such a call,
// and the agent then makes it without the check.
//
// # Keep-alive
//
// The parked frames are dead to the runtime, so heap objects that only
// they reference are not GC roots. The snapshot that Register starts
// (taken while the root holds the collector off) also lists every heap
// pointer held in the app frames' args and locals, each checked by the
// agent against the runtime's heap metadata while the app is stopped, and
// hands them to [debugapi.Panic].Parked (park.Parked.Keep), which decides
// whether they can be trusted and keeps them until the release.
//
// # Failure
//
// The app restarts a dead agent up to Options.MaxRestarts times; the
// agent's guardian continues the app if the agent dies while the app is
// stopped. The runtime's debug-call protocol signals each step with a
// breakpoint (int3, brk), which kills a Go program when no debugger
// answers it: the app puts a SIGTRAP handler in front of the runtime's
// that finishes the protocol of a call whose agent died
// (trapguard_linux.go and its assembly); the agent writes its slots.
// Calls are injected from spin (spin_amd64.s, spin_arm64.s), which
// survives an agent killed while setting one up. [Client.Status] says why
// the console is off and what to do.
package agent
