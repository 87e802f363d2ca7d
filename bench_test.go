//go:build !panicroom_off

package panicroom

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that costs nothing, so the benchmarks
// measure the middleware and not the recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Flush()                      {}

var hello = []byte("hello")

func okHandler(w http.ResponseWriter, r *http.Request) { w.Write(hello) }

// BenchmarkHappyPath compares a handler alone with the same handler wrapped:
// the difference is what panicroom costs a request that does not panic.
func BenchmarkHappyPath(b *testing.B) {
	req := httptest.NewRequest("GET", "/", nil)
	w := &discardWriter{h: http.Header{}}
	b.Run("bare", func(b *testing.B) {
		h := http.HandlerFunc(okHandler)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	b.Run("wrapped", func(b *testing.B) {
		h := New(WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))).Wrap(http.HandlerFunc(okHandler))
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
}

// A request that does not panic costs two allocations: its writer's
// wrapper, which is not pooled (see writer), and the start of the goroutine
// its handler runs on (see handoff).
func TestHappyPathAllocatesOnlyItsWrapperAndGoroutine(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	w := &discardWriter{h: http.Header{}}
	h := New().Wrap(http.HandlerFunc(okHandler))
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); n > 2 {
		t.Errorf("a request that does not panic allocates %v times, want 2", n)
	}
}

//go:noinline
func recurse(n int) {
	if n == 0 {
		var m map[string]int
		m["x"] = n
	}
	recurse(n - 1)
}

// BenchmarkPanicToPage measures a panic from recovery to the complete page,
// for panics 10 and 50 frames deep, in HTML and text. Parking is off so each
// iteration returns; the source cache is warm after the first.
func BenchmarkPanicToPage(b *testing.B) {
	for _, depth := range []int{10, 50} {
		for _, accept := range []string{"text/html", "text/plain"} {
			b.Run(http.StatusText(0)+accept+"/"+itoa(depth)+"frames", func(b *testing.B) {
				d := New(WithMaxParked(0), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				h := d.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { recurse(depth - 7) }))
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Accept", accept)
				b.ReportAllocs()
				for b.Loop() {
					w := &discardWriter{h: http.Header{}}
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
