//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/traceback"
)

// waitOnChannel is the app's frame the 50 goroutines of
// TestPanicShowsEveryGoroutine wait in.
//
//go:noinline
func waitOnChannel(ch chan struct{}, started *sync.WaitGroup) {
	started.Done()
	<-ch
}

// TestPanicShowsEveryGoroutine: a handler panics while 50 goroutines wait
// on one channel. Over real HTTP, the JSON answer has them in one group
// of 50, whose innermost app frame is the line they wait on, and the HTML
// page has the collapsed section.
func TestPanicShowsEveryGoroutine(t *testing.T) {
	d, _ := newTestDebugger(t)
	ch := make(chan struct{})
	defer close(ch)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var started sync.WaitGroup
		started.Add(50)
		for range 50 {
			go waitOnChannel(ch, &started)
		}
		started.Wait()
		time.Sleep(20 * time.Millisecond) // from Done to the receive
		panic("with 50 waiting")
	}))
	resp, body := get(t, srv.URL+"/wait", "application/json")
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var p struct {
		ID         string
		Goroutine  int
		Goroutines struct {
			Total  int
			Groups []struct {
				Count     int
				State     string
				Panicking bool
				IDs       []int
				Frames    []struct{ Function, Kind string }
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%v\n%.500s", err, body)
	}
	gs := p.Goroutines
	if len(gs.Groups) == 0 || !gs.Groups[0].Panicking || gs.Groups[0].IDs[0] != p.Goroutine {
		t.Fatalf("the first group is not the panicking goroutine %d: %+v", p.Goroutine, gs.Groups)
	}
	found := 0
	for _, g := range gs.Groups {
		for _, f := range g.Frames {
			if strings.HasSuffix(f.Function, ".waitOnChannel") {
				found++
				if g.Count != 50 || g.State != "chan receive" || f.Kind != "app" {
					t.Errorf("the waiters' group: %d in %q, frame kind %q; want 50 in chan receive, app", g.Count, g.State, f.Kind)
				}
			}
			if strings.Contains(f.Function, "CaptureGoroutines") {
				t.Errorf("panicroom's capturing goroutine is listed")
			}
		}
	}
	if found != 1 {
		t.Errorf("waitOnChannel is in %d groups, want 1", found)
	}
	_, html := get(t, srv.URL+Prefix+"panic/"+p.ID, "text/html")
	if !strings.Contains(html, `<details id="goroutines">`) || !strings.Contains(html, `data-src="`+Prefix+"panic/"+p.ID+`/goroutines"`) {
		t.Errorf("HTML page lacks the collapsed goroutines section pointing at its groups")
	}
	// The groups come when the section is opened.
	if _, groups := get(t, srv.URL+Prefix+"panic/"+p.ID+"/goroutines", ""); !strings.Contains(groups, `<span class="gcount" title="goroutines with this stack">50</span>`) {
		t.Errorf("the goroutine groups lack the group of 50")
	}
}

// TestGoroutinesCanBeLeftOut: WithGoroutines(false) takes no goroutine
// dump, and every format of the page does without the section.
func TestGoroutinesCanBeLeftOut(t *testing.T) {
	d, _ := newTestDebugger(t, WithGoroutines(false))
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("no dump") }))
	resp, body := get(t, srv.URL+"/", "application/json")
	if resp.StatusCode != 500 || strings.Contains(body, `"goroutines"`) {
		t.Fatalf("status %d; the JSON answer has goroutines:\n%.800s", resp.StatusCode, body)
	}
	url := resp.Header.Get(PageHeader)
	// The markers are split so that the page's source context, which shows
	// these very lines, cannot contain them.
	for accept, section := range map[string]string{"text/html": `aria-label="` + `Goroutines"`, "text/plain": "goroutines at the " + "panic, in"} {
		if _, page := get(t, url, accept); !strings.Contains(page, "no dump") || strings.Contains(page, section) {
			t.Errorf("the %s page has a goroutines section (%q) or lacks the panic:\n%.1500s", accept, section, page)
		}
	}
	// And the default has it, as the marker says.
	d2, _ := newTestDebugger(t)
	srv2 := serve(t, d2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("dump") }))
	if _, page := get(t, srv2.URL+"/", "text/plain"); !strings.Contains(page, "goroutines at the "+"panic, in") {
		t.Errorf("the default text page has no goroutines section:\n%.1500s", page)
	}
}

// TestAPIPanicCarriesPageURL: a panic answered as JSON or text names its
// page in the body and in PageHeader, and the page is there.
func TestAPIPanicCarriesPageURL(t *testing.T) {
	d, _ := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("api boom") }))
	resp, body := get(t, srv.URL+"/api/orders", "application/json")
	url := resp.Header.Get(PageHeader)
	if resp.StatusCode != 500 || !strings.HasPrefix(url, srv.URL+Prefix+"panic/") {
		t.Fatalf("status %d, %s %q", resp.StatusCode, PageHeader, url)
	}
	var p struct{ ID, URL string }
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.URL != url || !strings.HasSuffix(url, p.ID) {
		t.Errorf("JSON url %q (error %v), header %q", p.URL, err, url)
	}
	if page, html := get(t, url, "text/html"); page.StatusCode != 200 || !strings.Contains(html, "api boom") {
		t.Errorf("the page at %s: %d", url, page.StatusCode)
	}
	resp, body = get(t, srv.URL+"/api/orders", "*/*")
	url = resp.Header.Get(PageHeader)
	if !strings.Contains(body, "\npage: "+url+"\n") || url == "" {
		t.Errorf("text answer lacks its page %q:\n%.300s", url, body)
	}
}

// TestEventsStream: the index's stream sends a new panic's row, and
// nothing of the request but its method and path.
func TestEventsStream(t *testing.T) {
	d, _ := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("streamed") }))
	req, _ := http.NewRequest("GET", srv.URL+Prefix+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
		return ""
	}
	if l := next(); l != "retry: 1000" {
		t.Fatalf("first line %q", l)
	}
	sreq, _ := http.NewRequest("GET", srv.URL+"/orders?token=s3cr3t-query", nil)
	sreq.Header.Set("Authorization", "Bearer s3cr3t-header")
	sreq.Header.Set("Accept", "application/json")
	if r, err := http.DefaultClient.Do(sreq); err == nil {
		r.Body.Close()
	}
	var event, data string
	for event != "panic" || data == "" {
		l := next()
		if v, ok := strings.CutPrefix(l, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(l, "data: "); ok && event == "panic" {
			data = v
		}
	}
	var row indexRow
	if err := json.Unmarshal([]byte(data), &row); err != nil {
		t.Fatal(err)
	}
	if row.Value != "streamed" || !strings.HasPrefix(row.URL, Prefix+"panic/") || row.Request != "GET /orders?token="+traceback.Mask {
		t.Errorf("event row %+v", row)
	}
	if strings.Contains(data, "s3cr3t") {
		t.Errorf("the event carries a secret: %s", data)
	}
}
