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
// gets plain bytes; both decode to the same page.
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
			if got := resp.Header.Get("Content-Encoding"); (got == "gzip") != (enc != "") {
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
