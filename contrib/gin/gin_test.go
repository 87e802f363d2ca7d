package panicroomgin_test

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom"
	panicroomgin "github.com/panicroom/panicroom/contrib/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	// panicroom keeps its PIN in the user's config directory; none of
	// these tests needs it.
	dir, err := os.MkdirTemp("", "panicroomgin-test")
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

func start(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type order struct {
	ID    string
	Items []int
}

// showOrder panics on order 7, which has no items.
func showOrder(c *gin.Context) {
	o := order{ID: c.Param("id")}
	if o.ID != "7" {
		o.Items = []int{250, 1200}
	}
	c.JSON(http.StatusOK, gin.H{"average": averageCents(o)})
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
	r := gin.New()
	statuses := make(chan int, 8)
	// A logger's place: before panicroom, it sees what was sent.
	r.Use(func(c *gin.Context) {
		c.Next()
		statuses <- c.Writer.Status()
	}, panicroomgin.Middleware(d))
	r.GET("/orders/:id", showOrder)
	srv := start(t, r)

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

// The hand-written adapter this package replaces served the stylesheets
// and scripts with gin's 404: gin runs the engine's middleware for a path
// no route matches after presetting that status. Every path of panicroom's
// must answer as panicroom.Wrap answers it, whatever gin's routes.
func TestOwnPathsAnswerAsWrapDoes(t *testing.T) {
	d, _ := newDebugger(t)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(panicroomgin.Middleware(d))
	r.NoRoute(func(c *gin.Context) { c.String(http.StatusNotFound, "the app's own 404") })
	r.NoMethod(func(c *gin.Context) { c.String(http.StatusMethodNotAllowed, "the app's own 405") })
	r.GET("/orders/:id", showOrder)
	// A route on one of panicroom's paths, for another method: gin's 405.
	r.PUT("/__panicroom__/session", func(c *gin.Context) { c.String(http.StatusTeapot, "the app's") })
	srv := start(t, r)
	ref := start(t, panicroom.New().Wrap(http.NotFoundHandler()))

	_, static := do(t, "GET", ref.URL+"/__panicroom__/static/panicroom.css")
	resp, _ := do(t, "GET", ref.URL+"/__panicroom__/static/panicroom.css")
	etag := resp.Header.Get("ETag")
	if etag == "" || static == "" {
		t.Fatal("panicroom's stylesheet has no ETag")
	}
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
			t.Errorf("%s: gin answered %d %q %q, panicroom.Wrap %d %q %q\n%.300s", name, got.StatusCode, got.Header.Get("Content-Type"), got.Header.Get("Location"),
				want.StatusCode, want.Header.Get("Content-Type"), want.Header.Get("Location"), gotBody)
		}
		if strings.Contains(tc.path, "/static/") && gotBody != wantBody {
			t.Errorf("%s: the body differs from panicroom.Wrap's", name)
		}
	}
	// gin's own answers are untouched.
	if resp, body := do(t, "GET", srv.URL+"/nope"); resp.StatusCode != 404 || body != "the app's own 404" {
		t.Errorf("an unmatched path: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, "POST", srv.URL+"/orders/8"); resp.StatusCode != 405 || body != "the app's own 405" {
		t.Errorf("a wrong method: %d %q", resp.StatusCode, body)
	}
}

// A panic in a middleware after panicroom's stops the chain there, as
// gin's Recovery does by aborting: gin would otherwise go on with the
// handlers after the one that panicked.
func TestPanicStopsTheChain(t *testing.T) {
	d, _ := newDebugger(t)
	r := gin.New()
	ran := make(chan string, 8)
	done := make(chan struct{}, 1)
	r.Use(func(c *gin.Context) {
		c.Next()
		done <- struct{}{}
	}, panicroomgin.Middleware(d), func(c *gin.Context) {
		if c.Query("auth") == "panic" {
			var claims map[string]string
			claims["user"] = "bob" // assignment to entry in nil map
		}
		c.Next()
	})
	r.GET("/account", func(c *gin.Context) {
		ran <- "handler"
		c.String(200, "secret account page")
	})
	srv := start(t, r)
	resp, body := do(t, "GET", srv.URL+"/account?auth=panic")
	if resp.StatusCode != 500 || !strings.Contains(body, "assignment to entry in nil map") || strings.Contains(body, "secret account page") {
		t.Fatalf("panic in a middleware: %d\n%.400s", resp.StatusCode, body)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the chain did not finish")
	}
	select {
	case who := <-ran:
		t.Fatalf("the %s ran after the middleware before it panicked", who)
	default:
	}
}

// gin sends a status with the first byte of the body: a handler that set
// one and then panicked has sent nothing, and still gets the page.
func TestStatusSetBeforePanicGetsThePage(t *testing.T) {
	d, _ := newDebugger(t)
	r := gin.New()
	r.Use(panicroomgin.Middleware(d))
	r.POST("/orders/:id", func(c *gin.Context) {
		c.Status(http.StatusCreated)
		c.Header("Location", "/orders/"+c.Param("id"))
		showOrder(c)
	})
	srv := start(t, r)
	resp, body := do(t, "POST", srv.URL+"/orders/7")
	if resp.StatusCode != 500 || !strings.HasPrefix(body, "panic: runtime error: integer divide by zero") || resp.Header.Get("Location") != "" {
		t.Fatalf("%d %v\n%.300s", resp.StatusCode, resp.Header, body)
	}
}

// A response whose body has started cannot become the page: the client
// must see it fail, never a complete-looking truncated one.
func TestPanicAfterTheBodyBreaksTheResponse(t *testing.T) {
	d, logs := newDebugger(t)
	r := gin.New()
	r.Use(panicroomgin.Middleware(d))
	r.GET("/report", func(c *gin.Context) {
		c.Writer.WriteHeader(200)
		c.Writer.WriteString("row 1\n")
		c.Writer.Flush()
		var rows []string
		c.Writer.WriteString(rows[1])
	})
	srv := start(t, r)
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

// A websocket handler takes the connection through gin's writer, and gin
// must know (it would write a status line on the hijacked connection).
func TestHandlerHijacksThroughGin(t *testing.T) {
	d, _ := newDebugger(t)
	r := gin.New()
	r.Use(panicroomgin.Middleware(d))
	var up websocket.Upgrader
	r.GET("/echo", func(c *gin.Context) {
		conn, err := up.Upgrade(c.Writer, c.Request, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_, msg, err := conn.ReadMessage()
		if err == nil {
			conn.WriteMessage(websocket.TextMessage, append([]byte("echo: "), msg...))
		}
	})
	var serverLog logs
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "echo: hi" {
		t.Fatalf("%q %v", msg, err)
	}
	conn.Close()
	time.Sleep(50 * time.Millisecond)
	if s := serverLog.String(); s != "" {
		t.Errorf("net/http complained:\n%s", s)
	}
}

// gin's Recovery after panicroom's middleware (the inner one) answers the
// panic itself; and gin.Default's Recovery does the same to a whole engine
// wrapped by panicroom. Both are said once in the log, with the fix.
func TestGinRecoveryInsideIsNamed(t *testing.T) {
	for _, tc := range []string{"after the middleware", "engine wrapped"} {
		t.Run(tc, func(t *testing.T) {
			d, logs := newDebugger(t)
			r := gin.New()
			var h http.Handler = r
			if tc == "engine wrapped" {
				r.Use(gin.RecoveryWithWriter(io.Discard))
				h = d.Wrap(r)
			} else {
				r.Use(panicroomgin.Middleware(d), gin.RecoveryWithWriter(io.Discard))
			}
			r.GET("/orders/:id", showOrder)
			h, finished := finishing(h)
			srv := start(t, h)
			for i := range 2 {
				if resp, body := do(t, "GET", srv.URL+"/orders/7"); resp.StatusCode != 500 || body != "" {
					t.Fatalf("request %d: gin's Recovery answered %d %q", i, resp.StatusCode, body)
				}
			}
			// The warning is logged once the chain returns, after the
			// response.
			<-finished
			<-finished
			out := logs.String()
			if strings.Count(out, "recovered a handler's panic") != 1 || !strings.Contains(out, "CustomRecoveryWithWriter") || !strings.Contains(out, "gin-gonic/gin@") ||
				!strings.Contains(out, "panicroomgin.Recovery()") || !strings.Contains(out, "gin.New()") {
				t.Fatalf("the log does not say once which recoverer and what to do:\n%s", out)
			}
		})
	}
}

func TestHijackRefusedAfterBodyAsGinRefusesIt(t *testing.T) {
	d, _ := newDebugger(t)
	r := gin.New()
	r.Use(panicroomgin.Middleware(d))
	hijackErr := make(chan error, 1)
	r.GET("/late", func(c *gin.Context) {
		c.Writer.WriteString("body first")
		_, _, err := c.Writer.Hijack()
		hijackErr <- err
	})
	srv := start(t, r)
	if resp, body := do(t, "GET", srv.URL+"/late"); resp.StatusCode != 200 || body != "body first" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if err := <-hijackErr; err == nil || !strings.Contains(err.Error(), "already written") {
		t.Fatalf("hijack after a body: %v, want gin's refusal", err)
	}
}
