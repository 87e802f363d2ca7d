// Package panicroomgin is panicroom for gin: a middleware that takes the
// place of gin.Recovery. A handler's panic is answered with panicroom's
// traceback page, its goroutine parked for the console, and panicroom's own
// pages under /__panicroom__/ are served from the same engine.
//
//	r := gin.New()
//	r.Use(gin.Logger(), panicroomgin.Recovery())
//	// ... your routes ...
//	r.Run("localhost:8080")
//
// Use it on the engine, not on a group: gin runs an engine's middleware for
// every request, including those no route matches (panicroom's own pages),
// and a group's only for its routes. Middleware registered before it (a
// logger) sees the traceback page's 500; a recoverer registered after it,
// such as the gin.Recovery that gin.Default includes, would hide panics from
// it.
package panicroomgin

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/panicroom/panicroom"
)

// Recovery returns a gin middleware with a new panicroom Debugger
// configured by opts.
func Recovery(opts ...panicroom.Option) gin.HandlerFunc {
	return Middleware(panicroom.New(opts...))
}

// Middleware returns a gin middleware that serves d's pages and recovers
// panics with d, for an app that keeps its Debugger (to Close it on
// shutdown, say).
func Middleware(d *panicroom.Debugger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if panicroom.Owns(c.Request.URL.Path) {
			// gin answers a path no route matches by running the engine's
			// middleware after presetting 404 (405 for a wrong method), which
			// its writer sends with the first byte of a body: the stylesheets
			// and scripts, which never set a status, would go out as 404.
			c.Writer.WriteHeader(http.StatusOK)
			d.ServeOwn(c.Writer, c.Request)
			c.Abort()
			return
		}
		gw := c.Writer
		panicked := d.RecoverHTTP(pageWriter{gw}, c.Request, func(w http.ResponseWriter, _ *http.Request) {
			c.Writer = &responseWriter{ResponseWriter: gw, out: w}
			c.Next()
		})
		c.Writer = gw
		if panicked {
			// The panic left gin's handler index wherever it happened; the
			// middleware outside would otherwise go on with the handlers
			// after the one that panicked.
			c.Abort()
		}
	}
}

// responseWriter is the writer the handlers see: gin's, with everything
// that can reach the client going through panicroom's writer (out), which
// tracks whether the response started or the connection was hijacked.
// Everything else (Status, Size, Written, Header, CloseNotify, Pusher) is
// gin's own.
type responseWriter struct {
	gin.ResponseWriter
	out http.ResponseWriter
}

// WriteHeader is gin's: it only records the status, which goes out with
// the first byte of the body or WriteHeaderNow, so it does not start the
// response, and a handler that sets a status and then panics still gets
// the traceback page.
func (w *responseWriter) WriteHeader(code int) { w.ResponseWriter.WriteHeader(code) }

// sendHeader shows panicroom the status gin is about to send with a body
// or WriteHeaderNow: panicroom's writer then knows the response started,
// and sees a 500 answered by a recoverer inside this middleware (gin's own
// Recovery, registered after it), which it says once in the log. Its
// WriteHeader comes back to gin's, which only records the status.
func (w *responseWriter) sendHeader() {
	if !w.Written() {
		w.out.WriteHeader(w.Status())
	}
}

func (w *responseWriter) WriteHeaderNow() {
	w.sendHeader()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.sendHeader()
	return w.out.Write(b)
}

func (w *responseWriter) WriteString(s string) (int, error) {
	w.sendHeader()
	// panicroom's writer has WriteString, and gin's below it too.
	return w.out.(interface{ WriteString(string) (int, error) }).WriteString(s)
}

func (w *responseWriter) Flush() {
	w.sendHeader()
	w.out.(http.Flusher).Flush()
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.Size() > 0 {
		// gin refuses to hand over a connection that has carried a body:
		// let it say so, as it would without panicroom.
		return w.ResponseWriter.Hijack()
	}
	return w.out.(http.Hijacker).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's own writer
// (deadlines, full duplex) through panicroom's.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.out }

// pageWriter is gin's writer as panicroom writes to it: the page goes
// through gin's writer, so that the middleware outside sees its status and
// gin writes nothing after it; but once the page is sent panicroom closes
// the connection, which gin refuses after a body (size > 0). Only panicroom
// hijacks through pageWriter with a body written: a handler's hijack after
// a body is refused by responseWriter before it gets here.
type pageWriter struct{ gin.ResponseWriter }

func (w pageWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.Size() > 0 {
		if u, ok := w.ResponseWriter.(interface{ Unwrap() http.ResponseWriter }); ok {
			return http.NewResponseController(u.Unwrap()).Hijack()
		}
	}
	return w.ResponseWriter.Hijack()
}

func (w pageWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
