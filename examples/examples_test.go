package examples_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const testPIN = "123-456-789"

// Each example, with what it answers for a path no route matches: the
// framework's own 404, which panicroom must leave alone.
//
// accessLog matches the line the example's access logger writes for the
// panicking request, which must be there, with its 500, while panicroom
// keeps the goroutine parked.
var examples = []struct {
	name      string
	notFound  string
	accessLog string
}{
	{"nethttp", "404 page not found\n", ""},
	{"chi", "404 page not found\n", `"GET http://127\.0\.0\.1:\d+/orders/7 HTTP/1\.1" from 127\.0\.0\.1:\d+ - 500 \d+B`},
	{"gorillamux", "404 page not found\n", ""},
	{"gin", "404 page not found", `\| 500 \|.*\| +127\.0\.0\.1 \| GET +"/orders/7"`},
	{"echo", `{"message":"Not Found"}` + "\n", `REQUEST.*method=GET uri=/orders/7 status=500`},
}

// Every example, built as its users are told to build it, runs as a
// process of its own: a panic answers with the page and the app's frames,
// every stylesheet and script the page references answers 200 with its
// type, and the console evaluates the handler's locals in the parked
// goroutine.
func TestExamples(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the console runs on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	dir := t.TempDir()
	args := []string{"build", "-gcflags=all=-N -l", "-o", dir + string(filepath.Separator)}
	for _, ex := range examples {
		args = append(args, "./"+ex.name)
	}
	// One go build for all of them: they share panicroom and Delve,
	// compiled once without optimizations.
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			a := start(t, filepath.Join(dir, ex.name))

			if code, body := a.get(t, "/nope"); code != 404 || body != ex.notFound {
				t.Errorf("a path no route matches: %d %q, want the framework's own 404 %q", code, body, ex.notFound)
			}
			if code, body := a.get(t, "/orders/1"); code != 200 || !strings.Contains(body, "Ada") {
				t.Errorf("a healthy order: %d %q", code, body)
			}

			secret, cookie := a.signIn(t)
			a.waitAttached(t, secret, cookie)

			// A collection that ends between the panic and the debugger's
			// snapshot of its frames makes panicroom release the goroutine
			// rather than trust them (the page says so). At the small heap
			// of a fresh app that is likely enough to allow a retry on a
			// new panic.
			for attempt := 1; ; attempt++ {
				released := a.inspectPanic(t, ex.name, ex.accessLog, cookie)
				if released == "" {
					break
				}
				if attempt == 3 {
					t.Fatalf("the goroutine of each of %d panics was released before the console could read it; the last: %s", attempt, released)
				}
				t.Logf("panic %d: %s; again", attempt, released)
			}
		})
	}
}

// inspectPanic makes the app panic, checks the page, its assets and the
// log, and evaluates the handler's locals in the console. It returns why,
// when the panic's goroutine was released before its frames could be read.
func (a *app) inspectPanic(t *testing.T, name, accessLog, cookie string) (released string) {
	t.Helper()
	before := len(a.log())
	page := a.panicPage(t)
	for _, want := range []string{`<span class="name">showOrder</span>`, `<span class="name">averageCents</span>`, "integer divide by zero", "/examples/" + name + "/main.go"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	a.checkAssets(t, page)

	id := match(t, page, `<body[^>]* data-panic="([^"]*)"`)
	// The line is logged once the page is sent.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(a.log(), "page="+a.url+"/__panicroom__/panic/"+id); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the log does not give the page's URL:\n%s", a.log())
			break
		}
	}
	if accessLog != "" {
		// The framework's logger, outside panicroom, logs the panicking
		// request as it logs any: the console below proves the goroutine
		// is parked meanwhile.
		re := regexp.MustCompile(accessLog)
		for deadline := time.Now().Add(5 * time.Second); !re.MatchString(a.log()[before:]); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("the access log has no line matching %s for the panicking request:\n%s", accessLog, a.log()[before:])
				break
			}
		}
	}
	frame := a.frameOf(t, id, "main.showOrder")
	con := a.dial(t, match(t, page, `<meta name="panicroom-secret" content="([^"]*)"`), cookie)
	for _, tc := range []struct{ expr, want string }{
		{"len(order.Items)", "0"},
		{"id", `"7"`},
		{"order.Customer", `"Grace"`},
	} {
		got, code, msg := con.eval(t, id, frame, tc.expr)
		if code == "released" {
			return msg
		}
		if code != "" || got != tc.want {
			t.Errorf("%s = %s (error %s: %s), want %s", tc.expr, got, code, msg, tc.want)
		}
	}
	return ""
}

type app struct {
	url    string
	cmd    *exec.Cmd
	stderr *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (a *app) log() string { return a.stderr.String() }

// start runs exe on a free loopback port in a process group of its own (it
// starts the debugger's agent, which must go with it), and returns once it
// says where it listens.
func start(t *testing.T, exe string) *app {
	t.Helper()
	cmd := exec.Command(exe, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PANICROOM_PIN="+testPIN, "XDG_CONFIG_HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	a := &app{cmd: cmd, stderr: &logBuffer{}}
	// The access loggers of chi and gin write to standard output: kept
	// with standard error, line by line.
	cmd.Stdout = a.stderr
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fmt.Fprintln(a.stderr, sc.Text())
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case listening <- strings.TrimSuffix(strings.TrimSpace(u), "/"):
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s's standard error:\n%s", filepath.Base(exe), a.log())
		}
	})
	select {
	case a.url = <-listening:
	case <-done:
		t.Fatalf("%s exited before listening:\n%s", exe, a.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not say where it listens within 30 s:\n%s", exe, a.log())
	}
	return a
}

var client = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (a *app) do(t *testing.T, method, path string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp, string(b)
}

func (a *app) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	resp, body := a.do(t, "GET", path, nil, header...)
	return resp.StatusCode, body
}

func match(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%.600s", re, s)
	}
	return m[1]
}

// signIn enters the PIN, as the console page does, with the secret of the
// page, and returns the secret and the cookie the PIN earns.
func (a *app) signIn(t *testing.T) (string, string) {
	t.Helper()
	code, page := a.get(t, "/__panicroom__/console", "Accept", "text/html")
	if code != 200 {
		t.Fatalf("the console page: %d\n%.300s", code, page)
	}
	secret := match(t, page, `<meta name="panicroom-secret" content="([^"]*)"`)
	resp, body := a.do(t, "POST", "/__panicroom__/pin", strings.NewReader(url.Values{"pin": {testPIN}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "X-Panicroom-Secret", secret)
	if resp.StatusCode != 200 || len(resp.Cookies()) == 0 {
		t.Fatalf("the PIN: %d, %d cookies: %s", resp.StatusCode, len(resp.Cookies()), body)
	}
	return secret, resp.Cookies()[0].String()
}

// waitAttached waits for the debugger's agent: goroutines are parked only
// while the console can use them.
func (a *app) waitAttached(t *testing.T, secret, cookie string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := a.get(t, "/__panicroom__/session", "X-Panicroom-Secret", secret, "Cookie", cookie)
		var s struct {
			Status struct{ State, Reason string }
		}
		if code == 200 && json.Unmarshal([]byte(body), &s) == nil && s.Status.State == "attached" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not attach within 60 s: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// panicPage requests the panicking order as a browser does, on a
// connection of its own: the page must come complete, and the connection
// stay usable, while the handler's goroutine stays parked and never
// returns.
func (a *app) panicPage(t *testing.T) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(a.url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "GET /orders/7 HTTP/1.1\r\nHost: %s\r\nAccept: text/html\r\n\r\n", strings.TrimPrefix(a.url, "http://"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the page: %v", err)
	}
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("the page: %d %q\n%.400s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// The request ended as any other while its handler's goroutine is
	// parked: the same connection serves the next one.
	fmt.Fprintf(conn, "GET /orders/1 HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(a.url, "http://"))
	if next, err := http.ReadResponse(br, nil); err != nil || next.StatusCode != 200 {
		t.Errorf("the connection after the page does not serve the next request: %v", err)
	} else {
		next.Body.Close()
	}
	return string(body)
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/__panicroom__/static/[^"]+)"`)

func (a *app) checkAssets(t *testing.T, page string) {
	t.Helper()
	refs := assetRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page references %d assets, want its 2 stylesheets and its script", len(refs))
	}
	// The consoles' script and stylesheet are loaded by the page's script.
	paths := []string{"/__panicroom__/static/console.js", "/__panicroom__/static/console.css"}
	for _, m := range refs {
		paths = append(paths, m[1])
	}
	for _, p := range paths {
		resp, body := a.do(t, "GET", p, nil)
		want := "text/css"
		if name, _, _ := strings.Cut(p, "?"); strings.HasSuffix(name, ".js") {
			want = "text/javascript"
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) || body == "" {
			t.Errorf("%s: %d %q, %d bytes; want 200 %s", p, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), want)
		}
	}
}

// frameOf returns the page's index of the frame of function fn.
func (a *app) frameOf(t *testing.T, id, fn string) int {
	t.Helper()
	code, body := a.get(t, "/__panicroom__/panic/"+id+"?format=json")
	var p struct {
		Frames []struct {
			Index    int
			Function string
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil {
		t.Fatalf("the page as JSON: %d %.300s", code, body)
	}
	for _, f := range p.Frames {
		if f.Function == fn {
			return f.Index
		}
	}
	t.Fatalf("no frame %s in %s", fn, body)
	return 0
}

type console struct {
	c      *websocket.Conn
	nextID int
}

// dial opens the console's websocket as the page's script does: the
// page's origin, the PIN's cookie, and the secret as a subprotocol.
func (a *app) dial(t *testing.T, secret, cookie string) *console {
	t.Helper()
	h := http.Header{
		"Origin":                 {a.url},
		"Sec-Websocket-Protocol": {"panicroom, panicroom.secret." + secret},
		"Cookie":                 {cookie},
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(a.url, "http")+"/__panicroom__/console/ws", h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("the console's websocket: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	var first struct{ Op string }
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&first); err != nil || first.Op != "status" {
		t.Fatalf("the console's first message: %+v, %v", first, err)
	}
	return &console{c: c}
}

// eval evaluates expr in frame of panic id and returns its value, or the
// code and message of the error the console answered.
func (con *console) eval(t *testing.T, id string, frame int, expr string) (value, code, msg string) {
	t.Helper()
	con.nextID++
	con.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := con.c.WriteJSON(map[string]any{"id": con.nextID, "op": "eval", "panic": id, "frame": frame, "expr": expr}); err != nil {
		t.Fatal(err)
	}
	var ans struct {
		ID    int
		Value *struct{ Value string }
		Error *struct{ Code, Message string }
	}
	con.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := con.c.ReadJSON(&ans); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	switch {
	case ans.ID != con.nextID:
		t.Fatalf("%s: the answer to request %d came for request %d", expr, con.nextID, ans.ID)
	case ans.Error != nil:
		return "", ans.Error.Code, ans.Error.Message
	case ans.Value == nil:
		t.Fatalf("%s: an answer with neither a value nor an error", expr)
	}
	return ans.Value.Value, "", ""
}
