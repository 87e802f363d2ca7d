// Package bench measures panicroom side by side with the bare handler,
// chi's middleware.Recoverer and Werkzeug's debugger, and writes the figures
// to BENCHMARKS.md. It is its own module so that chi and the other
// comparison dependencies never enter panicroom's go.mod.
//
//	make bench        # everything, and rewrite BENCHMARKS.md (~10 min)
//	cd bench && go test -run '^$' -bench . -benchmem   # the in-process part
//
// The driver is cmd/benchrun; the app it measures is cmd/benchapp (Go) and
// werkzeug/app.py (Python), both of the shape in shape.go. Figures are
// printed, never asserted: a benchmark that fails on speed fails on a busy
// machine.
package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/panicroom/panicroom"
)

// discardWriter is a ResponseWriter that costs nothing, so the in-process
// benchmarks measure the wrappers and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Flush()                      {}

// Quiet is panicroom with a silent logger and without the console: an
// in-process benchmark must not attach a debugger to itself.
func Quiet(opts ...panicroom.Option) *panicroom.Debugger {
	return panicroom.New(append([]panicroom.Option{
		panicroom.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		panicroom.WithConsole(false),
	}, opts...)...)
}

// Wrappers are the three ways the benchmarks serve a handler.
var Wrappers = []struct {
	Name string
	Wrap func(http.Handler) http.Handler
}{
	{"bare", func(h http.Handler) http.Handler { return h }},
	{"panicroom", func(h http.Handler) http.Handler { return Quiet().Wrap(h) }},
	{"chi", middleware.Recoverer},
}

// HappyPath returns the benchmark of one wrapper around a handler that does
// not panic.
func HappyPath(wrap func(http.Handler) http.Handler) func(b *testing.B) {
	return func(b *testing.B) {
		h := wrap(http.HandlerFunc(OK))
		req := httptest.NewRequest("GET", "/ok", nil)
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req) // fill pools
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	}
}

// PanicToPage returns the benchmark of panicroom from a panic depth app
// frames down to the complete page in the given format, in process, with
// parking and the console off (so each iteration returns).
func PanicToPage(depth int, accept string) func(b *testing.B) {
	return func(b *testing.B) {
		h := Quiet(panicroom.WithMaxParked(0)).Wrap(http.HandlerFunc(Panic))
		req := httptest.NewRequest("GET", "/panic?depth="+itoa(depth), nil)
		req.Header.Set("Accept", accept)
		h.ServeHTTP(&discardWriter{h: http.Header{}}, req) // warm the source cache
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
