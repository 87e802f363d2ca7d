//go:build !panicroom_off

package panicroom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/panicroom/panicroom/internal/agent"
	"github.com/panicroom/panicroom/internal/console"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/pin"
)

// The agent and the PIN belong to the process, not to one Debugger: an app
// that wraps two handlers still has one helper process attached to it and
// one PIN in its terminal.
var (
	guardOnce sync.Once
	guard     *pin.Guard
	guardErr  error
)

// shared is the agent and what made it. The first New starts the agent;
// the last Close of the Debuggers made since stops it (the helper detaches
// and exits), and a New after that starts a new one. The PIN stays the
// process's for its whole life.
var shared struct {
	mu    sync.Mutex
	open  []*Debugger // made and not closed, oldest first
	agent *agent.Client
	// console is the option of the New that started agent.
	console bool
	// made counts the Debuggers ever made, for their top-level console goroutine's name.
	made int
}

// useAgent gives d the process's agent, starting it if no open Debugger
// has one, and returns d's number among the Debuggers made.
func (d *Debugger) useAgent() (seq int) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.open = append(shared.open, d)
	setAgentLoggers(shared.open)
	if shared.agent == nil {
		shared.console = d.cfg.console
		shared.agent = agent.Start(agent.Options{
			Disabled:   !d.cfg.console,
			Logger:     slog.New(&agentLog{}),
			StartAfter: warmed,
		})
	}
	shared.made++
	d.eval = shared.agent
	return shared.made
}

// publish makes d, now complete, the one the package-level Go, Recover and
// Break use if no older Debugger is open.
func (d *Debugger) publish() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	d.published = true
	process.CompareAndSwap(nil, d)
}

// dropAgent is d's Close of the process-wide state: the package-level Go,
// Recover and Break move on to the oldest Debugger still open, and the last
// one stops the agent. The lock is held until the helper has detached, so
// that a New meanwhile waits rather than start a second helper on a
// process the first still traces.
func (d *Debugger) dropAgent() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.open = slices.DeleteFunc(shared.open, func(o *Debugger) bool { return o == d })
	if len(shared.open) > 0 {
		// The last one's logger hears the helper stop.
		setAgentLoggers(shared.open)
	}
	var next *Debugger
	if i := slices.IndexFunc(shared.open, func(o *Debugger) bool { return o.published }); i >= 0 {
		next = shared.open[i]
	}
	process.CompareAndSwap(d, next)
	if len(shared.open) > 0 || shared.agent == nil {
		return
	}
	shared.agent.Close()
	shared.agent = nil
}

// announcePIN prints the shared guard's PIN line once per process.
var announcePIN sync.Once

func sharedGuard(c pin.Config) (*pin.Guard, error) {
	guardOnce.Do(func() {
		guard, guardErr = pin.New(c)
		guardConfig = c
	})
	return guard, guardErr
}

// guardConfig is what the first Debugger made the shared guard with.
var guardConfig pin.Config

// processWideDiffer names the options of d that cannot apply because the
// agent and the guard were made by an earlier Debugger with others: its
// console follows the first one's rule, whatever d's pages do.
func (d *Debugger) processWideDiffer() []string {
	var out []string
	if !slices.Equal(d.access.TrustedHosts, guardConfig.TrustedHosts) {
		out = append(out, "WithTrustedHosts")
	}
	if !slices.Equal(d.access.Allow, guardConfig.Allow) {
		out = append(out, "WithAllow")
	}
	if d.access.AllowRemote != guardConfig.AllowRemote {
		out = append(out, "WithAllowRemote")
	}
	shared.mu.Lock()
	console := shared.console
	shared.mu.Unlock()
	if d.cfg.console != console {
		out = append(out, "WithConsole")
	}
	return out
}

// startDebugger attaches the console's machinery to d: the agent (started
// in the background; the app never waits for it), the PIN, and the routes
// that need both.
func (d *Debugger) startDebugger() {
	d.topLevelID = topLevelName(d.useAgent())
	d.guard, d.guardErr = sharedGuard(d.access)
	if d.guardErr != nil {
		d.cfg.logger.Error("panicroom: the console is off: " + d.guardErr.Error())
	}
	if differ := d.processWideDiffer(); len(differ) > 0 {
		d.cfg.logger.Warn("panicroom: the console, its PIN and the debugger are the process's, set up by the first panicroom.New; this Debugger's "+
			strings.Join(differ, ", ")+" apply to its pages only. Pass the same options to every New (or make one Debugger and Wrap every handler with it)",
			slog.Any("options", differ))
	}
	st := d.eval.Status()
	if st.State == debugapi.StateUnavailable {
		// Known before the agent starts (the platform, a stripped binary):
		// one line saying why and what to do, and no PIN that opens nothing.
		d.cfg.logger.Warn("panicroom: the console is unavailable: " + st.Reason + withFix(st.Fix))
	} else if st.State != debugapi.StateOff && d.guard != nil {
		// The guard is the process's: its PIN line is printed once, however
		// many Debuggers an app makes.
		announcePIN.Do(d.guard.Announce)
		if traceback.BuildInfo().Optimized {
			d.cfg.logger.Warn("panicroom: this binary is optimized, so the console will find variables missing and refuse calls; " + debugapi.BuildAdvice + ". If this is a release build, compile panicroom out with -tags panicroom_off")
		}
	}
	d.registry.onRelease = func(rec *record) { d.eval.Forget(rec.panic.ID) }
	d.parkOff = func() string {
		// Parked frames are worth a thread only to a debugger that can read
		// them.
		switch st := d.eval.Status(); st.State {
		case debugapi.StateOff, debugapi.StateUnavailable:
			return consoleOff
		}
		if d.guard == nil {
			return consoleOff
		}
		return ""
	}
	d.consoles = &console.Server{
		Evaluator: d.eval,
		Methods:   methodsOf,
		Authorize: d.authorizeConsole,
		Logger:    d.cfg.logger,
		Touch: func(id string) {
			if rec := d.registry.get(id); rec != nil {
				d.registry.touch(rec)
			}
		},
	}
}

// authorizeConsole is the gate of every request that reveals or changes
// program state.
func (d *Debugger) authorizeConsole(r *http.Request) (int, string) {
	if d.guard == nil {
		return http.StatusServiceUnavailable, "the console is off: " + d.guardErr.Error()
	}
	dec := d.cfg.authorize(d.guard, r)
	if dec.Allowed() {
		return http.StatusOK, ""
	}
	return dec.Status, dec.Reason
}

// register tells the debugger about a goroutine that was just parked.
func (d *Debugger) register(rec *record) {
	frames := make([]debugapi.Frame, len(rec.panic.Frames))
	for i, f := range rec.panic.Frames {
		frames[i] = debugapi.Frame{Function: f.Function, File: f.File, Line: f.Line, PC: f.PC, App: f.Kind == traceback.App}
	}
	var retain func(bool) bool
	if !rec.liveFrames {
		retain = func(peek bool) bool { return d.registry.retain(rec, peek) }
	}
	rec.mu.Lock()
	pk := rec.pk
	rec.mu.Unlock()
	d.eval.Register(debugapi.Panic{ID: rec.panic.ID, GoroutineID: rec.panic.Goroutine, Frames: frames, Parked: pk, Retain: retain})
}

// loseFrames releases rec's goroutine because its frames can no longer be
// trusted (park.Parked's onLost), and says why in the log; the page says
// it too. It runs on the debugger's goroutine that delivers the snapshot,
// which Forget must not wait for.
func (d *Debugger) loseFrames(rec *record, why string) {
	d.cfg.logger.Warn("panicroom: a parked goroutine was released: its frames cannot be trusted",
		slog.String("page", Prefix+"panic/"+rec.panic.ID), slog.String("reason", why))
	go d.registry.release(rec)
}

// serveSession tells the page whether its consoles may open, before it
// tries a websocket whose refusal it could not read.
func (d *Debugger) serveSession(w http.ResponseWriter, r *http.Request) {
	status, reason := d.authorizeConsole(r)
	if status != http.StatusOK {
		// A refused request learns why and nothing about the process. Only
		// a 401, whose sender has passed every check but the PIN (it holds
		// the page), is told whether the PIN can still be entered.
		body := map[string]any{"ok": false, "reason": reason}
		if status == http.StatusUnauthorized && d.guard != nil {
			body["locked"] = d.guard.Locked()
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSONStatus(w, status, body)
		return
	}
	body := map[string]any{"ok": true, "reason": reason, "status": d.eval.Status()}
	if d.guard != nil {
		body["locked"] = d.guard.Locked()
		body["pinOff"] = d.guard.Off()
	}
	writeJSON(w, body)
}

// servePIN checks a PIN and, when it is right, gives the browser the cookie
// that opens consoles.
func (d *Debugger) servePIN(w http.ResponseWriter, r *http.Request) {
	status, reason := d.authorizeConsole(r)
	if status != http.StatusOK && status != http.StatusUnauthorized {
		plainError(w, status, reason)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	err := d.guard.Verify(r.Context(), r.PostFormValue("pin"))
	switch {
	case errors.Is(err, pin.ErrLocked):
		d.cfg.logger.Warn("panicroom: the PIN is locked after too many wrong attempts; restart the server to unlock it")
		plainError(w, http.StatusForbidden, "The PIN is locked after 10 wrong attempts. Restart the server to try again.")
	case errors.Is(err, context.Canceled):
		plainError(w, http.StatusRequestTimeout, "the request was cancelled")
	case err != nil:
		plainError(w, http.StatusUnauthorized, "Wrong PIN. Look for the line \"panicroom: debugger PIN\" in the terminal running the server.")
	default:
		d.guard.SetCookie(w, r)
		writeJSON(w, map[string]any{"ok": true})
	}
}

// servePrintPIN prints the PIN to the server's terminal, where the person
// at the browser can read it and a remote page cannot.
func (d *Debugger) servePrintPIN(w http.ResponseWriter, r *http.Request) {
	status, reason := d.authorizeConsole(r)
	if status != http.StatusOK && status != http.StatusUnauthorized {
		plainError(w, status, reason)
		return
	}
	writeJSON(w, map[string]any{"printed": d.guard.Print()})
}

func (d *Debugger) serveConsoleWS(w http.ResponseWriter, r *http.Request) {
	d.consoles.ServeHTTP(w, r)
}

// consoleBanners say what state the console is in, at the top of a page.
func (d *Debugger) consoleBanners(rec *record) []traceback.Banner {
	st := d.eval.Status()
	var out []traceback.Banner
	switch st.State {
	case debugapi.StateUnavailable:
		out = append(out, traceback.Banner{Level: "warn", Text: "The console is unavailable: " + st.Reason + withFix(st.Fix)})
	case debugapi.StateOff:
		// The reasons read "the console is off inside go test binaries" and
		// the like: a sentence of their own.
		out = append(out, traceback.Banner{Level: "info", Text: capitalize(st.Reason) + withFix(st.Fix)})
	}
	if st.Optimized {
		out = append(out, traceback.Banner{Level: "warn", Text: "This binary was built with optimizations: variables may be unreadable and calls are refused. " + capitalize(debugapi.BuildAdvice) + "."})
	}
	if st.NoMainVariables {
		out = append(out, traceback.Banner{Level: "warn", Text: capitalize(debugapi.NoMainVariablesAdvice) + "."})
	}
	if d.guard == nil {
		out = append(out, traceback.Banner{Level: "warn", Text: "The console is off: " + d.guardErr.Error()})
	} else if d.guard.Locked() {
		out = append(out, traceback.Banner{Level: "error", Text: "The PIN is locked after 10 wrong attempts: restart the server to use the console."})
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func withFix(fix string) string {
	if fix == "" {
		return "."
	}
	return ". " + capitalize(strings.TrimSuffix(fix, ".")) + "."
}

// consoleOff is the park refusal when there is no console to use the
// frames; the console's own banner says why, so the page does not repeat it.
const consoleOff = "the console is off"

// pageMeta is what the page's script needs to open consoles.
func (d *Debugger) pageMeta(rec *record) map[string]string {
	st := d.eval.Status()
	m := map[string]string{
		"prefix":  Prefix,
		"console": st.State.String(),
		"reason":  st.Reason + withFix(st.Fix),
	}
	if d.guard != nil {
		m["secret"] = d.guard.Secret()
	}
	if rec != nil {
		m["parked"] = fmt.Sprint(rec.parked())
		if rec.breakpoint {
			m["breakpoint"] = "true"
		}
	}
	addRunMeta(m, rec)
	return m
}
