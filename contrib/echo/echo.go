// Package panicroomecho is panicroom for echo (v4): a middleware that takes
// the place of echo's middleware.Recover. A handler's panic is answered
// with panicroom's traceback page, its goroutine parked for the console,
// and panicroom's own pages under /__panicroom__/ are served from the same
// Echo.
//
//	e := echo.New()
//	e.Use(middleware.RequestLogger(), panicroomecho.Recover())
//	// ... your routes ...
//	e.Start("localhost:8080")
//
// Register it with Use (or Pre), not on a group: echo runs those for every
// request, including the ones no route matches (panicroom's own pages),
// and a group's middleware only for its routes. Errors the handlers return
// go on to echo's HTTPErrorHandler untouched. Middleware registered before
// it (a logger) sees the traceback page's 500; a recoverer registered after
// it, such as middleware.Recover, would hide panics from it.
package panicroomecho

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/panicroom/panicroom"
)

// Recover returns an echo middleware with a new panicroom Debugger
// configured by opts.
func Recover(opts ...panicroom.Option) echo.MiddlewareFunc {
	return Middleware(panicroom.New(opts...))
}

// Middleware returns an echo middleware that serves d's pages and recovers
// panics with d, for an app that keeps its Debugger (to Close it on
// shutdown, say).
func Middleware(d *panicroom.Debugger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res, req := c.Response(), c.Request()
			if panicroom.Owns(req.URL.Path) {
				// Answered here, before the route's handler: for these paths
				// that is echo's 404 or 405, whose error would reach the
				// HTTPErrorHandler.
				d.ServeOwn(res, req)
				return nil
			}
			var err error
			w := res.Writer
			panicked := d.RecoverHTTP(w, req, func(out http.ResponseWriter, _ *http.Request) {
				// Everything the handlers write through echo's Response goes
				// through panicroom's writer, which tracks whether the
				// response started or the connection was hijacked.
				res.Writer = out
				err = next(c)
			})
			res.Writer = w
			if panicked && !res.Committed {
				// The page went to the writer under echo's Response: let the
				// middleware outside (a logger) see its status, and keep the
				// error handler from writing after it.
				res.Status, res.Committed = http.StatusInternalServerError, true
			}
			return err
		}
	}
}
