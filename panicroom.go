//go:build !panicroom_off

// Package panicroom is an interactive debugger for Go web apps in
// development: wrap an [http.Handler], and when a handler panics the browser
// shows the traceback — the panic value and its error chain, every frame with
// highlighted source, the request, the build — instead of an empty 500.
//
//	mux := http.NewServeMux()
//	// ... your routes ...
//	http.ListenAndServe("localhost:8080", panicroom.Wrap(mux))
//
// Build and run the app with optimizations off and its debug information
// kept (go run drops the main package's and strips the rest unless told
// not to), as a debugger needs:
//
//	go run -gcflags=all="-N -l -dwarf=true" -ldflags="-s=false -w=false" ./cmd/myapp
//
// or let the runner in cmd/panicroom build it so, and rebuild it on every
// save:
//
//	go tool panicroom run ./cmd/myapp
//
// # What it serves
//
// Everything under [Prefix] (/__panicroom__/) belongs to panicroom; every
// other path goes to the wrapped handler. A panic is answered with status 500
// and a page in the format the client asked for: HTML for browsers, plain
// text (like Go's own panic output, with source lines) for curl and clients
// that send Accept: text/plain, JSON for Accept: application/json. Every
// format names the page's own address, in the [PageHeader] header and in
// the body, so an API client's panic is one click away in a browser. The
// page shows every goroutine as it was at the panic, grouped by identical
// stacks.
//
//	/__panicroom__/             recent panics, newest first, updated live
//	/__panicroom__/events       the list's changes, as server-sent events
//	/__panicroom__/panic/{id}   one panic's page (?format=text, json or markdown)
//	/__panicroom__/static/...   the page's stylesheets and script, served
//	                            without comments; ?v= names the build's
//	                            assets, which browsers then keep as immutable
//	/__panicroom__/run/events   only under "panicroom run": server-sent events
//	                            that name the run, so open pages follow rebuilds
//
// and the console's, each behind the checks of the Security section:
//
//	/__panicroom__/console               a console on the program itself
//	                                     (package-level variables, calls)
//	/__panicroom__/session               whether this browser may use the console
//	/__panicroom__/pin                   POST: the PIN, for a session cookie
//	/__panicroom__/pin/print             POST: print the PIN again in the terminal
//	/__panicroom__/console/ws            the websocket the consoles speak over
//	/__panicroom__/panic/{id}/continue   POST: let a Break go on
//
// Each panic is also logged once, through the configured [log/slog] logger,
// with its page's URL.
//
// # Recovery
//
// The middleware behaves as a careful recoverer must: [http.ErrAbortHandler]
// is re-panicked untouched; a panic after the response has started breaks the
// response (closes the HTTP/1 connection, or resets the HTTP/2 stream) rather
// than leaving a truncated response that looks complete; a hijacked
// connection is not written to; [runtime.Goexit] is not a panic; panic(nil)
// and values whose Error or String method panics are reported as such; and a
// failure inside panicroom falls back to a plain-text 500. panicroom never
// takes the server down.
//
// # Parked goroutines
//
// The handler runs on a goroutine of its own while the request's goroutine
// waits for it. After the page is sent, the panicking goroutine does not
// return: it waits inside the deferred recover, so that every frame of the
// panic stays alive for the debugger. The request itself ends as any
// other: its goroutine returns through the middleware outside panicroom,
// so access logs, traces and metrics see the 500 (HTTP/1 and HTTP/2 alike).
// At most [WithMaxParked] goroutines wait (16 by default; the oldest is
// released first), each for at most [WithIdleTimeout] without use, and all
// are released by [Debugger.Close]. A released panic keeps its page.
// Goroutines are parked only
// while the console can use them, and not during a burst: past WithMaxParked
// parks within ten seconds, further panics are answered without parking,
// because every park costs the app a stop for the debugger's snapshot.
//
// # Goroutines and breakpoints
//
// [Go] starts a goroutine, and a deferred [Recover] covers one the app
// starts itself: a panic there gets a page with no request section, a log
// line and the console, and the program goes on. [Break] stops a handler
// (or any goroutine) at a line, with a console on every frame, until
// Continue; its client waits meanwhile. They use the oldest Debugger of the
// process that is not closed; the same methods exist on [Debugger].
//
// The debugger's helper process and the PIN are the process's, shared by
// every Debugger: the first New's console and access options shape them
// (a later New with others says so in its log), the helper's events go to
// every open Debugger's logger, and the last Close stops the helper.
//
// A panic's frames are dead to the runtime: what only they reference is no
// longer a GC root. So the collector is held off from the panic until the
// debugger has listed the heap objects those frames point to (a few
// milliseconds; never more than 12 seconds), and the parked panic's record
// keeps those objects alive until it is released. The goroutine waits in a
// blocking read(2), where the runtime never moves its stack.
//
// # Security
//
// panicroom is for development. Its pages show source code and request
// details (with the values of Authorization, Cookie and any header, query or
// form field whose name looks secret masked), so they are served only to
// requests whose Host is a loopback name or one added with
// [WithTrustedHosts] (a page on another site cannot read them through DNS
// rebinding), and that come from an allowed address: a loopback one, a
// container's default gateway, or one named by PANICROOM_ALLOW or
// [WithAllow]. The console also needs the page's secret, the same Origin
// and the PIN (see package pin). Every page is sent with a Content-Security-Policy that allows no
// inline script and no other origin, and every byte of panic value, header
// and source is escaped.
//
// Build release binaries with -tags panicroom_off: the API keeps its
// signatures and does nothing, and none of the debugger, the pages or the
// console is linked in.
package panicroom

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"

	"github.com/panicroom/panicroom/internal/console"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/pin"
)

// ownFrames are the middleware's own functions, left out of tracebacks. They
// are named one by one rather than by package, so that a handler declared in
// this package (as in its tests) still shows.
var ownFrames = []string{
	"github.com/panicroom/panicroom.(*Debugger).",
	"github.com/panicroom/panicroom.growStack",
	"github.com/panicroom/panicroom.Recover",
	"github.com/panicroom/panicroom.Break",
}

// A Debugger recovers panics of the handlers it wraps and serves their
// pages. One Debugger may wrap several handlers; they share its history of
// panics.
type Debugger struct {
	cfg        config
	access     pin.Config // who may see the pages (pageRefusal)
	registry   *registry
	sources    *traceback.Sources
	classifier traceback.Classifier
	renderer   *traceback.Renderer
	static     *static
	mux        *http.ServeMux
	closed     atomic.Bool
	// waiting counts the goroutines in their Spots (recoverPanic).
	waiting atomic.Int32
	// renders bounds the pages rendered at once (writePage).
	renders chan struct{}
	// events streams the index's changes (serveEvents).
	events events
	// recovererNoted is set once the log has said that a recoverer hides
	// panics from panicroom (noteRecoverer).
	recovererNoted atomic.Bool
	// exposureChecked is set once the first request has looked at where
	// the app listens (checkExposure).
	exposureChecked atomic.Bool
	// firstBase is the scheme and host of the first request, for the page
	// URLs of panics with no request (Go, Recover).
	firstBase atomic.Pointer[string]

	eval     debugapi.Evaluator
	guard    *pin.Guard
	guardErr error
	consoles *console.Server
	topLevel topLevel
	// topLevelID names the top-level console's goroutine for the process's
	// agent: "console" for the first Debugger, one of its own for each
	// later one.
	topLevelID string
	// published is set, under shared.mu, once New has made d complete.
	published bool

	// parkOff, when set, says why goroutines must not be parked now ("" to
	// allow): parked frames are only worth their cost to a debugger that
	// can read them.
	parkOff func() string
}

// New returns a Debugger. It panics if an option is invalid (an editor link
// template with a script scheme, a trusted host that is not a host name,
// *.domain wildcard or IP address, an allowed address that is not an IP
// address or CIDR prefix, an editor path that is not from=to): that is a
// mistake in set-up code, and should stop the program before it serves
// anything. Invalid entries of the environment variables PANICROOM_ALLOW
// and PANICROOM_EDITOR_PATHS are logged, once, and left out.
func New(opts ...Option) *Debugger {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	for _, h := range cfg.trustedHosts {
		// Ignored by the pages and fatal to the console's guard, a bad
		// pattern would otherwise turn the console off in silence.
		if err := pin.CheckTrustedHost(h); err != nil {
			panic("panicroom: WithTrustedHosts: " + err.Error())
		}
	}
	env := processEnv()
	access := accessConfig(cfg, env)
	renderer, err := traceback.NewRenderer(Prefix, cfg.editor)
	if err != nil {
		panic("panicroom: " + err.Error())
	}
	renderer.SetEditorPaths(editorPaths(cfg, env))
	announce(cfg.logger, env)
	st, err := newStatic(cfg.lightStyle, cfg.darkStyle)
	if err != nil {
		panic("panicroom: loading embedded assets: " + err.Error())
	}
	renderer.SetAssetVersion(st.version)
	d := &Debugger{
		cfg:        cfg,
		access:     access,
		registry:   newRegistry(cfg.maxParked, cfg.history, cfg.idle),
		sources:    traceback.NewSources(),
		classifier: traceback.DefaultClassifier(),
		renderer:   renderer,
		static:     st,
		renders:    make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	d.sources.SetStyles(cfg.lightStyle, cfg.darkStyle)
	go d.warmUp()
	d.startDebugger()
	d.registry.onPark = d.register
	d.registry.onChange = d.events.changed
	d.mux = d.routes()
	d.publish()
	return d
}

// Wrap returns next with panic recovery, and panicroom's pages under Prefix.
func (d *Debugger) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Owns(r.URL.Path) {
			d.ServeOwn(w, r)
			return
		}
		d.serve(next, w, r)
	})
}

// Close releases every parked goroutine and parks no more. Pages stay
// viewable. Register it to run on shutdown:
//
//	srv.RegisterOnShutdown(func() { d.Close() })
//
// The last Close of the Debuggers the process made stops the debugger's
// helper process too; a later New starts a new one. Close after the first
// does nothing.
func (d *Debugger) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	d.registry.close()
	d.events.close()
	d.releaseTopLevel()
	d.dropAgent()
	return nil
}

// Wrap is New(opts...).Wrap(next), for when the Debugger itself is not
// needed.
func Wrap(next http.Handler, opts ...Option) http.Handler {
	return New(opts...).Wrap(next)
}

// Middleware returns New(opts...).Wrap, in the shape routers expect. A
// router that applies middleware only to the routes it matched, as
// gorilla/mux's Router.Use does, never passes panicroom the requests for its
// own pages: wrap such a router instead (panicroom.Wrap(r)). Middleware
// notices that use and says so in the log.
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	return New(opts...).middleware()
}

// pageRefusal says why r may not see panicroom's pages, naming the fix, or
// "" if it may. The pages show source, request headers and the console's
// secret, so they follow the first two checks of the console's own rule
// (pin.Guard.CheckPage): an allowed client address (loopback, WithAllow,
// PANICROOM_ALLOW, the container's gateway), and a trusted Host, against
// DNS rebinding.
func (d *Debugger) pageRefusal(r *http.Request) string {
	err := pin.CheckPageRequest(r, d.access)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, pin.ErrRemote):
		return "panicroom shows its pages only to clients on this machine and to the addresses it is told to allow: " + err.Error() + "."
	}
	return fmt.Sprintf("the host %q is not trusted: panicroom shows its pages only for localhost, 127.0.0.1 and the hosts added with panicroom.WithTrustedHosts, against DNS rebinding. Open the app through localhost, or add the host.", r.Host)
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		plainError(w, http.StatusInternalServerError, fmt.Sprintf("encoding JSON: %v", err))
		return
	}
	setPageHeaders(w.Header(), "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
