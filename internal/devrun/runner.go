package devrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/internal/runenv"
	"github.com/panicroom/panicroom/internal/traceback"
)

// Config is one "panicroom run".
type Config struct {
	Dir        string   // where go build and go list run; "" is the working directory
	Pkg        string   // the main package: ./cmd/app
	Args       []string // the app's arguments
	BuildFlags []string // extra go build flags (-tags, -race)
	Watch      []string // extra globs to watch, for files the app reads at run time
	// Addr is the app's listening address, for a platform where the
	// runner cannot see it (every one but Linux) or an app that crashes
	// before it ever listens. Empty: learned from the app, and remembered
	// between runs.
	Addr   string
	Reload bool
	Editor traceback.Editor
	Grace  time.Duration // how long a stopped app may take to exit before SIGKILL
	Poll   time.Duration // the watcher's interval

	Stdout, Stderr io.Writer
	Env            []string // the app's environment; nil is the runner's
}

// Run builds and runs the app until a signal ends it (or, without Reload,
// until the app exits), and returns the exit status the runner should
// exit with: the app's own.
func Run(ctx context.Context, cfg Config) (int, error) {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	if cfg.Editor == "" {
		cfg.Editor = "vscode"
	}
	log := slog.New(&lineHandler{w: cfg.Stderr})
	b, err := NewBuilder(cfg.Dir, cfg.Pkg, cfg.BuildFlags)
	if err != nil {
		return 1, err
	}
	r := &runner{cfg: cfg, log: log, b: b}
	if cfg.Addr != "" {
		a, err := parseAddr(cfg.Addr)
		if err != nil {
			return 2, err
		}
		r.addrs, r.fixed = []netip.AddrPort{a}, true
	} else {
		r.addrs = loadAddrs(b.StateDir())
	}
	paths, err := traceback.ParseEditorPaths(os.Getenv(traceback.EditorPathsEnvVar))
	if err != nil {
		log.Warn("ignoring " + traceback.EditorPathsEnvVar + ": " + err.Error())
	}
	pages, err := NewPages(cfg.Editor, paths)
	if err != nil {
		return 2, err
	}
	r.front = NewFront(log, pages)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	r.sigs = sigs
	r.w = &Watcher{Dir: cfg.Dir, Pkg: cfg.Pkg, Extra: cfg.BuildFlags, Globs: cfg.Watch, Interval: cfg.Poll}
	defer r.front.Release()
	return r.loop(ctx)
}

// parseAddr reads -addr: "host:port" or ":port", as the app's Listen.
func parseAddr(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-addr %q: %w (want host:port, like localhost:8080 or :8080)", s, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "::"
	case "localhost":
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-addr %q: %w (want an IP address or localhost, and a port)", s, err)
	}
	return ap, nil
}

// The address is remembered so that a build that fails at the start of
// the next session still reaches the browser at the app's address.
func loadAddrs(dir string) []netip.AddrPort {
	b, err := os.ReadFile(filepath.Join(dir, "addr"))
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	for _, f := range strings.Fields(string(b)) {
		if a, err := netip.ParseAddrPort(f); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func saveAddrs(dir string, addrs []netip.AddrPort) {
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString(a.String() + "\n")
	}
	os.WriteFile(filepath.Join(dir, "addr"), []byte(b.String()), 0o644)
}

type runner struct {
	cfg   Config
	log   *slog.Logger
	b     *Builder
	w     *Watcher
	front *Front
	sigs  chan os.Signal
	addrs []netip.AddrPort
	fixed bool // addrs came from -addr
	run   int
	last  int // the exit status to end with if a signal comes while the app is down
}

// errSignal ends the loop: a signal came while no app was running.
type errSignal struct{ sig os.Signal }

func (e errSignal) Error() string { return "signal " + e.sig.String() }

func (r *runner) url() string {
	if len(r.addrs) == 0 {
		return ""
	}
	a := r.addrs[0]
	host := a.Addr()
	if host.IsUnspecified() {
		return fmt.Sprintf("http://localhost:%d/", a.Port())
	}
	return "http://" + a.String() + "/"
}

// takeOver binds the app's address while it is down; a failure to do so
// costs the browser page only, and says how to get it back.
func (r *runner) takeOver(failed bool) {
	if len(r.addrs) == 0 {
		if failed {
			r.log.Warn("panicroom run does not know the app's address (it has not listened since the runner started, here or in an earlier run), so the failure above is in the terminal only: pass -addr host:port to show it in the browser too")
		}
		return
	}
	if err := r.front.Bind(r.addrs); err != nil {
		r.log.Warn(err.Error() + ": another process holds it; the browser will not see the runner's pages until it is free")
	}
}

func (r *runner) loop(ctx context.Context) (int, error) {
	for {
		code, err := r.cycle(ctx)
		var es errSignal
		switch {
		case errors.As(err, &es):
			return r.last, nil
		case err != nil:
			return code, err
		case !r.cfg.Reload:
			return code, nil
		}
	}
}

// cycle builds, runs and waits for the next change. It returns when the
// cycle is over: a change (nil error, loop again), a signal, or the end
// of the app without Reload.
func (r *runner) cycle(ctx context.Context) (int, error) {
	r.run++
	r.front.Set(Building, r.run, nil, nil)
	if r.cfg.Reload {
		r.takeOver(false)
	}
	if err := r.w.Refresh(ctx); err != nil {
		r.log.Warn("watching the files: " + err.Error())
	}
	wctx, wcancel := context.WithCancel(ctx)
	changed := make(chan string, 1)
	waitDone := make(chan struct{})
	if r.cfg.Reload && r.w.set != nil {
		go func() {
			defer close(waitDone)
			if what, err := r.w.Wait(wctx); err == nil {
				changed <- what
			}
		}()
	} else {
		close(waitDone)
	}
	defer func() { wcancel(); <-waitDone }()

	sources := traceback.NewSources()
	bctx, bcancel := context.WithCancel(ctx)
	type result struct {
		took time.Duration
		err  error
	}
	built := make(chan result, 1)
	go func() {
		took, err := r.b.Build(bctx)
		built <- result{took, err}
	}()
	var res result
	select {
	case res = <-built:
	case sig := <-r.sigs:
		bcancel()
		<-built
		return r.last, errSignal{sig}
	}
	bcancel()
	var bf *BuildFailure
	if errors.As(res.err, &bf) {
		r.last = 1
		io.WriteString(r.cfg.Stderr, bf.Output)
		if !r.cfg.Reload {
			return 1, nil
		}
		r.takeOver(true)
		r.front.Set(Failed, r.run, NewBuildFailure(r.pkg(), bf, sources), nil)
		r.log.Error(r.downLine("the build failed", len(bf.Errors)))
		return r.waitDown(changed)
	}
	if res.err != nil {
		return 1, res.err
	}
	r.log.Info(fmt.Sprintf("built %s in %.1fs", r.pkg(), res.took.Seconds()))

	r.front.Release()
	env := append(r.cfg.Env[:len(r.cfg.Env):len(r.cfg.Env)], runenv.Var+"="+r.front.RunID(r.run))
	child, err := StartChild(r.b.Out, r.cfg.Args, env, r.cfg.Stdout, r.cfg.Stderr)
	if err != nil {
		return 1, fmt.Errorf("starting %s: %w", r.b.Out, err)
	}
	r.front.Set(Starting, r.run, nil, nil)
	listening := make(chan []netip.AddrPort, 1)
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	go r.detect(lctx, child, listening)

	for {
		select {
		case addrs := <-listening:
			if !r.fixed {
				r.addrs = addrs
				saveAddrs(r.b.StateDir(), addrs)
			}
			r.front.Set(Up, r.run, nil, r.addrs)
			r.log.Info(fmt.Sprintf("the app listens on %s (pid %d)", joinAddrs(addrs), child.Pid()))
		case what := <-changed:
			r.log.Info(fmt.Sprintf("%s changed: rebuilding", r.rel(what)))
			child.Stop(r.cfg.Grace)
			return 0, nil
		case <-child.Done():
			r.last = exitStatus(child.cmd.ProcessState)
			if !r.cfg.Reload {
				return r.last, nil
			}
			lcancel()
			r.takeOver(true)
			module := ""
			if r.w.set != nil {
				module = r.w.set.Module
			}
			f := NewExitFailure(r.pkg(), child.ExitDescription(), child.Stderr(), module, sources)
			r.front.Set(Failed, r.run, f, nil)
			r.log.Error(r.downLine(f.Title, 0))
			return r.waitDown(changed)
		case sig := <-r.sigs:
			if !alreadyDelivered(sig) {
				child.Signal(sig)
			}
			select {
			case <-child.Done():
			case <-time.After(r.cfg.Grace):
				r.log.Warn(fmt.Sprintf("the app did not exit within %s of %s: killing it", r.cfg.Grace, sig))
				child.cmd.Process.Kill()
				<-child.Done()
			}
			r.last = exitStatus(child.cmd.ProcessState)
			return r.last, errSignal{sig}
		}
	}
}

// pkg names the main package as its import path, which go list told the
// watcher; as given on the command line when it could not.
func (r *runner) pkg() string {
	if r.w.set != nil && r.w.set.Package != "" {
		return r.w.set.Package
	}
	return r.cfg.Pkg
}

func (r *runner) downLine(what string, n int) string {
	s := what
	if n > 1 {
		s += fmt.Sprintf(" (%d errors)", n)
	}
	if u := r.url(); u != "" && r.front.Bound() {
		s += "; the page is at " + u + " until the next save"
	} else {
		s += "; waiting for the next save"
	}
	return s
}

// waitDown waits, with the app down, for a change or a signal.
func (r *runner) waitDown(changed <-chan string) (int, error) {
	select {
	case what := <-changed:
		r.log.Info(fmt.Sprintf("%s changed: rebuilding", r.rel(what)))
		return 0, nil
	case sig := <-r.sigs:
		return r.last, errSignal{sig}
	}
}

func (r *runner) rel(p string) string {
	if abs, err := filepath.Abs(r.cfg.Dir); err == nil {
		if rel, err := filepath.Rel(abs, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// detect reports, once, where the app listens: its sockets in /proc on
// Linux, else the -addr the runner was given, answered by a dial. It keeps
// looking for a moment after the first listener, for an app that opens
// several.
func (r *runner) detect(ctx context.Context, c *Child, out chan<- []netip.AddrPort) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		case <-tick.C:
		}
		if procfs.CanFindListeners {
			addrs, err := procfs.ListeningAddrs(c.Pid())
			if err == nil && len(addrs) > 0 {
				out <- addrs
				return
			}
			continue
		}
		if len(r.addrs) == 0 {
			if !warned {
				warned = true
				r.log.Warn("panicroom run cannot see where the app listens on this system: pass -addr host:port to hold requests during rebuilds and show errors in the browser")
			}
			continue
		}
		a := r.addrs[0]
		host := a.Addr()
		if host.IsUnspecified() {
			host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		if conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(host, a.Port()).String(), 200*time.Millisecond); err == nil {
			conn.Close()
			out <- r.addrs
			return
		}
	}
}

func joinAddrs(addrs []netip.AddrPort) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// lineHandler writes the runner's log as "panicroom run: message" lines,
// between the app's own output.
type lineHandler struct{ w io.Writer }

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	_, err := fmt.Fprintf(h.w, "panicroom run: %s\n", r.Message)
	return err
}
func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineHandler) WithGroup(string) slog.Handler      { return h }
