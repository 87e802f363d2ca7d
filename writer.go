package panicroom

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// writer records what the handler did with its ResponseWriter, so that a
// panic can be answered correctly: a fresh response gets the page, a started
// one must be aborted, a hijacked connection is no longer ours to write.
//
// Writers are pooled: wrapping every request must not allocate. One type
// per set of optional interfaces keeps type assertions in handlers honest:
// a writer claims http.Hijacker only when the connection underneath can be
// hijacked.
type writer struct {
	rw       http.ResponseWriter
	started  bool // a final status line or body bytes have gone out
	hijacked bool
	done     bool // the handler returned normally
}

func (w *writer) Header() http.Header { return w.rw.Header() }

func (w *writer) WriteHeader(code int) {
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

// h1Writer wraps an HTTP/1 connection's writer.
type h1Writer struct{ writer }

func (w *h1Writer) Flush()                                       { w.flush() }
func (w *h1Writer) FlushError() error                            { return w.flush() }
func (w *h1Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }
func (w *h1Writer) ReadFrom(r io.Reader) (int64, error) {
	w.started = true
	return w.rw.(io.ReaderFrom).ReadFrom(r)
}

// h2Writer wraps an HTTP/2 stream's writer.
type h2Writer struct{ writer }

func (w *h2Writer) Flush()            { w.flush() }
func (w *h2Writer) FlushError() error { return w.flush() }
func (w *h2Writer) Push(target string, opts *http.PushOptions) error {
	return w.rw.(http.Pusher).Push(target, opts)
}

// flushWriter wraps writers that can flush and nothing else, such as
// httptest.ResponseRecorder and most middleware wrappers.
type flushWriter struct{ writer }

func (w *flushWriter) Flush()            { w.flush() }
func (w *flushWriter) FlushError() error { return w.flush() }

var (
	h1Pool    = sync.Pool{New: func() any { return new(h1Writer) }}
	h2Pool    = sync.Pool{New: func() any { return new(h2Writer) }}
	flushPool = sync.Pool{New: func() any { return new(flushWriter) }}
	basicPool = sync.Pool{New: func() any { return new(writer) }}
)

type h1Like interface {
	http.Flusher
	http.Hijacker
	io.ReaderFrom
}

type h2Like interface {
	http.Flusher
	http.Pusher
}

// wrap returns a pooled writer around rw and the ResponseWriter to hand to
// the handler.
func wrap(rw http.ResponseWriter) (*writer, http.ResponseWriter) {
	switch rw.(type) {
	case h1Like:
		w := h1Pool.Get().(*h1Writer)
		w.writer = writer{rw: rw}
		return &w.writer, w
	case h2Like:
		w := h2Pool.Get().(*h2Writer)
		w.writer = writer{rw: rw}
		return &w.writer, w
	case http.Flusher:
		w := flushPool.Get().(*flushWriter)
		w.writer = writer{rw: rw}
		return &w.writer, w
	}
	w := basicPool.Get().(*writer)
	*w = writer{rw: rw}
	return w, w
}

// unwrap returns a writer to its pool. Only writers whose handler returned
// normally go back: after a panic, something may still hold them.
func unwrap(outer http.ResponseWriter) {
	switch w := outer.(type) {
	case *h1Writer:
		w.writer = writer{}
		h1Pool.Put(w)
	case *h2Writer:
		w.writer = writer{}
		h2Pool.Put(w)
	case *flushWriter:
		w.writer = writer{}
		flushPool.Put(w)
	case *writer:
		*w = writer{}
		basicPool.Put(w)
	}
}
