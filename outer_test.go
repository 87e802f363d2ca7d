//go:build !panicroom_off

package panicroom

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// accessLog is middleware in the shape of chi's Logger: it wraps the
// writer to see the status and size, and writes its line from a deferred
// call once the handler chain returns.
type accessLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *accessLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		start := time.Now()
		defer func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.lines = append(l.lines, fmt.Sprintf("%s %s %d %dB %v", r.Method, r.URL.Path, rec.status, rec.bytes, time.Since(start) > 0))
		}()
		next.ServeHTTP(rec, r)
	})
}

func (l *accessLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type statusRecorder struct {
	http.ResponseWriter
	status, bytes int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// tracer is middleware in the shape of otelhttp's Handler: a span starts
// before the chain and ends after it returns, with the status it saw; the
// context carries the span to the handler.
type tracer struct {
	mu    sync.Mutex
	ended []span
}

type span struct {
	name   string
	status int
}

type spanKey struct{}

func (tr *tracer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &span{name: r.Method + " " + r.URL.Path}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		defer func() {
			s.status = rec.status
			tr.mu.Lock()
			tr.ended = append(tr.ended, *s)
			tr.mu.Unlock()
		}()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), spanKey{}, s)))
	})
}

func (tr *tracer) spans() []span {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]span(nil), tr.ended...)
}

// While a panic's goroutine is parked, the middleware outside panicroom
// completes as for any other response: the access log has the request with
// its 500 and the page's size, the trace span ends with status 500, and the
// server can serve the next request on the same connection.
func TestOuterMiddlewareSeesTheAnswer(t *testing.T) {
	d, logs := newTestDebugger(t)
	var access accessLog
	var trace tracer
	sawSpan := make(chan bool, 1)
	h := access.wrap(trace.wrap(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Value(spanKey{}).(*span)
		sawSpan <- ok
		panicky(w, r)
	}))))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		d.Close()
		srv.CloseClientConnections()
		srv.Close()
	})

	// Without transparent gzip, so that the body read is the body sent.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	resp, body := getWith(t, client, srv.URL+"/users", "text/plain")
	if resp.StatusCode != 500 || !strings.Contains(body, "lookupUser") {
		t.Fatalf("panic: %d %.200q", resp.StatusCode, body)
	}
	if !<-sawSpan {
		t.Error("the handler's context lost the outer middleware's value")
	}
	rec := d.registry.get(pageID(t, logs.waitLog(t, "page=")))
	waitFor(t, "the panic to park", rec.parked)
	waitFor(t, "the access log line", func() bool { return access.String() != "" })

	want := fmt.Sprintf("GET /users 500 %dB true", len(body))
	if got := access.String(); got != want {
		t.Errorf("access log: %q, want %q", got, want)
	}
	if got := trace.spans(); len(got) != 1 || got[0] != (span{"GET /users", 500}) {
		t.Errorf("spans: %+v, want one GET /users ended with 500", got)
	}
	if !rec.parked() {
		t.Fatal("the goroutine is no longer parked")
	}
	// The connection was kept alive: the request ended as any other.
	resp, body = getWith(t, client, srv.URL+Prefix+"panic/"+rec.panic.ID, "text/plain")
	if resp.StatusCode != 200 || !strings.Contains(body, "lookupUser") {
		t.Fatalf("the page after the panic: %d", resp.StatusCode)
	}
}

// A panic after the response started breaks it (the client must not take a
// truncated body for a whole one), and the outer middleware still sees the
// request end, with the status that went out.
func TestOuterMiddlewareSeesABrokenResponse(t *testing.T) {
	d, logs := newTestDebugger(t)
	var access accessLog
	srv := httptest.NewServer(access.wrap(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("late")
	}))))
	t.Cleanup(func() {
		d.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatal("a response broken by a panic read as complete")
	}
	rec := d.registry.get(pageID(t, logs.waitLog(t, "page=")))
	waitFor(t, "the panic to park", rec.parked)
	waitFor(t, "the access log line", func() bool { return access.String() != "" })
	if got := access.String(); got != "GET /stream 200 7B true" {
		t.Errorf("access log: %q", got)
	}
}
