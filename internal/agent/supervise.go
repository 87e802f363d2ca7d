package agent

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// The agent is started at Start and again when it dies, a bounded number
// of times; the status says which.

// restartWindow is the span over which Options.MaxRestarts counts deaths.
const restartWindow = 10 * time.Minute

// startAfterMax bounds the wait for Options.StartAfter: work that should
// take milliseconds and never ends must not keep the console off.
const startAfterMax = 2 * time.Second

// supervise starts the agent and starts it again when it dies. The process
// is started from a thread that never exits: Pdeathsig fires when the
// parent *thread* dies, not the process.
func (a *Client) supervise() {
	runtime.LockOSThread()
	defer close(a.exited)
	failures := 0
	var deaths []time.Time    // within restartWindow
	warnedNoVars := false     // once per process, not at every restart
	hintedCompressed := false // likewise
	if a.opts.StartAfter != nil {
		select {
		case <-a.opts.StartAfter:
		case <-time.After(startAfterMax):
		case <-a.stop:
			return
		}
	}
	for {
		start := time.Now()
		c, ready, err := a.launch()
		if err == nil && ready.Err != "" {
			a.setStatus(func(s *debugapi.Status) {
				s.State = debugapi.StateUnavailable
				s.Reason, s.Fix = ready.Err, ready.Fix
				s.AgentPID = 0
			})
			a.opts.Logger.Warn("panicroom: the console is unavailable", slog.String("reason", ready.Err), slog.String("fix", ready.Fix))
			c.wait()
			return
		}
		if err == nil {
			failures = 0
			// The connection and the state change together: a request that
			// sees StateAttached must find the connection.
			a.setConnStatus(c, func(s *debugapi.Status) {
				s.State = debugapi.StateAttached
				s.Reason, s.Fix = "", ""
				s.Optimized = ready.Optimized
				s.NoMainVariables = ready.NoMainVariables
				if ready.Optimized {
					s.Reason = "the binary was built with optimizations: variables may be unreadable and calls are refused"
					s.Fix = debugapi.BuildAdvice
				}
				s.AttachTook = time.Since(start)
				s.AgentPID = ready.PID
			})
			took := time.Since(start).Round(time.Millisecond)
			// The message keeps its figures too: tools (make bench) read them.
			a.opts.Logger.Info(fmt.Sprintf("panicroom: debugger attached in %v (agent pid %d)", took, ready.PID),
				slog.Duration("took", took), slog.Int("agent_pid", ready.PID))
			if a.dwarf.compressed && !hintedCompressed {
				hintedCompressed = true
				a.opts.Logger.Info(CompressedDebugInfoAdvice)
			}
			if ready.NoMainVariables && !warnedNoVars {
				warnedNoVars = true
				a.opts.Logger.Warn("panicroom: "+debugapi.NoMainVariablesAdvice, slog.String("fix", debugapi.GoRunFlags))
			}
			a.resnapshot()
			c.wait()
			a.setConnStatus(nil, func(s *debugapi.Status) {
				s.State = debugapi.StateAttaching
				s.Reason = "the agent died"
				s.AgentPID = 0
			})
		}
		select {
		case <-a.stop:
			return
		default:
		}
		failures++
		// The budget is per window, not per life: a dev server that runs
		// for days may lose its agent now and then, and should not lose
		// its console for good; an agent that keeps dying is given up on.
		now := time.Now()
		deaths = append(deaths, now)
		for len(deaths) > 0 && now.Sub(deaths[0]) > restartWindow {
			deaths = deaths[1:]
		}
		why := "the agent died"
		if err != nil {
			why = err.Error()
		}
		if len(deaths) > a.opts.MaxRestarts || failures > 2 {
			a.setStatus(func(s *debugapi.Status) {
				s.State = debugapi.StateUnavailable
				s.Reason = why + fmt.Sprintf("; gave up after %d deaths within %v", len(deaths), restartWindow)
				s.Fix = "see the agent's messages above; restart the app to try again"
				s.AgentPID = 0
			})
			st := a.Status()
			a.opts.Logger.Error("panicroom: the console is unavailable: the debugger's agent keeps dying",
				slog.String("reason", why), slog.Int("deaths", len(deaths)), slog.Duration("window", restartWindow), slog.String("fix", st.Fix))
			return
		}
		a.setStatus(func(s *debugapi.Status) {
			s.State = debugapi.StateAttaching
			s.Reason = why + "; restarting it"
			s.Restarts++
			s.AgentPID = 0
		})
		a.opts.Logger.Warn("panicroom: the debugger's agent died; restarting it", slog.String("reason", why), slog.Int("restarts", a.Status().Restarts))
		select {
		case <-a.stop:
			return
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
	}
}

// setConnStatus replaces the connection and, if f is not nil, updates the
// status in the same critical section.
func (a *Client) setConnStatus(c *conn, f func(*debugapi.Status)) {
	a.mu.Lock()
	a.conn = c
	if f != nil {
		f(&a.status)
	}
	close(a.connReady)
	a.connReady = make(chan struct{})
	a.mu.Unlock()
}

// resnapshot retries the snapshots lost to a dead agent.
func (a *Client) resnapshot() {
	a.mu.Lock()
	var todo []*record
	for _, r := range a.panics {
		select {
		case <-r.snapDone:
		default:
			if !r.released {
				todo = append(todo, r)
			}
		}
	}
	a.mu.Unlock()
	for _, r := range todo {
		go a.takeSnapshot(r)
	}
}
