//go:build !panicroom_off

package panicroom

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
)

// Pages name their assets with ?v=VERSION, a hash of every asset the
// Debugger serves. A URL with the current version never changes its
// bytes, so the browser may keep it without asking again: a page that
// revalidated its four assets with no-cache waited for four round trips
// before its first paint, and for longer while the agent had the app
// stopped for the panic's snapshot.
const immutable = "private, max-age=31536000, immutable"

// assetVersion hashes the assets' ETags, in name order.
func assetVersion(files map[string]staticFile) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00" + files[n].etag + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// cacheControl is immutable for a request naming the current version and
// revalidation by ETag for any other (a page from before a restart, a
// hand-typed URL).
func (s *static) cacheControl(r *http.Request) string {
	if s.version != "" && r.URL.Query().Get("v") == s.version {
		return immutable
	}
	return "no-cache"
}
