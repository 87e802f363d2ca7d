package panicroomecho_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/panicroom/panicroom"
	panicroomecho "github.com/panicroom/panicroom/contrib/echo"
)

func TestMain(m *testing.M) {
	// panicroom keeps its PIN in the user's config directory; none of
	// these tests needs it.
	dir, err := os.MkdirTemp("", "panicroomecho-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logs collects what panicroom logs, safely across goroutines.
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newDebugger(t *testing.T) (*panicroom.Debugger, *logs) {
	l := &logs{}
	d := panicroom.New(panicroom.WithLogger(slog.New(slog.NewTextHandler(l, nil))))
	t.Cleanup(func() { d.Close() })
	return d, l
}

func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	return e
}

func start(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type order struct {
	ID    string
	Items []int
}

// showOrder panics on order 7, which has no items; order 0 does not exist.
func showOrder(c echo.Context) error {
	o := order{ID: c.Param("id")}
	switch o.ID {
	case "0":
		return echo.NewHTTPError(http.StatusNotFound, "no order 0")
	case "7":
	default:
		o.Items = []int{250, 1200}
	}
	return c.JSON(http.StatusOK, map[string]int{"average": averageCents(o)})
}

func averageCents(o order) int {
	sum := 0
	for _, v := range o.Items {
		sum += v
	}
	return sum / len(o.Items)
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func do(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return resp, string(b)
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/__panicroom__/static/[^"]+)"`)

// checkAssets fetches every stylesheet and script page references from
// srv, and fails unless each answers 200 with its type: the page is
// unstyled and without consoles otherwise.
func checkAssets(t *testing.T, srv, page string) {
	t.Helper()
	refs := assetRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page references %d assets, want its 2 stylesheets and its script:\n%.600s", len(refs), page)
	}
	// The consoles' script and stylesheet are loaded by the page's script.
	paths := []string{"/__panicroom__/static/console.js", "/__panicroom__/static/console.css"}
	for _, m := range refs {
		paths = append(paths, m[1])
	}
	for _, p := range paths {
		resp, body := do(t, "GET", srv+p)
		want := "text/css"
		if name, _, _ := strings.Cut(p, "?"); strings.HasSuffix(name, ".js") {
			want = "text/javascript"
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || body == "" {
			t.Errorf("%s: %d %q, %d bytes; want 200 %s", p, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), want)
		}
	}
}

func TestPanicAnsweredWithThePage(t *testing.T) {
	d, logs := newDebugger(t)
	e := newEcho()
	statuses := make(chan int, 8)
	// A logger's place: before panicroom, it sees what was sent.
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			statuses <- c.Response().Status
			return err
		}
	}, panicroomecho.Middleware(d))
	e.GET("/orders/:id", showOrder)
	srv := start(t, e)

	resp, body := do(t, "GET", srv.URL+"/orders/7", "Accept", "text/html")
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("panic: %d %q\n%.400s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, fn := range []string{"showOrder", "averageCents", "integer divide by zero"} {
		if !strings.Contains(body, fn) {
			t.Errorf("the page lacks %q", fn)
		}
	}
	// The page is sent before the chain returns and before the log line.
	if got := <-statuses; got != 500 {
		t.Errorf("the middleware outside saw %d, want 500", got)
	}
	waitLog(t, logs, "panic: runtime error: integer divide by zero")
	checkAssets(t, srv.URL, body)
	if resp, body := do(t, "GET", srv.URL+"/orders/8"); resp.StatusCode != 200 || !strings.Contains(body, `"average":725`) {
		t.Errorf("a healthy request: %d %q", resp.StatusCode, body)
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

func waitLog(t *testing.T, l *logs, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", s, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The errors handlers return, and echo's own 404 and 405, go to the app's
// HTTPErrorHandler as they would without panicroom.
func TestErrorsReachTheErrorHandler(t *testing.T) {
	d, _ := newDebugger(t)
	e := newEcho()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		code := http.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		c.String(code, "the app's handler: "+strconv.Itoa(code))
	}
	e.Use(panicroomecho.Middleware(d))
	e.GET("/orders/:id", showOrder)
	srv := start(t, e)
	for path, want := range map[string]int{"/orders/0": 404, "/nope": 404} {
		if resp, body := do(t, "GET", srv.URL+path); resp.StatusCode != want || body != "the app's handler: "+strconv.Itoa(want) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, "POST", srv.URL+"/orders/8"); resp.StatusCode != 405 || body != "the app's handler: 405" {
		t.Errorf("a wrong method: %d %q", resp.StatusCode, body)
	}
}

// Every path of panicroom's answers as panicroom.Wrap answers it, whatever
// echo's routes: before routing (Pre) or after (Use), for a path no route
// matches (echo's 404) or one with a route for another method (its 405).
func TestOwnPathsAnswerAsWrapDoes(t *testing.T) {
	ref := start(t, panicroom.New().Wrap(http.NotFoundHandler()))
	resp, static := do(t, "GET", ref.URL+"/__panicroom__/static/panicroom.css")
	etag := resp.Header.Get("ETag")
	if etag == "" || static == "" {
		t.Fatal("panicroom's stylesheet has no ETag")
	}
	for _, how := range []string{"Use", "Pre"} {
		t.Run(how, func(t *testing.T) {
			d, _ := newDebugger(t)
			e := newEcho()
			if how == "Pre" {
				e.Pre(panicroomecho.Middleware(d))
			} else {
				e.Use(panicroomecho.Middleware(d))
			}
			e.GET("/orders/:id", showOrder)
			e.PUT("/__panicroom__/session", func(c echo.Context) error { return c.String(http.StatusTeapot, "the app's") })
			srv := start(t, e)
			for _, tc := range []struct {
				method, path string
				header       []string
			}{
				{"GET", "/__panicroom__/", []string{"Accept", "text/html"}},
				{"GET", "/__panicroom__/?format=json", nil},
				{"GET", "/__panicroom__", nil},
				{"GET", "/__panicroom__/static/panicroom.css", nil},
				{"GET", "/__panicroom__/static/chroma.css", nil},
				{"GET", "/__panicroom__/static/panicroom.js", nil},
				{"GET", "/__panicroom__/static/console.js", nil},
				{"GET", "/__panicroom__/static/panicroom.css", []string{"If-None-Match", etag}},
				{"GET", "/__panicroom__/static/nope.css", nil},
				{"GET", "/__panicroom__/panic/nope", nil},
				{"GET", "/__panicroom__/nope", nil},
				{"GET", "/__panicroom__/session", nil},
				{"POST", "/__panicroom__/session", nil},
				{"POST", "/__panicroom__/pin", nil},
				{"GET", "/__panicroom__/console", []string{"Accept", "text/html"}},
				{"GET", "/__panicroom__/console/ws", nil},
				{"GET", "/__panicroom__/console/ws", []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}},
			} {
				name := tc.method + " " + tc.path + " " + strings.Join(tc.header, " ")
				want, wantBody := do(t, tc.method, ref.URL+tc.path, tc.header...)
				got, gotBody := do(t, tc.method, srv.URL+tc.path, tc.header...)
				if got.StatusCode != want.StatusCode || got.Header.Get("Content-Type") != want.Header.Get("Content-Type") || got.Header.Get("Location") != want.Header.Get("Location") {
					t.Errorf("%s: echo answered %d %q %q, panicroom.Wrap %d %q %q\n%.300s", name, got.StatusCode, got.Header.Get("Content-Type"), got.Header.Get("Location"),
						want.StatusCode, want.Header.Get("Content-Type"), want.Header.Get("Location"), gotBody)
				}
				if strings.Contains(tc.path, "/static/") && gotBody != wantBody {
					t.Errorf("%s: the body differs from panicroom.Wrap's", name)
				}
			}
		})
	}
}

// A response whose body has started cannot become the page: the client
// must see it fail, never a complete-looking truncated one.
func TestPanicAfterTheBodyBreaksTheResponse(t *testing.T) {
	d, logs := newDebugger(t)
	e := newEcho()
	e.Use(panicroomecho.Middleware(d))
	e.GET("/report", func(c echo.Context) error {
		c.Response().WriteHeader(200)
		io.WriteString(c.Response(), "row 1\n")
		c.Response().Flush()
		var rows []string
		io.WriteString(c.Response(), rows[1])
		return nil
	})
	srv := start(t, e)
	resp, err := http.Get(srv.URL + "/report")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("the broken response read as complete: %d %q", resp.StatusCode, body)
	}
	waitLog(t, logs, "the response had already started")
}

// echo's Recover after panicroom's middleware (the inner one) answers the
// panic itself through the error handler; and it does the same to a whole
// Echo wrapped by panicroom. Both are said once in the log, with the fix.
func TestEchoRecoverInsideIsNamed(t *testing.T) {
	for _, tc := range []string{"after the middleware", "echo wrapped"} {
		t.Run(tc, func(t *testing.T) {
			d, logs := newDebugger(t)
			e := newEcho()
			var h http.Handler = e
			recoverer := middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true})
			if tc == "echo wrapped" {
				e.Use(recoverer)
				h = d.Wrap(e)
			} else {
				e.Use(panicroomecho.Middleware(d), recoverer)
			}
			e.GET("/orders/:id", showOrder)
			h, finished := finishing(h)
			srv := start(t, h)
			for i := range 2 {
				if resp, body := do(t, "GET", srv.URL+"/orders/7"); resp.StatusCode != 500 || !strings.Contains(body, `"message":"Internal Server Error"`) {
					t.Fatalf("request %d: echo's Recover answered %d %q", i, resp.StatusCode, body)
				}
			}
			// The warning is logged once the chain returns, after the
			// response.
			<-finished
			<-finished
			out := logs.String()
			if strings.Count(out, "recovered a handler's panic") != 1 || !strings.Contains(out, "RecoverWithConfig") || !strings.Contains(out, "labstack/echo/v4@") ||
				!strings.Contains(out, "panicroomecho.Recover()") {
				t.Fatalf("the log does not say once which recoverer and what to do:\n%s", out)
			}
		})
	}
}
