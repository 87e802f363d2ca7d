//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// writer records what the handler did with its ResponseWriter, so that a
// panic can be answered correctly: a fresh response gets the page, a started
// one must be aborted, a hijacked connection is no longer ours to write.
//
// The writer the handler sees has each of the optional interfaces Flusher,
// Hijacker and Pusher exactly when the writer it wraps has it, one type per
// combination, so that a handler's type assertions (gorilla/websocket's
// Hijacker, an SSE handler's Flusher) answer as they would without
// panicroom. It always has ReadFrom, which falls back to a plain copy.
//
// Writers are not pooled: a handler that gives its ResponseWriter to a
// goroutine which writes after ServeHTTP returned has a bug, and with a
// pooled wrapper the late write would land in another request's response.
// One small allocation per request is the price of keeping such a bug
// inside its own request.
type writer struct {
	rw       http.ResponseWriter
	started  bool // a final status line or body bytes have gone out
	hijacked bool
	done     bool // the handler returned normally
	// recoveredBy names the recoverer that answered 500 on top of a panic
	// that never reached panicroom (recovererOnStack), for the warning
	// noteRecoverer logs once the handler returns.
	recoveredBy string

	// What the handler's goroutine runs (handle): one of next and nextFunc,
	// with outer, the ResponseWriter the handler is given.
	next     http.Handler
	nextFunc func(http.ResponseWriter, *http.Request)
	outer    http.ResponseWriter
	hand     handoff
}

func (w *writer) Header() http.Header { return w.rw.Header() }

func (w *writer) WriteHeader(code int) {
	// Recoverers answer 500 from their deferred function: the stack is
	// only looked at then, never on a healthy response.
	if code == http.StatusInternalServerError && w.recoveredBy == "" {
		w.recoveredBy = recovererOnStack()
	}
	// 1xx responses are informational: the final response is still ours to
	// choose. 101 Switching Protocols is final.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.started = true
	}
	w.rw.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	w.started = true
	return w.rw.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	w.started = true
	return io.WriteString(w.rw, s)
}

func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	w.started = true
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(onlyWriter{w.rw}, r)
}

// onlyWriter hides everything but Write, so that io.Copy cannot come back
// to ReadFrom.
type onlyWriter struct{ io.Writer }

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.rw }

func (w *writer) flush() error {
	w.started = true
	return http.NewResponseController(w.rw).Flush()
}

func (w *writer) hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

func (w *writer) push(target string, opts *http.PushOptions) error {
	return w.rw.(http.Pusher).Push(target, opts)
}

// The mixins give a wrapper one optional interface each; they point back at
// the writer they are embedded next to, so a wrapper is one allocation.
type (
	flushes struct{ w *writer }
	hijacks struct{ w *writer }
	pushes  struct{ w *writer }
)

func (m flushes) Flush()                                       { m.w.flush() }
func (m flushes) FlushError() error                            { return m.w.flush() }
func (m hijacks) Hijack() (net.Conn, *bufio.ReadWriter, error) { return m.w.hijack() }
func (m pushes) Push(target string, opts *http.PushOptions) error {
	return m.w.push(target, opts)
}

type (
	withF struct {
		writer
		flushes
	}
	withH struct {
		writer
		hijacks
	}
	withP struct {
		writer
		pushes
	}
	withFH struct {
		writer
		flushes
		hijacks
	}
	withFP struct {
		writer
		flushes
		pushes
	}
	withHP struct {
		writer
		hijacks
		pushes
	}
	withFHP struct {
		writer
		flushes
		hijacks
		pushes
	}
)

// wrap returns the writer that watches rw and the ResponseWriter to hand to
// the handler, which has rw's optional interfaces.
func wrap(rw http.ResponseWriter) (*writer, http.ResponseWriter) {
	_, f := rw.(http.Flusher)
	_, h := rw.(http.Hijacker)
	_, p := rw.(http.Pusher)
	switch {
	case f && h && p:
		o := &withFHP{writer: writer{rw: rw}}
		o.flushes.w, o.hijacks.w, o.pushes.w = &o.writer, &o.writer, &o.writer
		return &o.writer, o
	case f && h:
		o := &withFH{writer: writer{rw: rw}}
		o.flushes.w, o.hijacks.w = &o.writer, &o.writer
		return &o.writer, o
	case f && p:
		o := &withFP{writer: writer{rw: rw}}
		o.flushes.w, o.pushes.w = &o.writer, &o.writer
		return &o.writer, o
	case h && p:
		o := &withHP{writer: writer{rw: rw}}
		o.hijacks.w, o.pushes.w = &o.writer, &o.writer
		return &o.writer, o
	case f:
		o := &withF{writer: writer{rw: rw}}
		o.flushes.w = &o.writer
		return &o.writer, o
	case h:
		o := &withH{writer: writer{rw: rw}}
		o.hijacks.w = &o.writer
		return &o.writer, o
	case p:
		o := &withP{writer: writer{rw: rw}}
		o.pushes.w = &o.writer
		return &o.writer, o
	}
	w := &writer{rw: rw}
	return w, w
}
