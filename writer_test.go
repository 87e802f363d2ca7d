//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A handler that hands its ResponseWriter to a goroutine which writes after
// ServeHTTP returned has a bug; with the writers pooled, the late write went
// into whichever request had the writer next.
func TestLateWriteStaysInItsOwnRequest(t *testing.T) {
	var stale http.ResponseWriter
	h := New().Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keep" {
			stale = w
		}
		io.WriteString(w, "own body")
	}))
	for _, shape := range []struct {
		name string
		rw   func() http.ResponseWriter
	}{
		{"plain", func() http.ResponseWriter { return &fakeRW{h: http.Header{}} }},
		{"flusher", func() http.ResponseWriter { return httptest.NewRecorder() }},
		{"hijacker", func() http.ResponseWriter { return fakeFH{&fakeRW{h: http.Header{}}} }},
	} {
		t.Run(shape.name, func(t *testing.T) {
			first := shape.rw()
			h.ServeHTTP(first, httptest.NewRequest("GET", "/keep", nil))
			second := shape.rw()
			h.ServeHTTP(second, httptest.NewRequest("GET", "/other", nil))
			io.WriteString(stale, " LATE")
			if got := bodyOf(second); strings.Contains(got, "LATE") {
				t.Fatalf("a late write of one request reached another's response: %q", got)
			}
			if got := bodyOf(first); !strings.HasSuffix(got, "LATE") {
				t.Errorf("the late write did not reach its own request's writer: %q", got)
			}
		})
	}
}

func bodyOf(rw http.ResponseWriter) string {
	switch w := rw.(type) {
	case *httptest.ResponseRecorder:
		return w.Body.String()
	case *fakeRW:
		return w.body.String()
	case interface{ base() *fakeRW }:
		return w.base().body.String()
	}
	panic("unknown writer")
}

// fakeRW and its mixins make every combination of the optional interfaces a
// middleware's writer may have.
type fakeRW struct {
	h        http.Header
	body     bytes.Buffer
	flushed  bool
	hijacked bool
	pushed   string
	readFrom bool
}

func (w *fakeRW) Header() http.Header         { return w.h }
func (w *fakeRW) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *fakeRW) WriteHeader(int)             {}

type (
	flushMix  struct{ *fakeRW }
	hijackMix struct{ *fakeRW }
	readMix   struct{ *fakeRW }
	pushMix   struct{ *fakeRW }
)

func (m flushMix) Flush() { m.flushed = true }
func (m hijackMix) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	m.hijacked = true
	c, _ := net.Pipe()
	return c, nil, nil
}
func (m readMix) ReadFrom(r io.Reader) (int64, error) {
	m.readFrom = true
	return io.Copy(&m.body, r)
}
func (m pushMix) Push(string, *http.PushOptions) error { m.pushed = "yes"; return nil }

// fakeFH is the shape of most logging middlewares: flush and hijack, no
// ReadFrom, no Push.
type fakeFH struct{ *fakeRW }

func (w fakeFH) base() *fakeRW { return w.fakeRW }
func (w fakeFH) Flush()        { flushMix(w).Flush() }
func (w fakeFH) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return hijackMix(w).Hijack()
}

const (
	hasFlush = 1 << iota
	hasHijack
	hasReadFrom
	hasPush
)

// combo builds a writer with exactly the interfaces in bits.
func combo(bits int) (*fakeRW, http.ResponseWriter) {
	b := &fakeRW{h: http.Header{}}
	var f, hj, rf, p any
	if bits&hasFlush != 0 {
		f = flushMix{b}
	}
	if bits&hasHijack != 0 {
		hj = hijackMix{b}
	}
	if bits&hasReadFrom != 0 {
		rf = readMix{b}
	}
	if bits&hasPush != 0 {
		p = pushMix{b}
	}
	return b, &composed{fakeRW: b, f: f, hj: hj, rf: rf, p: p}
}

// composed cannot change its method set at run time, so combo's result is
// narrowed by shapes, which has one type per combination.
type composed struct {
	*fakeRW
	f, hj, rf, p any
}

func narrow(bits int, c *composed) http.ResponseWriter {
	type (
		F  = http.Flusher
		H  = http.Hijacker
		R  = io.ReaderFrom
		P  = http.Pusher
		RW = http.ResponseWriter
	)
	f, _ := c.f.(F)
	h, _ := c.hj.(H)
	r, _ := c.rf.(R)
	p, _ := c.p.(P)
	switch bits {
	case 0:
		return struct{ RW }{c.fakeRW}
	case hasFlush:
		return struct {
			RW
			F
		}{c.fakeRW, f}
	case hasHijack:
		return struct {
			RW
			H
		}{c.fakeRW, h}
	case hasFlush | hasHijack:
		return struct {
			RW
			F
			H
		}{c.fakeRW, f, h}
	case hasReadFrom:
		return struct {
			RW
			R
		}{c.fakeRW, r}
	case hasFlush | hasReadFrom:
		return struct {
			RW
			F
			R
		}{c.fakeRW, f, r}
	case hasHijack | hasReadFrom:
		return struct {
			RW
			H
			R
		}{c.fakeRW, h, r}
	case hasFlush | hasHijack | hasReadFrom:
		return struct {
			RW
			F
			H
			R
		}{c.fakeRW, f, h, r}
	case hasPush:
		return struct {
			RW
			P
		}{c.fakeRW, p}
	case hasFlush | hasPush:
		return struct {
			RW
			F
			P
		}{c.fakeRW, f, p}
	case hasHijack | hasPush:
		return struct {
			RW
			H
			P
		}{c.fakeRW, h, p}
	case hasFlush | hasHijack | hasPush:
		return struct {
			RW
			F
			H
			P
		}{c.fakeRW, f, h, p}
	case hasReadFrom | hasPush:
		return struct {
			RW
			R
			P
		}{c.fakeRW, r, p}
	case hasFlush | hasReadFrom | hasPush:
		return struct {
			RW
			F
			R
			P
		}{c.fakeRW, f, r, p}
	case hasHijack | hasReadFrom | hasPush:
		return struct {
			RW
			H
			R
			P
		}{c.fakeRW, h, r, p}
	}
	return struct {
		RW
		F
		H
		R
		P
	}{c.fakeRW, f, h, r, p}
}

// The writer the handler sees has an optional interface exactly when the
// writer under it has it (ReadFrom always: without it, io.Copy simply
// copies), and each call reaches the writer underneath.
func TestWrapperKeepsEveryOptionalInterface(t *testing.T) {
	for bits := 0; bits < 16; bits++ {
		b, c := combo(bits)
		under := narrow(bits, c.(*composed))
		name := interfacesName(bits)
		t.Run(name, func(t *testing.T) {
			var outer http.ResponseWriter
			d := New()
			d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { outer = w })).ServeHTTP(under, httptest.NewRequest("GET", "/", nil))

			_, isF := outer.(http.Flusher)
			_, isH := outer.(http.Hijacker)
			_, isP := outer.(http.Pusher)
			_, isR := outer.(io.ReaderFrom)
			if isF != (bits&hasFlush != 0) || isH != (bits&hasHijack != 0) || isP != (bits&hasPush != 0) || !isR {
				t.Fatalf("under %s the handler's writer has Flusher=%v Hijacker=%v Pusher=%v ReaderFrom=%v", name, isF, isH, isP, isR)
			}
			if isF {
				outer.(http.Flusher).Flush()
				if !b.flushed {
					t.Error("Flush did not reach the writer underneath")
				}
			}
			if isH {
				if _, _, err := outer.(http.Hijacker).Hijack(); err != nil || !b.hijacked {
					t.Errorf("Hijack did not reach the writer underneath: %v", err)
				}
			}
			if isP {
				if outer.(http.Pusher).Push("/x", nil); b.pushed == "" {
					t.Error("Push did not reach the writer underneath")
				}
			}
			n, err := outer.(io.ReaderFrom).ReadFrom(strings.NewReader("copied"))
			if n != 6 || err != nil || !strings.Contains(b.body.String(), "copied") {
				t.Errorf("ReadFrom = %d, %v; body %q", n, err, b.body.String())
			}
			if b.readFrom != (bits&hasReadFrom != 0) {
				t.Errorf("ReadFrom used the writer's own ReadFrom: %v, want %v", b.readFrom, bits&hasReadFrom != 0)
			}
		})
	}
}

func interfacesName(bits int) string {
	var parts []string
	for i, n := range []string{"Flusher", "Hijacker", "ReaderFrom", "Pusher"} {
		if bits&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if parts == nil {
		return "none"
	}
	return strings.Join(parts, "+")
}
