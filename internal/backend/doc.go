// Package backend is the agent process: the app's own binary,
// re-executed by package agent with wire.EnvRole set, whose init (role.go)
// takes it over before the app's main. It attaches to the app with Delve,
// used as a library, and answers package wire's requests: snapshots of a
// parked goroutine's frames, the heap pointers they hold (keepalive.go),
// evaluation, calls and assignments in any frame.
//
// # Backends
//
// The agent drives the app with one of Delve's backends, behind the small
// target interface (target.go): native ptrace on Linux (the default,
// target_native_linux.go), or gdbserial, which speaks the GDB remote
// protocol to a debug stub (target_stub.go): Apple's debugserver on
// macOS, where it is the only choice (darwin.go), and LLVM's lldb-server
// on Linux with PANICROOM_BACKEND=lldb, which is how the macOS path is
// tested here (make test-lldb). A stub cannot read the app while it runs,
// so through it every request stops the app; its failures are explained
// by explainStub (stubmsg.go).
//
// # Calls
//
// A call the app can make itself (one function or method applied to
// values in its memory or constants) is answered with a plan for it
// (plan.go), and its results are read where the app puts them. Others
// are injected by Delve, from the topmost frame of a goroutine only, and
// there the topmost frame is the app's spin (package agent), so an
// expression meant for frame N is rewritten into frame N's terms first
// (rewrite.go). Before each injection the agent arms a slot of the app's
// SIGTRAP guard (trapslots_linux.go), so that a call whose agent dies is
// seen through by the app; a new agent frees at attach the slots no call
// needs. On arm64 Delve misplaces the frames below a call that never
// returned; they are unwound again (injected.go).
//
// # Failure
//
// The agent starts a guardian process (guardian_linux.go) that continues
// the app if the agent dies while the app is stopped, and exits when the
// app's pipe reaches EOF (the app is gone). Attach failures are turned into
// one reason and one fix for the page (explainAttach, ptraceFix).
package backend
