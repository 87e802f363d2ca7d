//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/panicroom/panicroom/internal/negotiate"
)

// minGzip is the smallest body worth compressing. A traceback page is mostly
// highlighted source whose markup repeats: 100 KiB of it gzips to about a
// tenth, at BestSpeed in well under a millisecond.
const minGzip = 1 << 10

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// acceptsGzip reports whether r's client takes gzip-encoded bodies.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			if enc, q, ok := negotiate.Weighted(part); ok && enc == "gzip" && q > 0 {
				return true
			}
		}
	}
	return false
}

// encode returns body as it should be sent to r, setting Content-Encoding
// and Vary in h when it compresses.
//
// A client on a loopback address gets the page uncompressed: the bytes
// cost nothing there, while compressing them, with compress/flate built
// -N -l as a debug build has it, took 0.5 to 1.5 ms of the 7 ms from a
// panic to its complete page (make bench, figure 2). The assets, gzipped
// once, are sent gzipped to every client that takes it (serveStatic).
func encode(r *http.Request, h http.Header, body []byte) []byte {
	h.Add("Vary", "Accept-Encoding")
	if len(body) < minGzip || !acceptsGzip(r) || fromLoopback(r) {
		return body
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(body)
	zw.Close()
	gzipWriters.Put(zw)
	h.Set("Content-Encoding", "gzip")
	return buf.Bytes()
}

// fromLoopback reports whether r came from this machine's loopback
// interface. A connection through a proxy on this machine is, whatever
// the link beyond it; the proxy may compress for that link itself.
func fromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// gzipped returns body compressed, for assets that are compressed once.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	return buf.Bytes()
}
