//go:build !panicroom_off

package panicroom

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPagesAreCompressed: browsers get gzip, and a client that does not ask
// gets plain bytes; both decode to the same page. Over this test's loopback
// connection only the asset is compressed (TestLoopbackPagesArePlain).
func TestPagesAreCompressed(t *testing.T) {
	d, _ := newTestDebugger(t, WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(panicky))
	tr := &http.Transport{DisableCompression: true}
	c := &http.Client{Transport: tr}
	for _, path := range []string{"/boom", Prefix + "static/console.js"} {
		var bodies [2]string
		for i, enc := range []string{"gzip, deflate, br", ""} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Header.Set("Accept", "text/html")
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader = resp.Body
			if got := resp.Header.Get("Content-Encoding"); (got == "gzip") != (enc != "" && path != "/boom") {
				t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q", path, enc, got)
			}
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			b, err := io.ReadAll(r)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			bodies[i] = string(b)
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("%s: no Vary: Accept-Encoding", path)
			}
		}
		if bodies[0] != bodies[1] && path != "/boom" {
			t.Errorf("%s: gzip and plain bodies differ", path)
		}
		if !strings.Contains(bodies[0], "panicroom") {
			t.Errorf("%s: decoded body looks wrong: %.100q", path, bodies[0])
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for enc, want := range map[string]bool{
		"gzip":                 true,
		"GZIP":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.5": true,
		"gzip;q=0":             false,
		"gzip;q=0.0, identity": false,
		"deflate":              false,
		"":                     false,
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", enc)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", enc, got, want)
		}
	}
}

// TestLoopbackPagesArePlain: a page is compressed for a client that asks,
// unless it connects from a loopback address, where compressing only
// costs time.
func TestLoopbackPagesArePlain(t *testing.T) {
	body := []byte(strings.Repeat("<span class=\"kd\">func</span> ", 200))
	for _, c := range []struct {
		remote string
		gzip   bool
	}{
		{"192.0.2.1:41234", true},
		{"[2001:db8::1]:41234", true},
		{"10.0.0.2:41234", true},
		{"127.0.0.1:41234", false},
		{"127.8.9.10:41234", false},
		{"[::1]:41234", false},
		{"[::ffff:127.0.0.1]:41234", false},
		{"not an address", true},
	} {
		r, _ := http.NewRequest("GET", "/boom", nil)
		r.RemoteAddr = c.remote
		r.Header.Set("Accept-Encoding", "gzip")
		h := http.Header{}
		out := encode(r, h, body)
		if got := h.Get("Content-Encoding") == "gzip"; got != c.gzip {
			t.Errorf("from %s: compressed %v, want %v", c.remote, got, c.gzip)
		}
		if (len(out) < len(body)) != c.gzip {
			t.Errorf("from %s: %d bytes of %d sent", c.remote, len(out), len(body))
		}
		if !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
			t.Errorf("from %s: no Vary: Accept-Encoding", c.remote)
		}
	}
}
