//go:build linux && (amd64 || arm64) && !panicroom_noconsole

package agent_test

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/testapp"
)

// TestStaleness: garbage, collections and deep stacks on other goroutines
// while the panic is parked must not move its frames or free what they
// point to (trap 1 of DESIGN.md).
func TestStaleness(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	for round := 0; round < 3; round++ {
		f.do(command{Op: "pressure"})
		if r := f.do(command{Op: "moved", Panic: "p"}); r.Other != "false" {
			t.Fatalf("round %d: the parked stack moved", round)
		}
		checks := []struct {
			frame      int
			expr, want string
		}{
			{1, "u.Email", `"ada@example.com"`},
			{2, "items[99]", "9801"},
			{2, "u.Tags[0]", `"admin"`},
			{2, `u.Meta["fails"]`, "1"},
			{3, "req.Query[\"q\"]", `"1"`},
			{3, `user.Greeting("hey")`, `"hey, Ada"`},
			{2, "add(items[3], total)", "16"},
		}
		for _, c := range checks {
			if v := f.mustEval("p", c.frame, c.expr); v.Value != c.want {
				t.Errorf("round %d: frame %d: %s = %s, want %s", round, c.frame, c.expr, v.Value, c.want)
			}
		}
	}
}

// TestCallDeadline: a call that blocks or loops forever comes back at the
// deadline, the app keeps serving, and reads of the same panic still work.
// A call the app makes itself leaves the parked goroutine free for the
// next; one Delve injected keeps it, and the next is refused.
func TestCallDeadline(t *testing.T) {
	for _, mode := range []string{"", injectCalls} {
		t.Run(callMode(mode), func(t *testing.T) {
			f := startFixture(t, mode)
			for _, fn := range []string{"blockForever", "loopForever"} {
				id := "p-" + fn
				f.panic(id)
				start := time.Now()
				r := f.eval(id, 3, fn+"()")
				if r.Err == nil || r.Err.Code != debugapi.CodeTimeout {
					t.Fatalf("%s(): %+v, want a timeout", fn, r.Err)
				}
				if took := time.Since(start); took > testapp.Scaled(6*time.Second) {
					t.Errorf("%s(): answered after %v, the fixture's deadline is %v", fn, took, testapp.Scaled(3*time.Second))
				}
				alive(t, f)
				if v := f.mustEval(id, 3, "total"); v.Value != "7" {
					t.Errorf("read after a stuck call: total = %s", v.Value)
				}
				r = f.eval(id, 3, "add(1, 2)")
				if mode == "" && (r.Err != nil || r.Value.Value != "3") {
					t.Errorf("second call after a stuck one: %+v %+v, want 3", r.Value, r.Err)
				}
				if mode != "" && (r.Err == nil || !strings.Contains(r.Err.Msg, "never returned")) {
					t.Errorf("second call on a stuck goroutine: %+v", r.Err)
				}
			}
			f.panic("fresh")
			if v := f.mustEval("fresh", 3, "add(1, 2)"); v.Value != "3" {
				t.Errorf("call on another panic after stuck calls = %s", v.Value)
			}
		})
	}
}

// waitRestart waits until an agent other than old is attached.
func waitRestart(t *testing.T, f *fixture, old int) debugapi.Status {
	t.Helper()
	deadline := time.Now().Add(testapp.Scaled(30 * time.Second))
	for time.Now().Before(deadline) {
		st := f.status()
		if st.State == debugapi.StateAttached && st.AgentPID != old && st.AgentPID != 0 {
			return st
		}
		if st.State == debugapi.StateUnavailable {
			t.Fatalf("agent gave up: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no new agent attached within %v: %+v", testapp.Scaled(30*time.Second), f.status())
	return debugapi.Status{}
}

// TestAgentKilled: SIGKILL the agent while idle, during an eval (the app
// is stopped then, at a random point of the stop) and during a call; the
// app must survive every time and the console must work after the restart.
func TestAgentKilled(t *testing.T) {
	f := startFixture(t)
	f.panic("p")
	rng := rand.New(rand.NewSource(1))
	iterations := 4
	if testing.Short() {
		iterations = 1
	}
	kill := func(pid int) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill agent %d: %v", pid, err)
		}
	}
	for i := 0; i < iterations; i++ {
		for _, mode := range []string{"idle", "eval", "call"} {
			st := f.status()
			pid := st.AgentPID
			switch mode {
			case "idle":
				kill(pid)
			case "eval", "call":
				expr := "items[7]"
				if mode == "call" {
					expr = "add(items[7], 0)"
				}
				// The kill lands somewhere inside the request: before the
				// stop, while the app is stopped, or during the call.
				delay := time.Duration(rng.Intn(15000)) * time.Microsecond
				go func() {
					time.Sleep(delay)
					kill(pid)
				}()
				r := f.eval("p", 2, expr)
				if r.Err != nil && r.Err.Code != debugapi.CodeAgentDied && r.Err.Code != debugapi.CodeUnavailable {
					t.Errorf("%s kill after %v: unexpected error %+v", mode, delay, r.Err)
				}
			}
			waitRestart(t, f, pid)
			alive(t, f)
			if v := f.mustEval("p", 2, "items[7]"); v.Value != "49" {
				t.Fatalf("%s #%d: after restart items[7] = %s", mode, i, v.Value)
			}
			if v := f.mustEval("p", 3, "add(total, 1)"); v.Value != "8" {
				t.Fatalf("%s #%d: after restart add(total, 1) = %s", mode, i, v.Value)
			}
		}
	}
	if st := f.status(); st.Restarts < 3*iterations {
		t.Errorf("restarts = %d, want >= %d", st.Restarts, 3*iterations)
	}
}

// TestAgentKilledMidCall: SIGKILL the agent while the injected function
// runs. The runtime then meets the protocol's remaining int3s with no
// debugger attached, which the app's SIGTRAP guard must absorb: the app
// survives, the goroutine returns to its park, and after the restart the
// same panic answers reads and calls again.
func TestAgentKilledMidCall(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "slow")
	f := startFixture(t, "FIXTURE_SLOW_MARK="+mark, injectCalls)
	f.panic("p")
	iterations := 6
	if testing.Short() {
		iterations = 2
	}
	for i := 0; i < iterations; i++ {
		pid := f.status().AgentPID
		// Kill at a different point of the call each time, once slow
		// has started (it says so in the mark file).
		delay := time.Duration(10*i) * time.Millisecond
		want := fmt.Sprint(i + 1)
		go func() {
			for deadline := time.Now().Add(testapp.Scaled(10 * time.Second)); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if b, _ := os.ReadFile(mark); string(b) == want {
					break
				}
			}
			time.Sleep(delay)
			syscall.Kill(pid, syscall.SIGKILL)
		}()
		r := f.eval("p", 3, "slow(100)")
		if r.Err == nil || (r.Err.Code != debugapi.CodeAgentDied && r.Err.Code != debugapi.CodeUnavailable) {
			t.Fatalf("#%d: kill %v into the call: answered %+v, want the agent's death", i, delay, r.Err)
		}
		waitRestart(t, f, pid)
		alive(t, f)
		// The kill must have landed inside the function, and the function
		// must have run to its end with no debugger.
		if v := f.mustEval("p", 3, "main.slowStarted"); v.Value != want {
			t.Fatalf("#%d: slow started %s times, want %s: the kill after %v missed the call", i, v.Value, want, delay)
		}
		for deadline := time.Now().Add(testapp.Scaled(3 * time.Second)); f.mustEval("p", 3, "main.slowEnded").Value != want; {
			if time.Now().After(deadline) {
				t.Fatalf("#%d: the orphaned call never returned", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The guard frees a thread's slot when it has brought the thread
		// back into the rendezvous and restored its flags, a few steps of
		// the protocol after the function's end: long enough, emulated, to
		// be seen before.
		for s := 0; s < 16; s++ {
			expr := fmt.Sprintf("%s[%d]", wire.TrapSlotsSymbol, s)
			for deadline := time.Now().Add(testapp.Scaled(3 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
				v := f.mustEval("p", 3, expr+".tid")
				if v.Value == "0" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("#%d: trap slot %d still holds thread %s after the call ended (pc %s, steps %s)", i, s, v.Value, f.mustEval("p", 3, expr+".pc").Value, f.mustEval("p", 3, expr+".steps").Value)
				}
			}
		}
		if v := f.mustEval("p", 3, "total"); v.Value != "7" {
			t.Fatalf("#%d: after restart total = %s", i, v.Value)
		}
		if v := f.mustEval("p", 3, "add(total, 1)"); v.Value != "8" {
			t.Fatalf("#%d: after restart add(total, 1) = %s", i, v.Value)
		}
	}
}

// TestStaleTrapSlots: an agent killed after Delve has taken a call through
// its last step, and before it freed the call's guard slot, leaves the slot
// set for a thread that is back in its park; the next agent frees such
// slots at attach, and keeps the slot of a call that is still running,
// which the guard must see through if it ever returns. The stale slots are
// written here by hand: that kill lands in a window of microseconds.
func TestStaleTrapSlots(t *testing.T) {
	f := startFixture(t, injectCalls)
	f.panic("stuck")
	f.panic("p")
	if r := f.eval("stuck", 3, "blockForever()"); r.Err == nil || r.Err.Code != debugapi.CodeTimeout {
		t.Fatalf("blockForever(): %+v, want a timeout", r.Err)
	}
	const slots = wire.TrapSlotsSymbol
	tids := func() []string {
		var out []string
		for s := 0; s < 16; s++ {
			out = append(out, f.mustEval("p", 3, fmt.Sprintf("%s[%d].tid", slots, s)).Value)
		}
		return out
	}
	before := tids()
	stuck, free := -1, []int{}
	for s, tid := range before {
		if tid != "0" {
			stuck = s
		} else {
			free = append(free, s)
		}
	}
	if stuck < 0 || len(free) != 15 {
		t.Fatalf("slots after a stuck call: %v, want exactly one set", before)
	}
	// The app's main thread with its main goroutine, neither in a call;
	// and a thread and goroutine that do not exist.
	stale := []struct{ tid, goid int }{{f.cmd.Process.Pid, 1}, {1 << 30, 1 << 40}}
	for i, st := range stale {
		for _, set := range []string{fmt.Sprintf("%s[%d].tid = %d", slots, free[i], st.tid), fmt.Sprintf("%s[%d].goid = %d", slots, free[i], st.goid)} {
			if r := f.eval("p", 3, set); r.Err != nil {
				t.Fatalf("%s: %+v", set, r.Err)
			}
		}
	}
	pid := f.status().AgentPID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill agent %d: %v", pid, err)
	}
	waitRestart(t, f, pid)
	after := tids()
	for i := range stale {
		if after[free[i]] != "0" {
			t.Errorf("stale slot %d (thread %s, not in a call) was not freed at attach", free[i], after[free[i]])
		}
	}
	if after[stuck] != before[stuck] {
		t.Errorf("the stuck call's slot %d holds %s, want %s: a call still running lost its guard", stuck, after[stuck], before[stuck])
	}
	alive(t, f)
	if v := f.mustEval("p", 3, "add(total, 1)"); v.Value != "8" {
		t.Errorf("after the restart add(total, 1) = %s", v.Value)
	}
}

// TestPtraceRefused: when the kernel refuses the agent's ptrace — here
// because the app already has a tracer, as under strace or another
// debugger — the status says why and what to do, the agent is not
// restarted in a loop, evaluations answer with that reason, and the app
// goes on serving and parking its panics.
func TestPtraceRefused(t *testing.T) {
	cmd := exec.Command(fixtureBinary(t))
	cmd.Env = append(os.Environ(), "PANICROOM_AGENT=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	start, started := make(chan struct{}), make(chan error, 1)
	// A minimal tracer of the app's main thread: every ptrace request
	// must come from the thread that started it, so this goroutine keeps
	// its thread until the app exits, continuing each stop and handing
	// the app its signals.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		<-start // once launchFixture has set up the pipes
		err := cmd.Start()
		started <- err
		if err != nil {
			return
		}
		pid := cmd.Process.Pid
		for {
			var ws syscall.WaitStatus
			if _, err := syscall.Wait4(pid, &ws, syscall.WALL, nil); err != nil || ws.Exited() || ws.Signaled() {
				return
			}
			sig := 0
			if ws.Stopped() && ws.StopSignal() != syscall.SIGTRAP {
				sig = int(ws.StopSignal())
			}
			syscall.PtraceCont(pid, sig)
		}
	}()
	f := launchFixture(t, cmd, func() error { close(start); return <-started })
	st := f.waitAttached()
	if st.State != debugapi.StateUnavailable {
		t.Fatalf("state %s, want unavailable: %+v", st.State, st)
	}
	self, _ := os.ReadFile("/proc/self/comm")
	if want := fmt.Sprintf("already traced by %s (pid %d)", strings.TrimSpace(string(self)), os.Getpid()); !strings.Contains(st.Reason, want) {
		t.Errorf("reason %q does not say %q", st.Reason, want)
	}
	if !strings.Contains(st.Fix, "PANICROOM_AGENT=off") {
		t.Errorf("fix %q does not say how to run without the agent", st.Fix)
	}
	f.panic("p")
	r := f.eval("p", 2, "total")
	if r.Err == nil || r.Err.Code != debugapi.CodeUnavailable || !strings.Contains(r.Err.Msg, "already traced") {
		t.Errorf("eval without an agent: %+v, want unavailable with the reason", r.Err)
	}
	alive(t, f)
	time.Sleep(500 * time.Millisecond)
	if st := f.status(); st.Restarts != 0 || st.State != debugapi.StateUnavailable {
		t.Errorf("after a refusal the agent was restarted: %+v", st)
	}
}

// TestAgentKilledDuringCallSetup: SIGKILL the agent while it stops the app,
// finds the goroutine and sets up the injection, at a different moment each
// time. A debugger killed halfway through pushing the injection's return
// address leaves the spinning thread with SP lowered by a word; spin
// returns by the SP it saved, so the app must survive every such kill.
func TestAgentKilledDuringCallSetup(t *testing.T) {
	for _, mode := range []string{"", injectCalls} {
		t.Run(callMode(mode), func(t *testing.T) { testAgentKilledDuringCallSetup(t, mode) })
	}
}

// testAgentKilledDuringCallSetup kills the agent at points 0.5 ms apart
// from the start of a call: for the app's own calls, while the agent plans
// it or reads its result; for Delve's, while it sets up the injection.
func testAgentKilledDuringCallSetup(t *testing.T, mode string) {
	f := startFixture(t, mode)
	f.panic("p")
	iterations := 12
	if testing.Short() {
		iterations = 4
	}
	for i := 0; i < iterations; i++ {
		pid := f.status().AgentPID
		delay := time.Duration(i*500) * time.Microsecond
		go func() {
			time.Sleep(delay)
			syscall.Kill(pid, syscall.SIGKILL)
		}()
		f.eval("p", 3, "add(total, 2)")
		waitRestart(t, f, pid)
		alive(t, f)
		if v := f.mustEval("p", 3, "add(total, 1)"); v.Value != "8" {
			t.Fatalf("#%d (kill after %v): after restart add(total, 1) = %s", i, delay, v.Value)
		}
	}
}

// The agent's events reach the app's slog.Logger at their level, with
// attributes a log pipeline can filter on: the attach at Info, a death
// and its restart at Warn.
func TestAgentEventsAreStructured(t *testing.T) {
	f := startFixture(t)
	pid := f.status().AgentPID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitRestart(t, f, pid)
	deadline := time.Now().Add(testapp.Scaled(5 * time.Second))
	for {
		out := f.stderr.String()
		attached := strings.Contains(out, `level=INFO msg="panicroom: debugger attached in `) && strings.Contains(out, fmt.Sprintf("agent_pid=%d", pid))
		restarted := strings.Contains(out, `level=WARN msg="panicroom: the debugger's agent died; restarting it" reason=`)
		if attached && restarted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("attach at INFO with agent_pid=%d: %v; death at WARN with reason: %v\n%s", pid, attached, restarted, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
