//go:build !panicroom_off

package panicroom

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestAssetCaching: the page names every asset with the current version,
// each of those URLs is answered as immutable (the browser paints the next
// panic without asking for them), and an asset named without it, or with
// another version, is still served but revalidated. console.js and
// console.css, which the page's script loads, are served the same way.
func TestAssetCaching(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("asset test") }))
	rawGet(t, srv.Listener.Addr().String(), "/boom")
	id := pageID(t, logs.waitLog(t, "page="))
	_, page := get(t, srv.URL+Prefix+"panic/"+id, "text/html")

	refs := regexp.MustCompile(`(?:href|src)="(`+Prefix+`static/[^"?]+)\?v=([0-9a-f]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 3 || strings.Count(page, Prefix+"static/") != 3 {
		t.Fatalf("want the page's three assets, each versioned; got %q in:\n%.2000s", refs, page)
	}
	v := refs[0][2]
	paths := []string{Prefix + "static/console.js", Prefix + "static/console.css"}
	for _, m := range refs {
		if m[2] != v {
			t.Errorf("%s has version %s, %s has %s", refs[0][1], v, m[1], m[2])
		}
		paths = append(paths, m[1])
	}
	for _, p := range paths {
		for _, tc := range []struct{ query, want string }{
			{"?v=" + v, "immutable"},
			{"", "no-cache"},
			{"?v=0" + v, "no-cache"},
		} {
			resp, body := get(t, srv.URL+p+tc.query, "")
			if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || body == "" || !strings.Contains(cc, tc.want) {
				t.Errorf("%s%s: status %d, Cache-Control %q, %d bytes; want 200 and %q", p, tc.query, resp.StatusCode, cc, len(body), tc.want)
			}
		}
	}
}
