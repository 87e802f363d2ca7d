//go:build !panicroom_off

package panicroom

import (
	"log/slog"
	"strings"
	"testing"
)

// TestLaterDebuggerSaysWhatCannotApply: the console's guard and agent are
// made once per process, by the first New. A later New whose trusted hosts
// differ must say, in its own log, that they apply to its pages only,
// rather than leave its console following another rule in silence.
func TestLaterDebuggerSaysWhatCannotApply(t *testing.T) {
	newTestDebugger(t) // makes sure some Debugger came first
	_, logs := newTestDebugger(t, WithTrustedHosts("later-only.test"), WithAllow("192.0.2.7"))
	out := logs.String()
	for _, want := range []string{"level=WARN", "WithTrustedHosts", "WithAllow", "pages only", "Pass the same options to every New"} {
		if !strings.Contains(out, want) {
			t.Errorf("the later Debugger's log lacks %q:\n%s", want, out)
		}
	}
	_, same := newTestDebugger(t, WithTrustedHosts(guardConfig.TrustedHosts...))
	if strings.Contains(same.String(), "pages only") && strings.Contains(same.String(), "WithTrustedHosts") {
		t.Errorf("a Debugger with the first one's trusted hosts was warned about them:\n%s", same.String())
	}
}

// isolateShared gives a test the process-wide state to itself: the
// Debuggers other tests left open would otherwise keep the agent.
func isolateShared(t *testing.T) {
	shared.mu.Lock()
	saved, savedAgent, savedProcess, savedLoggers := shared.open, shared.agent, process.Load(), agentLoggers.Load()
	shared.open, shared.agent = nil, nil
	process.Store(nil)
	shared.mu.Unlock()
	t.Cleanup(func() {
		shared.mu.Lock()
		shared.open, shared.agent = saved, savedAgent
		process.Store(savedProcess)
		agentLoggers.Store(savedLoggers)
		shared.mu.Unlock()
	})
}

// TestCloseIsCounted: Go, Recover and Break follow the oldest Debugger
// still open; the last Close stops the agent and a later New starts a new
// one; each Debugger's top-level console stands on a goroutine of its own
// name, so that closing one does not take the other's away.
func TestCloseIsCounted(t *testing.T) {
	isolateShared(t)
	first, _ := newTestDebugger(t)
	second, _ := newTestDebugger(t)
	if process.Load() != first {
		t.Fatal("the package-level functions do not use the first Debugger")
	}
	if first.eval != second.eval {
		t.Fatal("two Debuggers of one process have two agents")
	}
	if first.topLevelID == second.topLevelID {
		t.Fatalf("both Debuggers' consoles stand on %q", first.topLevelID)
	}
	agent := shared.agent
	first.Close()
	first.Close() // a second Close of the same Debugger counts for nothing
	if process.Load() != second {
		t.Fatalf("after the first Close the package-level functions use %p, want the second Debugger %p", process.Load(), second)
	}
	if shared.agent != agent {
		t.Fatal("the agent was stopped while a Debugger still uses it")
	}
	second.Close()
	if process.Load() != nil || shared.agent != nil {
		t.Fatalf("after the last Close: process %p, agent %p; want none", process.Load(), shared.agent)
	}
	third, _ := newTestDebugger(t)
	if third.eval == agent || shared.agent == nil || process.Load() != third {
		t.Fatal("a New after the last Close did not start its own agent")
	}
}

// TestAgentEventsReachEveryLogger: the helper is every Debugger's, so its
// events go to each open Debugger's logger, once per logger, with the
// attributes and groups the agent adds; a closed Debugger's logger hears
// no more of it.
func TestAgentEventsReachEveryLogger(t *testing.T) {
	isolateShared(t)
	var a, b logBuffer
	la, lb := slog.New(slog.NewTextHandler(&a, nil)), slog.New(slog.NewTextHandler(&b, nil))
	d1 := New(WithLogger(la))
	d2 := New(WithLogger(lb))
	d3 := New(WithLogger(la))
	t.Cleanup(func() { d1.Close(); d3.Close() })
	agentLogger := slog.New(&agentLog{})
	agentLogger.With("agent_pid", 42).WithGroup("call").Info("panicroom: debugger attached", "took", "0.4s")
	for name, buf := range map[string]*logBuffer{"first": &a, "second": &b} {
		if out := buf.String(); strings.Count(out, "debugger attached") != 1 || !strings.Contains(out, "agent_pid=42 call.took=0.4s") {
			t.Errorf("the %s logger got:\n%s", name, out)
		}
	}
	d2.Close()
	agentLogger.Info("panicroom: the debugger's agent died; restarting it")
	if strings.Contains(b.String(), "died") || !strings.Contains(a.String(), "died") {
		t.Errorf("after the second Debugger closed: its logger %q, the first's %q", b.String(), a.String())
	}
}
