package backend

import (
	"bufio"
	"debug/dwarf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-delve/delve/pkg/logflags"
	"github.com/go-delve/delve/pkg/proc"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/pin"
)

// This file is the agent: the app's binary re-executed with envRole set.
// It attaches to its parent with Delve's pkg/proc (not service/debugger and
// never the JSON-RPC client: the spike measured the RPC path 10× slower for
// a snapshot), keeps the parent running, and stops it only for the length
// of one request.

func agentMain() int {
	logflags.Setup(false, "", "")
	// The pipes are inherited in blocking mode. A goroutine blocked in
	// read(2) keeps its P until sysmon takes it back, and Delve's wait4
	// holds the other: the main loop then waited up to 20 ms for a P
	// before serving a request that had already arrived. In non-blocking
	// mode os.NewFile puts them on the poller, which holds no P.
	syscall.SetNonblock(3, true)
	syscall.SetNonblock(4, true)
	in := os.NewFile(3, "panicroom-requests")
	out := os.NewFile(4, "panicroom-answers")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "panicroom agent: started without its pipes")
		return 2
	}
	enc := json.NewEncoder(out)
	r := bufio.NewReader(in)

	// The parent grants PR_SET_PTRACER for our pid and only then writes the
	// first line; attaching earlier would fail under Yama scope 1.
	if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "go" {
		return 2
	}
	ppid, _ := strconv.Atoi(os.Getenv(wire.EnvParent))
	if ppid == 0 || ppid != os.Getppid() {
		return 2 // the parent died before we attached
	}

	guard, err := startGuardian(ppid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "panicroom agent: no guardian (%v); if this agent dies while the app is stopped, the app stays stopped\n", err)
	}
	defer guard.Close()

	settleGC := collectDuringLoad()
	start := time.Now()
	backend, err := wire.BackendFromEnv(runtime.GOOS)
	if err != nil {
		enc.Encode(wire.Ready{PID: os.Getpid(), Err: err.Error(), Fix: wire.BackendFix})
		return 1
	}
	tgt := newTarget(backend)
	sn, err := attach(tgt, ppid)
	if err != nil {
		reason, fix := tgt.explainAttach(err, ppid)
		enc.Encode(wire.Ready{PID: os.Getpid(), Err: reason, Fix: fix})
		return 1
	}
	if sn.heap == nil {
		sn.prepareKeepAlive()
	}
	sn.sweepTrapSlots()
	ready := wire.Ready{PID: os.Getpid(), AttachTook: time.Since(start), Optimized: sn.optimized}
	sn.resume()
	// Read while the app runs: it is the binary's debug information, not
	// its memory; Delve's copy, as a second read of the file cost the
	// console 75 ms before it was ready (200 with compressed DWARF) and
	// the agent a second copy of its sections.
	if imgs := sn.t.BinInfo().Images; len(imgs) > 0 && !sn.optimized {
		d := delveDWARF(sn.t.BinInfo())
		if d == nil {
			d, _ = openDWARF(imgs[0].Path)
		}
		ready.NoMainVariables = !mainHasVariables(d)
		sn.noMainVars = ready.NoMainVariables
	}
	if err := enc.Encode(ready); err != nil {
		sn.detach()
		return 1
	}
	settleGC()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	reqs := make(chan wire.Request)
	go func() {
		defer close(reqs)
		dec := json.NewDecoder(r)
		for {
			var req wire.Request
			if err := dec.Decode(&req); err != nil {
				return
			}
			reqs <- req
		}
	}()

	for {
		select {
		case <-sigs:
			sn.detach()
			return 0
		case req, ok := <-reqs:
			if !ok {
				sn.detach() // pipe EOF: the app closed us or died
				return 0
			}
			ans := sn.serve(req)
			ans.ID = req.ID
			if err := enc.Encode(ans); err != nil {
				sn.detach()
				return 0
			}
			if sn.exited {
				return 0
			}
		case err := <-sn.done:
			// The target stopped on its own: it exited, or an earlier
			// call injection that hit its deadline finished now.
			sn.running = false
			if sn.exitedErr(err) {
				return 0
			}
			if why := tgt.stopped(err); why != "" {
				fmt.Fprintln(os.Stderr, "panicroom agent:", why)
			}
			sn.resume()
		}
	}
}

func explainAttach(err error, app int) (reason, fix string) {
	msg := err.Error()
	refused := errors.Is(err, syscall.EPERM) || strings.Contains(msg, "operation not permitted")
	if pid, name := tracerOf(app); refused && pid != 0 {
		// A process has one tracer: the usual cause on a developer's
		// machine is a debugger or strace already attached.
		reason = fmt.Sprintf("the app is already traced by %s (pid %d), and a process can have only one tracer", name, pid)
		fix = "detach it (quit dlv, gdb or strace) and restart the app; to debug the app with Delve instead, set PANICROOM_AGENT=off"
		return reason, fix
	}
	switch {
	case refused:
		scope, _ := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
		reason = "the kernel refused ptrace (" + msg + ")"
		fix = ptraceFix(strings.TrimSpace(string(scope)), pin.DetectContainer())
	case strings.Contains(msg, "could not find") && strings.Contains(msg, "debug"),
		strings.Contains(msg, "no debug info"), strings.Contains(msg, "DWARF"):
		reason = "the binary has no debug information (" + msg + ")"
		fix = "do not strip the binary: " + debugapi.BuildAdvice + " (without -ldflags=-w or -s)"
	default:
		reason = "attaching the debugger failed: " + msg
		fix = debugapi.BuildAdvice + "; see the agent's stderr for details"
	}
	return reason, fix
}

// ptraceFix says what lets the agent attach when the kernel refused it,
// given Yama's ptrace_scope (the host's, even in a container) and where
// the app runs. In a container the usual cause is the capability the
// runtime withholds, which Yama's scope 2 demands and which seccomp
// profiles older than Docker 19.03, or on kernels before 4.8, demand for
// ptrace itself; so that is the fix named, in the runtime's own terms.
func ptraceFix(scope string, c pin.Container) string {
	if scope == "3" {
		return "Yama ptrace_scope is 3 (ptrace disabled until reboot): reboot with kernel.yama.ptrace_scope=1" + hostNote(c)
	}
	var add string
	switch c.Runtime {
	case "":
		if scope == "2" {
			return "Yama ptrace_scope is 2 (admin only): run as root or with CAP_SYS_PTRACE, or `sudo sysctl kernel.yama.ptrace_scope=1`"
		}
		return "check `sysctl kernel.yama.ptrace_scope` (0 or 1 works) and the seccomp, AppArmor or SELinux policy the app runs under (a systemd unit's SystemCallFilter, SELinux's deny_ptrace); in a container, add the capability: `docker run --cap-add=SYS_PTRACE`, or securityContext.capabilities.add: [\"SYS_PTRACE\"] in Kubernetes"
	case "Kubernetes":
		add = "add the capability to the container: securityContext: {capabilities: {add: [\"SYS_PTRACE\"]}} (a namespace enforcing the baseline or restricted Pod Security Standard refuses it), and give the pod the seccompProfile RuntimeDefault or Unconfined, not a custom one without ptrace"
	case "Podman":
		add = "run it with `podman run --cap-add=SYS_PTRACE`"
	case "Docker":
		add = "run it with `docker run --cap-add=SYS_PTRACE` (Compose: cap_add: [SYS_PTRACE])"
	default:
		add = "add the SYS_PTRACE capability to the container (`docker run --cap-add=SYS_PTRACE`, `podman run --cap-add=SYS_PTRACE`, or securityContext.capabilities.add: [\"SYS_PTRACE\"] in Kubernetes)"
	}
	fix := fmt.Sprintf("this app runs in %s (%s): %s", c.Runtime, c.Signal, add)
	if scope == "2" {
		fix += "; the host's Yama ptrace_scope is 2, which admits only a tracer with that capability"
	}
	return fix
}

// hostNote says that a container cannot change what only its host can.
func hostNote(c pin.Container) string {
	if !c.In() {
		return ""
	}
	return " on the host: this app runs in " + c.Runtime + ", which shares the host's kernel setting"
}

// tracerOf returns the pid and name of the process tracing pid, if any.
func tracerOf(pid int) (int, string) {
	// TracerPid is the tracing thread; its Tgid is the process.
	tid := procfs.StatusInt(pid, "TracerPid")
	if tid == 0 {
		return 0, ""
	}
	tracer := procfs.StatusInt(tid, "Tgid")
	if tracer == 0 {
		tracer = tid
	}
	name, _ := os.ReadFile("/proc/" + strconv.Itoa(tracer) + "/comm")
	return tracer, strings.TrimSpace(string(name))
}

// session is one attach of the agent to the app: Delve's view of it, the
// target (backend) that made it, and what the agent keeps between requests.
type session struct {
	grp       *proc.TargetGroup
	t         *proc.Target
	optimized bool
	// noMainVars: the main package was compiled without its variables'
	// debug information (Status.NoMainVariables).
	noMainVars bool

	running bool
	resumed chan struct{}
	done    chan error
	exited  bool
	// stuck counts call injections abandoned at their deadline, by
	// goroutine: Delve still tracks them, and the goroutine is not
	// usable for another call.
	stuck map[int64]bool
	// heap is the layout of the runtime's heap metadata, read from DWARF
	// at attach (prepareKeepAlive) or else at the first snapshot.
	heap *heapLayout
	// frozen holds the frames of parked goroutines from the last stop,
	// and live reads the running app (nonstop_linux.go); thawed is the
	// goroutine of the read being answered that way.
	frozen *recent[int64, *frozen]
	live   liveReader // nil: the backend reads only with the app stopped
	thawed *located
	// frames holds the page's frames of each panic, sent once
	// (framesFor).
	frames *recent[string, []debugapi.Frame]
	// trapSlots is the address of the app's trapSlots, found at the
	// first call (trapslots_linux.go).
	trapSlots uint64
	// imports are those of the frames' source files (rewrite).
	imports importCache
	// timeout is the current request's, for its messages.
	timeout time.Duration
	// rtypes caches runtime types' offsets by DWARF type (plan.go), and
	// variadics what functions' declarations say (variadic.go).
	rtypes    map[dwarf.Offset]uint64
	variadics map[string]variadicity
}

func attach(tgt target, pid int) (*session, error) {
	grp, heap, err := tgt.attach(pid)
	if err != nil {
		return nil, err
	}
	sn := &session{grp: grp, t: grp.Selected, heap: heap, stuck: map[int64]bool{}, frozen: newRecent[int64, *frozen](maxFrozen), live: tgt.liveMemory(pid), frames: newRecent[string, []debugapi.Frame](maxFrames), imports: importCache{}}
	// Delve sets breakpoints on runtime.fatalpanic and runtime.throw. If
	// this agent were killed, the next fatal error in the app would hit a
	// bare int3 (trap 3 of DESIGN.md); and we have no use for them.
	for addr := range sn.t.Breakpoints().M {
		if err := sn.t.ClearBreakpoint(addr); err != nil {
			grp.Detach(false)
			return nil, fmt.Errorf("clearing Delve's internal breakpoint at %#x: %w", addr, err)
		}
	}
	for id := range grp.LogicalBreakpoints {
		delete(grp.LogicalBreakpoints, id)
	}
	if fns := sn.t.BinInfo().LookupFunc()["main.main"]; len(fns) > 0 && fns[0].Optimized() {
		sn.optimized = true
	}
	return sn, nil
}

func (sn *session) resume() {
	sn.resumed = make(chan struct{})
	sn.done = make(chan error, 1)
	sn.grp.ResumeNotify(sn.resumed)
	sn.running = true
	done := sn.done
	go func() { done <- sn.grp.Continue() }()
}

// halt stops the target. A manual stop request sent before Continue has
// resumed the threads would be cleared by Continue itself and leave a
// SIGTRAP pending, so wait for the resume first.
func (sn *session) halt() error {
	if !sn.running {
		return nil
	}
	var err error
	select {
	case <-sn.resumed:
		if err := sn.grp.RequestManualStop(); err != nil {
			return err
		}
		err = <-sn.done
	case err = <-sn.done:
	}
	sn.running = false
	if sn.exitedErr(err) {
		return errors.New("the app exited")
	}
	return err
}

func (sn *session) exitedErr(err error) bool {
	var pe proc.ErrProcessExited
	if errors.As(err, &pe) {
		sn.exited = true
		return true
	}
	if ok, _ := sn.grp.Valid(); !ok {
		sn.exited = true
		return true
	}
	return false
}

// detach restores every byte written to the target and lets it go.
func (sn *session) detach() {
	if sn.exited {
		return
	}
	if err := sn.halt(); err != nil && sn.exited {
		return
	}
	for addr := range sn.t.Breakpoints().M {
		sn.t.ClearBreakpoint(addr)
	}
	sn.grp.Detach(false)
}
