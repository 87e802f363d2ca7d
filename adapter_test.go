//go:build !panicroom_off

package panicroom

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A framework's middleware as contrib/gin and contrib/echo build theirs:
// its own paths first, then the rest of its chain under RecoverHTTP.
func TestRecoverHTTPParksAndReportsThePanic(t *testing.T) {
	d, logs := newTestDebugger(t)
	returned := make(chan bool, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Owns(r.URL.Path) {
			d.ServeOwn(w, r)
			return
		}
		returned <- d.RecoverHTTP(w, r, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ok" {
				io.WriteString(w, "ok")
				return
			}
			panicky(w, r)
		})
	}))
	t.Cleanup(func() {
		d.Close()
		srv.CloseClientConnections()
		srv.Close()
	})

	if resp, body := get(t, srv.URL+"/ok", ""); resp.StatusCode != 200 || body != "ok" || <-returned {
		t.Fatalf("/ok: %d %q, or RecoverHTTP said it panicked", resp.StatusCode, body)
	}

	resp, body := get(t, srv.URL+"/users?name=bob", "text/html")
	if resp.StatusCode != 500 || !strings.Contains(body, "lookupUser") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("panic: %d %s\n%.400s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	logs.waitLog(t, "panic: runtime error")
	// The page is complete, and RecoverHTTP returns for the framework's chain
	// to go on, while next's goroutine stays parked with the frames until
	// it is released.
	select {
	case v := <-returned:
		if !v {
			t.Fatal("RecoverHTTP said the handler returned, after a panic")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RecoverHTTP did not return once the panic was answered")
	}
	id := pageID(t, body)
	rec := d.registry.get(id)
	if rec == nil {
		t.Fatalf("no record for panic %s", id)
	}
	waitFor(t, "the panic to park", rec.parked)
	if st := stacks(); !strings.Contains(st, "panicroom.lookupUser") {
		t.Fatalf("the parked frames are on no stack:\n%.3000s", st)
	}
	d.Close()

	for path, want := range map[string]int{
		Prefix + "static/panicroom.css": 200,
		Prefix + "panic/" + id:          200,
		Prefix + "static/nope.css":      404,
	} {
		if resp, _ := get(t, srv.URL+path, "text/html"); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + strings.TrimSuffix(Prefix, "/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != Prefix {
		t.Errorf("Prefix without its slash: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRecoverHTTPLetsAbortAndGoexitThrough(t *testing.T) {
	d, _ := newTestDebugger(t)
	req := httptest.NewRequest("GET", "/", nil)
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		d.RecoverHTTP(httptest.NewRecorder(), req, func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
		t.Error("RecoverHTTP returned after http.ErrAbortHandler")
	}()

	after := make(chan bool, 1)
	go func() {
		returned := false
		defer func() { after <- returned }()
		d.RecoverHTTP(httptest.NewRecorder(), req, func(http.ResponseWriter, *http.Request) { runtime.Goexit() })
		returned = true
	}()
	if <-after {
		t.Error("RecoverHTTP returned after runtime.Goexit, which must go on unwinding")
	}
}

// swallowPanics is a recoverer like chi's Recoverer or gin's Recovery:
// it answers 500 from its deferred function.
func swallowPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestRecovererInsideIsNamedOnce(t *testing.T) {
	d, logs := newTestDebugger(t)
	h, finished := finishing(d.Wrap(swallowPanics(http.HandlerFunc(panicky))))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	for range 2 {
		if resp, body := get(t, srv.URL+"/users?name=bob", "text/html"); resp.StatusCode != 500 || body != "" {
			t.Fatalf("the recoverer's answer: %d %q", resp.StatusCode, body)
		}
	}
	// The warning is logged once the handler returns, after the response.
	<-finished
	<-finished
	out := logs.String()
	if n := strings.Count(out, "recovered a handler's panic"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "swallowPanics") || !strings.Contains(out, "adapter_test.go:") || !strings.Contains(out, "place panicroom inside it") ||
		!strings.Contains(out, `request="GET /users?name=bob"`) {
		t.Errorf("the warning does not name the recoverer, the fix and the request:\n%s", out)
	}
}

// What a recoverer does, without one: a 500 answered by a handler that did
// not panic, or by a deferred function that let its panic go on to
// panicroom.
func TestNoRecovererNoWarning(t *testing.T) {
	d, logs := newTestDebugger(t)
	h, finished := finishing(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/error" {
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		defer func() {
			w.WriteHeader(http.StatusInternalServerError)
		}()
		panicky(w, r)
	})))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	if resp, _ := get(t, srv.URL+"/error", ""); resp.StatusCode != 500 {
		t.Fatalf("/error: %d", resp.StatusCode)
	}
	<-finished
	// The deferred 500 started the response, which panicroom then breaks.
	if resp, err := http.Get(srv.URL + "/users?name=bob"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	logs.waitLog(t, "panic: runtime error")
	if out := logs.String(); strings.Contains(out, "recovered a handler's panic") {
		t.Fatalf("warned about a recoverer that is not there:\n%s", out)
	}
}

// finishing returns h, and a channel that gets a value each time h has
// returned from a request.
func finishing(h http.Handler) (http.Handler, <-chan struct{}) {
	done := make(chan struct{}, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		done <- struct{}{}
	}), done
}

func TestFuncOf(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/go-chi/chi/v5/middleware.Recoverer.func1.1":              "github.com/go-chi/chi/v5/middleware.Recoverer",
		"github.com/gin-gonic/gin.CustomRecoveryWithWriter.func1.1":          "github.com/gin-gonic/gin.CustomRecoveryWithWriter",
		"github.com/labstack/echo/v4/middleware.RecoverWithConfig.func1.1.1": "github.com/labstack/echo/v4/middleware.RecoverWithConfig",
		"example.com/app.(*Server).recoverer.deferwrap1":                     "example.com/app.(*Server).recoverer",
		"gopkg.in/app.v2.safe.func3":                                         "gopkg.in/app.v2.safe",
		"main.main.func1":                                                    "main.main",
		"main.recoverer":                                                     "main.recoverer",
	} {
		if got := funcOf(fn); got != want {
			t.Errorf("funcOf(%q) = %q, want %q", fn, got, want)
		}
	}
}

// gorilla/mux's Router.Use calls the middleware for each request it
// matched; the requests for panicroom's own paths it never passes on.
func TestMiddlewareAppliedPerRequestIsNamed(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, tc := range []struct {
		name       string
		perRequest bool
	}{{"once", false}, {"per request", true}} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuffer{}
			mw := Middleware(WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			h := mw(ok)
			if tc.perRequest {
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw(ok).ServeHTTP(w, r) })
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			for i := range 3 {
				if resp, body := get(t, srv.URL+"/", ""); resp.StatusCode != 200 || body != "ok" {
					t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
				}
				if i == 0 && logs.String() != "" {
					t.Fatalf("warned before a second application:\n%s", logs.String())
				}
			}
			n := strings.Count(logs.String(), "is being applied for each request")
			if want := map[bool]int{false: 0, true: 1}[tc.perRequest]; n != want {
				t.Fatalf("warned %d times, want %d:\n%s", n, want, logs.String())
			}
			if tc.perRequest && !strings.Contains(logs.String(), "panicroom.Wrap(r)") {
				t.Fatalf("the warning does not name the fix:\n%s", logs.String())
			}
		})
	}
}
