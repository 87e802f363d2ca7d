// Package debugger evaluates Go in the frames of a parked panicking
// goroutine, with Delve used as a library in a helper process (the agent).
//
// # Setup
//
// The app calls [Start] once at start-up; it returns at once and the agent
// attaches in the background (the app is frozen ~0.4 s meanwhile). The
// agent is this same binary re-executed; a package init here recognises it
// before main runs. When a panic is parked, the app calls
// [Agent.Register] with the page's frames and the goroutine's park.Spot,
// and [Agent.Forget] on release. Everything else goes through the
// [Evaluator] interface; no Delve type crosses it.
//
// # Protocol
//
// One JSON request per line on the agent's fd 3, one answer per line on
// fd 4, serialized, each bounded by Options.Timeout (default 10 s). The
// first request about a parked goroutine stops the app to unwind its stack;
// later reads, expansions and locals are answered from those frames while
// the app runs (nonstop_linux.go; with the native backend only), and so are
// assignments of numbers to locals of the parked frames, while the app holds
// the goroutine parked (livewrite_linux.go). Other assignments stop the app
// for the length of one request; calls also need the goroutine running on a thread, so the
// app makes it spin in rendezvous (no breakpoint is ever written into the
// app) and the agent injects from there, rewriting frame-N locals to
// runtime.frame(N).name.
//
// Delve's escape check refuses a call handed a pointer into the parked
// frames (a method on a local that never escaped). The agent makes it
// anyway when the app agrees to keep those frames for good
// ([Panic].Retain): a pointer the callee kept then never points into a
// stack that was reused.
//
// # Keep-alive
//
// The parked frames are dead to the runtime, so heap objects that only
// they reference are not GC roots. The snapshot that Register starts
// (taken while the root holds the collector off) also lists every heap
// pointer held in the app frames' args and locals, each checked against
// the runtime's heap metadata while the app is stopped (allocated object,
// in-use span, never a stack), and hands them to [Panic].KeepAlive, which
// stores them in the parked record. See keepalive.go.
//
// # Backends
//
// The agent drives the app with one of Delve's backends, behind the small
// target interface (target.go): native ptrace on Linux (the default,
// target_native_linux.go), or gdbserial, which speaks the GDB remote
// protocol to a debug stub (target_stub.go): Apple's debugserver on
// macOS, where it is the only choice (agent_darwin.go), and LLVM's
// lldb-server on Linux with PANICROOM_BACKEND=lldb, which is how the macOS
// path is tested here (make test-lldb). A stub cannot read the app while it
// runs, so through it every request stops the app; its failures are
// explained by explainStub (stubmsg.go).
//
// # Failure
//
// The agent starts a guardian process that continues the app if the
// agent dies while the app is stopped; the app restarts a dead agent up to
// Options.MaxRestarts times. The runtime's debug-call protocol signals
// each step with a breakpoint (int3, brk), which kills a Go program when
// no debugger answers it: the app puts a SIGTRAP handler in front of the
// runtime's that finishes the protocol of a call whose agent died
// (orphan_linux.go, orphan_linux_amd64.s, orphan_linux_arm64.s), and a new
// agent frees at attach the handler's slots that no call needs. Calls are
// injected from spin (spin_amd64.s, spin_arm64.s), which survives an agent
// killed while setting one up. On arm64 Delve misplaces the frames below a
// call that never returned; they are unwound again (injected.go).
// [Agent.Status] says why the console is off and what to do.
package debugger
