//go:build !panicroom_off

package panicroom

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
)

// This file is the seam for frameworks whose handlers are not
// http.Handlers (gin, echo: see contrib/), and what panicroom can tell
// about the set-ups that hide panics from it: a recoverer between it and
// the handler, and a router that applies middleware only to the routes it
// matched.

// Owns reports whether a request for path is panicroom's to answer: a path
// under [Prefix], or Prefix without its trailing slash (which redirects to
// it). An adapter that routes requests itself sends these to
// [Debugger.ServeOwn] before its router can answer 404 or 405.
func Owns(path string) bool {
	return strings.HasPrefix(path, Prefix) || path == strings.TrimSuffix(Prefix, "/")
}

// ServeOwn answers a request for one of panicroom's own paths (see [Owns]):
// the panic pages, their stylesheets and scripts, the PIN and session
// endpoints and the console's websocket, after the checks Wrap applies to
// them. It sets the status of every response it writes, except where
// net/http's own default applies (200 before the first byte of a body), so
// a framework that presets another status for unmatched paths must reset it
// to 200 before calling ServeOwn. The websocket needs w to be an
// [http.Hijacker], as any framework's writer over net/http's is.
func (d *Debugger) ServeOwn(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusFound)
		return
	}
	d.serveOwn(w, r)
}

// RecoverHTTP runs next with the recovery Wrap gives the handlers it
// wraps, for a framework's middleware: next calls the rest of the
// framework's chain, and writes through the ResponseWriter it is given,
// which reports what reached the client (whether the response started, or
// the connection was hijacked) and has w's Flusher, Hijacker and Pusher.
//
// next runs on a goroutine of its own while RecoverHTTP waits, as Wrap runs
// its handler, and writes through the framework's own writer w (gin's
// c.Writer, echo's c.Response().Writer) until it returns. A panic in next
// is answered with a page written to w, its status and headers replacing
// the handler's; when the console can use the panic, next's goroutine is
// then parked with its frames, and RecoverHTTP returns: the framework's
// middleware outside this one (its logger, say) completes as for any other
// response.
//
// RecoverHTTP reports whether next panicked (the panic was answered; the
// framework must not run the rest of its chain). [http.ErrAbortHandler] is
// re-panicked on the calling goroutine, and a [runtime.Goexit] in next
// ends the calling goroutine too, as they do through Wrap.
func (d *Debugger) RecoverHTTP(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) (panicked bool) {
	d.checkExposureOnce(r)
	tw, outer := wrap(w)
	tw.nextFunc, tw.outer = next, outer
	return d.handOff(tw, r)
}

// middleware is what Middleware returns: Wrap, watched for the one misuse
// no handler can see. gorilla/mux's Router.Use applies middleware for each
// request, and only to the routes the router matched, so the requests for
// panicroom's own pages (the stylesheets and script of a traceback page,
// its consoles) meet the router's 404 without ever reaching panicroom. Such
// a router calls the middleware again after requests were served, which a
// router that builds its chain once (net/http, chi, alice) does not.
func (d *Debugger) middleware() func(http.Handler) http.Handler {
	var served, warned atomic.Bool
	return func(next http.Handler) http.Handler {
		if served.Load() && warned.CompareAndSwap(false, true) {
			d.cfg.logger.Warn("panicroom: the function panicroom.Middleware returned is being applied for each request, as gorilla/mux's Router.Use does: " +
				"such a router runs middleware only on the routes it matched, so panicroom's pages, assets and consoles under " + Prefix + " answer 404 " +
				"and traceback pages come unstyled and without consoles. Wrap the whole router instead: http.ListenAndServe(addr, panicroom.Wrap(r))")
		}
		h := d.Wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !served.Load() {
				served.Store(true)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// noteRecoverer says once in the log, naming the fix, that a recoverer
// between panicroom and the handler answered 500 for a panic that never
// reached panicroom (writer.WriteHeader notices it).
func (d *Debugger) noteRecoverer(w *writer, r *http.Request) {
	if w.recoveredBy == "" || !d.recovererNoted.CompareAndSwap(false, true) {
		return
	}
	d.cfg.logger.Warn("panicroom: "+w.recoveredBy+" recovered a handler's panic and answered 500 itself, so panicroom never saw the panic and sent no traceback page. "+recovererFix(w.recoveredBy),
		"request", r.Method+" "+r.URL.RequestURI())
}

// recovererFix is what to do about a recoverer, for the known ones by the
// file of its deferred function: its name alone may not say, since a
// closure in a function inlined into the caller is named after the caller.
func recovererFix(recoverer string) string {
	switch {
	case strings.Contains(recoverer, "gin-gonic/gin"):
		return "gin's Recovery (gin.Default() includes it) hides them: build the engine with gin.New() and use Recovery() from github.com/panicroom/panicroom/contrib/gin in its place: r.Use(gin.Logger(), panicroomgin.Recovery())."
	case strings.Contains(recoverer, "labstack/echo/"):
		return "Use Recover() from github.com/panicroom/panicroom/contrib/echo in place of echo's middleware.Recover() (e.Use(panicroomecho.Recover())), or register it after middleware.Recover(): the middleware registered last is the innermost."
	case strings.Contains(recoverer, "go-chi/chi/"):
		return "Register panicroom after chi's Recoverer, so that it is the inner one (r.Use(middleware.Recoverer) then r.Use(panicroom.Middleware())), or leave Recoverer out while developing."
	}
	return "Leave that recoverer out while developing, or place panicroom inside it, between it and the handlers."
}

// recovererOnStack names the deferred function the caller runs in when it
// runs on top of a panic, the recoverer answering for it, with its file and
// line, or returns "" when no panic is unwinding. The function
// runtime.gopanic called is the one right above it on the stack.
// panicroom's own recovery answering on the panicking goroutine (a panic it
// does not park, under another panicroom further out) is not a recoverer to
// warn about; a recoverer declared in this package (in its tests) is.
func recovererOnStack() string {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var prev runtime.Frame
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			if prev.Function == "" || hiddenFrame(prev.Function) {
				return ""
			}
			return funcOf(prev.Function) + " (" + prev.File + ":" + strconv.Itoa(prev.Line) + ")"
		case f.Function == "runtime.Goexit" || !more:
			return ""
		}
		prev = f
	}
}

func hiddenFrame(fn string) bool {
	for _, own := range ownFrames {
		if strings.HasPrefix(fn, own) {
			return true
		}
	}
	return false
}

// funcOf trims the closures off a function's name: the deferred function
// of chi's Recoverer is "github.com/go-chi/chi/v5/middleware.Recoverer.func1.1",
// and the reader knows it as middleware.Recoverer.
func funcOf(fn string) string {
	slash := strings.LastIndexByte(fn, '/') + 1
	parts := strings.Split(fn[slash:], ".")
	keep := len(parts)
	for keep > 2 && (isClosure(parts[keep-1]) || isNumber(parts[keep-1])) {
		keep--
	}
	return fn[:slash] + strings.Join(parts[:keep], ".")
}

func isClosure(s string) bool {
	for _, p := range []string{"func", "deferwrap", "gowrap"} {
		if rest, ok := strings.CutPrefix(s, p); ok && isNumber(rest) {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
