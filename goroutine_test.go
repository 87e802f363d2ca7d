//go:build !panicroom_off

package panicroom

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

//go:noinline
func resize(sizes []int) int {
	total := 0
	for _, s := range sizes {
		total += 1280 / s
	}
	return total
}

// A panic in a goroutine started with Go gets a page with no request, a
// log line with the page's URL at the address the app was reached at, and
// the goroutine parked; the program goes on.
func TestGoPanicHasAPageAndTheProgramGoesOn(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.Go(func() { resize([]int{640, 0}) })
		w.Write([]byte("started"))
	}))
	if resp, body := get(t, srv.URL+"/start", ""); resp.StatusCode != 200 || body != "started" {
		t.Fatalf("/start: %d %q", resp.StatusCode, body)
	}
	line := logs.waitLog(t, "integer divide by zero")
	if !strings.Contains(line, `request="none (a goroutine of the app's)"`) || !strings.Contains(line, "page="+srv.URL+Prefix+"panic/") {
		t.Fatalf("the log line: %s", line)
	}
	rec := d.registry.get(pageID(t, line))
	waitFor(t, "the goroutine to park", rec.parked)
	if rec.panic.Request != nil || rec.panic.Frames[0].Function != "github.com/panicroom/panicroom.resize" {
		t.Errorf("record: request %v, top frame %s", rec.panic.Request, rec.panic.Frames[0].Function)
	}
	resp, page := get(t, srv.URL+Prefix+"panic/"+rec.panic.ID, "text/html")
	if resp.StatusCode != 200 || !strings.Contains(page, "serving no request") || strings.Contains(page, `aria-label="Request"`) {
		t.Errorf("the page: %d, no-request note or a request section:\n%.600s", resp.StatusCode, page)
	}
	if resp, body := get(t, srv.URL+"/start", ""); resp.StatusCode != 200 || body != "started" {
		t.Fatalf("the server after the goroutine's panic: %d %q", resp.StatusCode, body)
	}
	// The index names the missing request rather than leave its cell empty.
	for _, accept := range []string{"text/html", "text/plain", "application/json"} {
		if _, index := get(t, srv.URL+Prefix, accept); !strings.Contains(index, "none (a goroutine of the app") {
			t.Errorf("the %s index's row of the goroutine's panic does not say it had no request:\n%.3000s", accept, index)
		}
	}
}

// A deferred Recover works in any goroutine; runtime.Goexit and a normal
// return go through it untouched.
func TestRecoverInAGoroutine(t *testing.T) {
	d, logs := newTestDebugger(t)
	var wg sync.WaitGroup
	wg.Add(2)
	returned := false
	go func() {
		defer wg.Done()
		defer d.Recover()
		returned = true
	}()
	go func() {
		defer wg.Done()
		defer d.Recover()
		panic("from a worker")
	}()
	line := logs.waitLog(t, "from a worker")
	rec := d.registry.get(pageID(t, line))
	waitFor(t, "the goroutine to park", rec.parked)
	d.Close()
	wg.Wait()
	if !returned {
		t.Error("a goroutine that did not panic did not run to its end")
	}
	if !strings.HasPrefix(strings.SplitN(line, "page=", 2)[1], Prefix+"panic/") {
		t.Errorf("before any request the page URL is its path: %s", line)
	}
}

// Without any Debugger, Go and Recover log the panic with its stack and the
// program goes on.
func TestGoWithoutADebuggerLogs(t *testing.T) {
	saved := process.Swap(nil)
	defer process.Store(saved)
	var buf bytes.Buffer
	var mu sync.Mutex
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	defer slog.SetDefault(old)
	done := make(chan struct{})
	Go(func() {
		defer close(done)
		panic("nobody listens")
	})
	<-done
	waitFor(t, "the log line", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(buf.String(), "nobody listens")
	})
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "no panicroom.Debugger exists") || !strings.Contains(buf.String(), "goroutine_test.go") {
		t.Errorf("log: %s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Where nothing could inspect it (no agent in a test binary), Break says
// why and returns at once.
func TestBreakWithoutTheConsoleReturns(t *testing.T) {
	d, logs := newTestDebugger(t)
	d.Break(nil)
	line := logs.waitLog(t, "Break did not stop")
	if !strings.Contains(line, "goroutine_test.go") {
		t.Errorf("the log does not say where: %s", line)
	}
	if n := len(d.registry.list()); n != 0 {
		t.Errorf("a Break that did not stop left %d records", n)
	}
}

// Continue changes what the program does next: it is refused to whoever
// could not use the console (here, because it is off in a test binary),
// before any lookup. The refusal of a request that holds the PIN cookie
// but not the page's secret is tested with the real console, in e2e.
func TestContinueIsRefusedWithoutTheConsole(t *testing.T) {
	d, _ := newTestDebugger(t)
	srv := serve(t, d, http.NotFoundHandler())
	for _, tc := range []struct{ name, secret string }{{"no secret", ""}, {"wrong secret", "nope"}} {
		req, _ := http.NewRequest("POST", srv.URL+Prefix+"panic/abc/continue", nil)
		if tc.secret != "" {
			req.Header.Set("X-Panicroom-Secret", tc.secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode == 404 {
			t.Errorf("%s: %d, want a refusal before any lookup", tc.name, resp.StatusCode)
		}
	}
}
