package negotiate

import (
	"strings"
	"testing"
)

// FuzzNegotiateAccept: no Accept header makes negotiation panic, and HTML
// (the only view that runs script) is chosen only when the header names
// an HTML type.
func FuzzNegotiateAccept(f *testing.F) {
	for _, s := range []string{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", "application/json", "text/plain",
		"text/html;q=0", "application/json;q=0.5, text/html;q=0.4", "text/html;q=NaN", "text/html;q=1e400",
		"text/html;q=-1", ";;;,,,", "text/html; charset=\"", "TEXT/HTML", "", "\x00", "text/*",
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := Accept([]string{a, b})
		if got == HTML {
			low := strings.ToLower(a + "," + b)
			if !strings.Contains(low, "text/html") && !strings.Contains(low, "application/xhtml+xml") {
				t.Fatalf("HTML chosen for Accept %q, %q", a, b)
			}
		}
	})
}
