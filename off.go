//go:build panicroom_off

package panicroom

// This file is the whole package when built with -tags panicroom_off: the
// API keeps its signatures and does nothing, so that an app can leave
// panicroom in its code and compile it out of a release build. No
// debugger, no pages, no websocket, no highlighting is linked; a panic
// reaches net/http (or the framework) as if panicroom were not there.

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/panicroom/panicroom/pin"
)

// Prefix is where panicroom's pages would be; built with panicroom_off,
// nothing answers there.
const Prefix = "/__panicroom__/"

// PageHeader is the header that would name a panic's page; built with
// panicroom_off, no response carries it.
const PageHeader = "X-Panicroom-Page"

// An Option configures a Debugger; built with panicroom_off, none does
// anything.
type Option func(*config)

type config struct{}

// A Debugger built with panicroom_off wraps nothing and serves nothing.
type Debugger struct{}

// New returns a Debugger that does nothing (panicroom_off).
func New(opts ...Option) *Debugger { return &Debugger{} }

// Wrap returns next itself (panicroom_off).
func (d *Debugger) Wrap(next http.Handler) http.Handler { return next }

// Close does nothing (panicroom_off).
func (d *Debugger) Close() error { return nil }

// RecoverHTTP runs next and lets its panic go on unwinding, as it would
// without panicroom (panicroom_off).
func (d *Debugger) RecoverHTTP(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) (panicked bool) {
	next(w, r)
	return false
}

// Go runs f on a new goroutine, with no recovery (panicroom_off): a panic
// in f ends the program, as it does without panicroom.
func Go(f func()) { go f() }

// Recover does nothing (panicroom_off): deferred, it does not recover, and
// a panic goes on as it would without panicroom.
func Recover() {}

// Break does nothing (panicroom_off).
func Break(r *http.Request) {}

// BreakIf does nothing (panicroom_off).
func BreakIf(cond bool, r *http.Request) {}

// Go runs f on a new goroutine, with no recovery (panicroom_off).
func (d *Debugger) Go(f func()) { go f() }

// Recover does nothing (panicroom_off).
func (d *Debugger) Recover() {}

// Break does nothing (panicroom_off).
func (d *Debugger) Break(r *http.Request) {}

// BreakIf does nothing (panicroom_off).
func (d *Debugger) BreakIf(cond bool, r *http.Request) {}

// ServeOwn answers 404: built with panicroom_off there are no pages.
func (d *Debugger) ServeOwn(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

// Owns reports false: built with panicroom_off, no path is panicroom's.
func Owns(path string) bool { return false }

// Wrap returns next itself (panicroom_off).
func Wrap(next http.Handler, opts ...Option) http.Handler { return next }

// Middleware returns the identity (panicroom_off).
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return next }
}

func nothing(*config) {}

// The options keep their signatures and do nothing (panicroom_off).

func WithAllow(addrs ...string) Option         { return nothing }
func WithAllowRemote(allow bool) Option        { return nothing }
func WithAuthorize(f pin.AuthorizeFunc) Option { return nothing }
func WithConsole(on bool) Option               { return nothing }
func WithContextLines(n int) Option            { return nothing }
func WithEditor(editor string) Option          { return nothing }
func WithEditorPaths(pairs ...string) Option   { return nothing }
func WithGoroutines(on bool) Option            { return nothing }
func WithHistory(n int) Option                 { return nothing }
func WithIdleTimeout(d time.Duration) Option   { return nothing }
func WithLogger(l *slog.Logger) Option         { return nothing }
func WithMaxParked(n int) Option               { return nothing }
func WithStyles(light, dark string) Option     { return nothing }
func WithTrustedHosts(hosts ...string) Option  { return nothing }
