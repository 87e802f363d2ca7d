//go:build !panicroom_off

package panicroom

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBurstLeavesGoroutinesOut: while burstGoroutines panics are being
// answered, a new one's page says why it has no Goroutines section
// instead of taking every goroutine again; once they are done, the next
// panic has the section.
func TestBurstLeavesGoroutinesOut(t *testing.T) {
	d, _ := newTestDebugger(t, WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(panicky))
	var done []func()
	for range burstGoroutines {
		done = append(done, startAnswering())
	}
	_, page := get(t, srv.URL+"/", "text/html")
	if !strings.Contains(page, "Goroutines</h2><p class=\"dim\">not taken for this panic: 8 other panics were being answered at the same time") {
		t.Errorf("a panic of a burst does not say why its goroutines are left out:\n%.3000s", page)
	}
	resp, text := get(t, srv.URL+"/", "text/plain")
	if !strings.Contains(text, "\nGoroutines: not taken for this panic") {
		t.Errorf("the text view lacks why the goroutines are left out:\n%s", text)
	}
	_, js := get(t, srv.URL+Prefix+"panic/"+pageID(t, resp.Header.Get(PageHeader))+"?format=json", "application/json")
	var p struct{ Goroutines struct{ Skipped string } }
	if err := json.Unmarshal([]byte(js), &p); err != nil || !strings.HasPrefix(p.Goroutines.Skipped, "not taken for this panic") {
		t.Errorf("the JSON view's goroutines = %+v (%v), want skipped with the reason", p.Goroutines, err)
	}
	for _, f := range done {
		f()
	}
	_, text = get(t, srv.URL+"/", "text/plain")
	if !strings.Contains(text, "goroutines at the panic, in") || strings.Contains(text, "not taken for this panic") {
		t.Errorf("after the burst, a panic's goroutines are still left out:\n%s", text)
	}
}
