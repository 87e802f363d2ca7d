//go:build linux && (amd64 || arm64)

package reliability

import (
	"bytes"
	"debug/elf"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/internal/relreport"
	"github.com/panicroom/panicroom/internal/testapp"
)

// lossCodes are the answers that report a dead agent to the console.
var lossCodes = []string{"agent-died", "unavailable"}

// TestAgentKills SIGKILLs the agent at random moments — idle, during a
// read (the app stopped), during a call (the app running the injected
// function), and while a locals request holds the app stopped — 100 times
// in the full form. Throughout, healthy requests must all succeed and the
// app must never die; every request caught by a kill must be answered with
// the loss; every dead agent must be reaped; and after each automatic
// restart the console must read and call again. When the app stops
// restarting its agent (its restart budget), the console must say so, the
// app must stay healthy, and the next kill goes to a fresh process: the
// figures say after how many kills that happened.
func TestAgentKills(t *testing.T) {
	kills := scale(4, 100)
	modes := []string{"idle", "eval", "call", "stopped"}
	rng := rand.New(rand.NewSource(5))

	var (
		done, survived, reported, caught int
		processes, gaveUp, consoleLost   int
		restartTimes                     []time.Duration
		budgets                          []int
		gaveUpReason                     string
		healthOK, healthFail             int
		worstHealth                      time.Duration
	)
	r := relreport.Result{Area: "Faults", Test: "SIGKILL the agent (idle, mid-eval, mid-call: the app's own and Delve's, app stopped)", Outcome: "app alive, healthy requests all served, console back after restart"}
	defer func() {
		sort.Slice(restartTimes, func(i, j int) bool { return restartTimes[i] < restartTimes[j] })
		r.Iterations, r.Survived = done, survived
		r.Figures = []string{
			fmt.Sprintf("%d app processes", processes),
			fmt.Sprintf("healthy requests during kills: %d ok, %d failed (slowest %v)", healthOK, healthFail, worstHealth.Round(time.Millisecond)),
			fmt.Sprintf("in-flight requests hit by a kill: %d, answered with the loss: %d", caught, reported),
		}
		if len(restartTimes) > 0 {
			r.Figures = append(r.Figures, fmt.Sprintf("kill to console back: median %v, max %v over %d restarts",
				restartTimes[len(restartTimes)/2].Round(time.Millisecond), restartTimes[len(restartTimes)-1].Round(time.Millisecond), len(restartTimes)))
		}
		if consoleLost > 0 {
			r.Figures = append(r.Figures, fmt.Sprintf("console broken after a restart: %d times", consoleLost))
		}
		if gaveUp > 0 {
			r.Figures = append(r.Figures, fmt.Sprintf("restart budget: the console gave up in %d of %d processes, at kill %v of each (%q); the app kept serving", gaveUp, processes, budgets, gaveUpReason))
		}
		finish(t, &r)
	}()

	for done < kills {
		processes++
		a := startApp(t)
		st := a.waitAttached()
		s := a.newSession("n=1&label=kills")
		s.mustEval(t, "total", "7")
		h, stopHealth := a.watchHealth(10 * time.Millisecond)
		inProcess := 0
		for done < kills {
			mode := modes[done%len(modes)]
			pid := st.AgentPID
			done++
			inProcess++
			killed := time.Now()
			switch mode {
			case "idle":
				killed = time.Now()
				syscall.Kill(pid, syscall.SIGKILL)
			default:
				req := map[string]any{"op": "eval", "panic": s.id, "frame": s.frame, "expr": "order.Items[1] + total"}
				delay := time.Duration(rng.Intn(4000)) * time.Microsecond
				switch mode {
				case "call":
					// In turn a call the app makes itself, and one Delve
					// injects (an expression around it is Delve's).
					req["expr"] = "slow(120)"
					if done/len(modes)%2 == 1 {
						req["expr"] = "slow(120) + 0"
					}
					delay = 20*time.Millisecond + time.Duration(rng.Intn(80))*time.Millisecond
				case "stopped":
					req = map[string]any{"op": "locals", "panic": s.id, "frame": s.frame}
					delay = time.Duration(rng.Intn(8000)) * time.Microsecond
				}
				if _, err := s.con.send(req); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				killed = time.Now()
				syscall.Kill(pid, syscall.SIGKILL)
				ans, err := s.con.read(40 * time.Second)
				if err != nil {
					t.Fatalf("kill %d (%s after %v): no answer: %v", done, mode, delay, err)
				}
				if ans.Error != nil {
					caught++
					if slices.Contains(lossCodes, ans.Error.Code) {
						reported++
					} else {
						t.Errorf("kill %d (%s after %v): answered %+v, want one of %v", done, mode, delay, ans.Error, lossCodes)
					}
				}
			}
			next := a.waitStatus("a new agent or a clear refusal", 40*time.Second, func(s status) bool {
				return (s.State == "attached" && s.AgentPID != 0 && s.AgentPID != pid) || s.State == "unavailable"
			})
			if !a.alive() {
				t.Fatalf("kill %d (%s): the app died:\n%s", done, mode, tail(a.Log(), 4<<10))
			}
			if st := waitGone(pid, 5*time.Second); st != 0 {
				t.Errorf("kill %d: the killed agent %d is still there in state %c (not reaped)", done, pid, st)
			}
			if next.State == "unavailable" {
				gaveUp++
				budgets = append(budgets, inProcess)
				gaveUpReason = next.Reason
				if !strings.Contains(next.Reason, "gave up") {
					t.Errorf("the console is unavailable without saying why: %+v", next)
				}
				ans, err := s.con.eval(s.id, s.frame, "total", 20*time.Second)
				if err != nil || ans.Error == nil || ans.Error.Code != "unavailable" {
					t.Errorf("after the agent gave up, an eval answered %+v (%v), want code unavailable", ans.Error, err)
				} else {
					survived++
				}
				break
			}
			if err := s.check("total", "7", "add(total, 1)", "8"); err != nil {
				// Counted, and the next kill goes to a fresh process: this
				// panic's console is not coming back.
				t.Errorf("kill %d (%s): the console did not work after the restart: %v", done, mode, err)
				consoleLost++
				break
			}
			restartTimes = append(restartTimes, time.Since(killed))
			survived++
			st = next
		}
		stopHealth()
		h.mu.Lock()
		healthOK += h.ok
		healthFail += h.fail
		worstHealth = max(worstHealth, h.worst)
		if h.fail > 0 {
			t.Errorf("%d healthy requests failed during the kills: %v", h.fail, h.errs)
		}
		h.mu.Unlock()
		if !a.alive() {
			t.Fatal("the app died")
		}
		checkText(t, a)
		a.stop(syscall.SIGTERM)
	}
}

// waitGone waits until pid has left /proc (exited and reaped) and returns
// its state if it did not.
func waitGone(pid int, timeout time.Duration) byte {
	deadline := time.Now().Add(timeout)
	for {
		st := procfs.State(pid)
		if st == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkText compares the app's code in memory with its binary: a
// breakpoint left behind by a dead agent (an int3 byte) would kill the app
// at its next hit.
func checkText(t *testing.T, a *app) {
	t.Helper()
	if n, where := textDiff(t, a); n > 0 {
		t.Errorf("the app's code differs from its binary in %d bytes, first at %s: a breakpoint was left behind", n, where)
	}
}

func textDiff(t *testing.T, a *app) (int, string) {
	t.Helper()
	exe, _ := fixture()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".text")
	want, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", a.pid()))
	if err != nil {
		t.Skipf("cannot read the app's memory: %v", err)
	}
	defer mem.Close()
	got := make([]byte, len(want))
	if _, err := mem.ReadAt(got, int64(sec.Addr)); err != nil {
		t.Skipf("cannot read the app's code: %v", err)
	}
	if bytes.Equal(got, want) {
		return 0, ""
	}
	n, first := 0, -1
	for i := range got {
		if got[i] != want[i] {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	where := fmt.Sprintf("%#x", sec.Addr+uint64(first))
	if syms, err := f.Symbols(); err == nil {
		addr := sec.Addr + uint64(first)
		for _, s := range syms {
			if s.Value <= addr && addr < s.Value+s.Size {
				where += " in " + s.Name
			}
		}
	}
	return n, where
}

// TestKillDuringAttach SIGKILLs the agent while it attaches (the app is
// frozen then): the app must come back running, serve, and attach a new
// agent; no process may be left stopped.
func TestKillDuringAttach(t *testing.T) {
	n := scale(2, 10)
	rng := rand.New(rand.NewSource(7))
	r := relreport.Result{Area: "Faults", Test: "SIGKILL the agent during attach", Iterations: n, Outcome: "app running, healthy, new agent attached"}
	var reattach []time.Duration
	defer func() {
		sort.Slice(reattach, func(i, j int) bool { return reattach[i] < reattach[j] })
		if len(reattach) > 0 {
			r.Figures = []string{fmt.Sprintf("kill to re-attached: median %v, max %v", reattach[len(reattach)/2].Round(time.Millisecond), reattach[len(reattach)-1].Round(time.Millisecond))}
		}
		r.Survived = len(reattach)
		finish(t, &r)
	}()
	for i := 0; i < n; i++ {
		a := startApp(t)
		var agent int
		for deadline := time.Now().Add(10 * time.Second); agent == 0 && time.Now().Before(deadline); {
			for _, c := range procfs.Children(a.pid()) {
				if testapp.IsAgent(c) {
					agent = c
				}
			}
			time.Sleep(time.Millisecond)
		}
		if agent == 0 {
			t.Fatal("no agent process appeared")
		}
		time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
		st, _ := a.status()
		syscall.Kill(agent, syscall.SIGKILL)
		killed := time.Now()
		t.Logf("killed agent %d while %s", agent, st.State)
		next := a.waitStatus("a new agent", 40*time.Second, func(s status) bool {
			return s.State == "attached" && s.AgentPID != agent
		})
		reattach = append(reattach, time.Since(killed))
		if !a.alive() {
			t.Fatalf("the app is not running after a kill during attach (state %c)", procfs.State(a.pid()))
		}
		if code, _, err := a.get("/ok"); err != nil || code != 200 {
			t.Fatalf("healthy request after a kill during attach: %d %v", code, err)
		}
		s := a.newSession("n=2&label=attach")
		s.mustEval(t, "add(total, 2)", "9")
		if next.Restarts < 1 {
			t.Errorf("status after a kill during attach: %+v, want a restart counted", next)
		}
		checkText(t, a)
		a.stop(syscall.SIGTERM)
	}
}

// TestShutdown stops the whole process group with SIGINT or SIGTERM, idle
// or while a call runs: the app must exit by itself, promptly, and leave no
// process behind — no agent, no guardian, nothing stopped, no zombie of
// its own.
func TestShutdown(t *testing.T) {
	cases := []struct {
		name   string
		sig    syscall.Signal
		during string // "" idle, or an expression in flight
	}{
		{"SIGTERM idle", syscall.SIGTERM, ""},
		{"SIGINT idle", syscall.SIGINT, ""},
		{"SIGTERM during a read", syscall.SIGTERM, "order.Items[2] * total"},
		{"SIGTERM during a call", syscall.SIGTERM, "slow(3000)"},
		{"SIGINT during a call", syscall.SIGINT, "slow(3000)"},
		{"SIGTERM during a call Delve injected", syscall.SIGTERM, "slow(3000) + 0"},
	}
	r := relreport.Result{Area: "Faults", Test: "SIGINT/SIGTERM to the process group, idle and during an eval", Iterations: len(cases), Outcome: "exited by itself, nothing left running, stopped or unreaped"}
	var took []string
	var mu sync.Mutex
	defer func() {
		r.Figures = took
		finish(t, &r)
	}()
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			a := startApp(t)
			st := a.waitAttached()
			var guardians []int
			for _, p := range procfs.Children(st.AgentPID) {
				guardians = append(guardians, p)
			}
			if c.during != "" {
				s := a.newSession("n=3&label=shutdown")
				if _, err := s.con.send(map[string]any{"op": "eval", "panic": s.id, "frame": s.frame, "expr": c.during}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(30 * time.Millisecond)
			}
			d, killed := a.stop(c.sig)
			if killed {
				t.Errorf("the app did not exit within 5s of %v; it was killed", c.sig)
			}
			if code := a.Cmd.ProcessState.ExitCode(); code != 0 && !killed {
				t.Errorf("exit code %d after %v", code, c.sig)
			}
			for _, pid := range append([]int{st.AgentPID}, guardians...) {
				if s := waitGone(pid, 5*time.Second); s != 0 && s != 'Z' {
					t.Errorf("process %d of the app is still there in state %c after its exit", pid, s)
				} else if s == 'Z' {
					if pp, _ := procParent(pid); pp != 1 {
						t.Errorf("process %d is a zombie of %d", pid, pp)
					}
				}
			}
			mu.Lock()
			took = append(took, fmt.Sprintf("%s: exit in %v", c.name, d.Round(time.Millisecond)))
			mu.Unlock()
		})
		if ok {
			r.Survived++
		}
	}
}

// TestRunawayCalls makes the console call functions that never return or
// end badly: each gets a deadline or a clear answer, and the app keeps
// serving; os.Exit ends the app, which must close the console and leave no
// process behind.
func TestRunawayCalls(t *testing.T) {
	a := startApp(t)
	a.waitAttached()
	h, stopHealth := a.watchHealth(20 * time.Millisecond)
	cases := []struct {
		expr, code, contains string
	}{
		{"blockOnMutex()", "timeout", ""},
		{"loopForever()", "timeout", ""},
		{"panicky()", "call-panicked", "boom from a call"},
	}
	r := relreport.Result{Area: "Faults", Test: "Runaway calls: mutex, endless loop, panic, os.Exit", Iterations: len(cases) + 1, Outcome: "deadline or clear answer; app serving (os.Exit: console closed, processes gone)"}
	var figures []string
	defer func() {
		r.Figures = figures
		finish(t, &r)
	}()
	for i, c := range cases {
		// A call that never returns keeps its goroutine: each gets a panic
		// of its own.
		s := a.newSession(fmt.Sprintf("n=%d&label=runaway", 10+i))
		start := time.Now()
		ans, err := s.con.eval(s.id, s.frame, c.expr, 40*time.Second)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		msg := ""
		if ans.Error != nil {
			msg = ans.Error.Message
			if ans.Error.Code == "call-panicked" && ans.Value == nil {
				msg += " " + ans.Error.Hint
			}
		}
		if ans.Error == nil || ans.Error.Code != c.code {
			t.Errorf("%s answered %+v / %+v, want code %s", c.expr, ans.Value, ans.Error, c.code)
			continue
		}
		if c.contains != "" && !strings.Contains(msg+fmt.Sprint(ans.Error), c.contains) {
			t.Errorf("%s: the answer %+v does not say %q", c.expr, ans.Error, c.contains)
		}
		if !a.alive() {
			t.Fatalf("%s killed the app", c.expr)
		}
		s.mustEval(t, "total", "7")
		figures = append(figures, fmt.Sprintf("%s → %s in %v", c.expr, c.code, took.Round(100*time.Millisecond)))
		r.Survived++
	}
	stopHealth()
	if h.fail > 0 {
		t.Errorf("%d of %d healthy requests failed during the runaway calls: %v", h.fail, h.ok+h.fail, h.errs)
	}
	figures = append(figures, fmt.Sprintf("healthy requests meanwhile: %d ok, %d failed, slowest %v", h.ok, h.fail, h.worst.Round(time.Millisecond)))

	// os.Exit from the console ends the app: the console's connection
	// closes and nothing of the app stays behind.
	st, _ := a.status()
	s := a.newSession("n=20&label=exit")
	if _, err := s.con.send(map[string]any{"op": "eval", "panic": s.id, "frame": s.frame, "expr": "exitNow()"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.con.read(30 * time.Second)
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not exit after os.Exit from the console")
	}
	a.Wait()
	if err == nil {
		t.Errorf("the console stayed open after the app exited")
	}
	if code := a.Cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3 from os.Exit(3)", code)
	}
	if s := waitGone(st.AgentPID, 5*time.Second); s != 0 && s != 'Z' {
		t.Errorf("the agent %d is left in state %c after the app exited", st.AgentPID, s)
	}
	figures = append(figures, fmt.Sprintf("exitNow() → app exited with code %d, console closed (%v)", a.Cmd.ProcessState.ExitCode(), err))
	r.Survived++
}
