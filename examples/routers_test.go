package examples_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/mux"
	"github.com/panicroom/panicroom"
)

// These run the routers in the test's own process: the console is off in
// a test binary, and what they check (where panicroom sits among the
// router's middleware, and what the log says about it) does not need it.

func TestMain(m *testing.M) {
	// panicroom keeps its PIN in the user's config directory.
	dir, err := os.MkdirTemp("", "panicroom-examples-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func logTo(b *syncBuffer) panicroom.Option {
	return panicroom.WithLogger(slog.New(slog.NewTextHandler(b, nil)))
}

func fetch(t *testing.T, url, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func divide(w http.ResponseWriter, r *http.Request) {
	var items []int
	average := 10 / len(items)
	io.WriteString(w, strconv.Itoa(average))
}

// chi's Recoverer inside panicroom answers every panic with an empty 500;
// outside it, panicroom sees them. The log says which, once, with the fix.
func TestChiRecoverer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		innermost bool // Recoverer registered after panicroom
	}{{"inside panicroom", true}, {"outside panicroom", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			r := chi.NewRouter()
			if tc.innermost {
				r.Use(panicroom.Middleware(logTo(&logs)), middleware.Recoverer)
			} else {
				r.Use(middleware.Recoverer, panicroom.Middleware(logTo(&logs)))
			}
			r.Get("/average", divide)
			finished := make(chan struct{}, 2)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				r.ServeHTTP(w, req)
				finished <- struct{}{}
			}))
			defer srv.Close()

			var code [2]int
			var body [2]string
			for i := range 2 {
				code[i], body[i] = fetch(t, srv.URL+"/average", "text/plain")
			}
			// The warning is logged once the chain returns, after the
			// response.
			<-finished
			<-finished

			out := logs.String()
			warned := strings.Count(out, "recovered a handler's panic")
			if !tc.innermost {
				if code[0] != 500 || !strings.HasPrefix(body[0], "panic: runtime error: integer divide by zero") || warned != 0 {
					t.Fatalf("panicroom inside the Recoverer: %d %q, %d warnings:\n%s", code[0], body[0], warned, out)
				}
				return
			}
			if code[1] != 500 || body[1] != "" {
				t.Fatalf("chi's Recoverer: %d %q", code[1], body[1])
			}
			if warned != 1 || !strings.Contains(out, "middleware.Recoverer") || !strings.Contains(out, "go-chi/chi/v5@") ||
				!strings.Contains(out, "r.Use(middleware.Recoverer) then r.Use(panicroom.Middleware())") {
				t.Fatalf("the log does not say once which recoverer and what to do:\n%s", out)
			}
		})
	}
}

// gorilla/mux runs the middleware of Router.Use only on the routes it
// matched: with r.Use(panicroom.Middleware()) the page's stylesheets and
// scripts are on none and answer the router's 404, which the log explains;
// with the router wrapped, as the example and the README do it, they
// answer 200.
func TestGorillaMux(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  bool
	}{{"r.Use", true}, {"panicroom.Wrap(r)", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			r := mux.NewRouter()
			r.HandleFunc("/average", divide)
			var h http.Handler = r
			if tc.use {
				r.Use(panicroom.Middleware(logTo(&logs)))
			} else {
				h = panicroom.Wrap(r, logTo(&logs))
			}
			srv := httptest.NewServer(h)
			defer srv.Close()

			for i := range 2 {
				code, page := fetch(t, srv.URL+"/average", "text/html")
				if code != 500 || !strings.Contains(page, "integer divide by zero") {
					t.Fatalf("panic %d: %d %.300q", i, code, page)
				}
			}
			code, _ := fetch(t, srv.URL+"/__panicroom__/static/panicroom.css", "")
			warned := strings.Count(logs.String(), "is being applied for each request")
			if tc.use {
				if code != 404 || warned != 1 || !strings.Contains(logs.String(), "panicroom.Wrap(r)") {
					t.Fatalf("r.Use: the stylesheet answered %d; %d warnings:\n%s", code, warned, logs.String())
				}
				return
			}
			if code != 200 || warned != 0 {
				t.Fatalf("wrapped: the stylesheet answered %d; %d warnings:\n%s", code, warned, logs.String())
			}
		})
	}
}
