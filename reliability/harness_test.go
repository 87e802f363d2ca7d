package reliability

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/internal/relreport"
	"github.com/panicroom/panicroom/internal/testapp"
)

const (
	appPkg = "github.com/panicroom/panicroom/reliability/testdata/app"
	// appName is the fixture binary's name, and so the comm of the app, its
	// agent and the agent's guardian in /proc.
	appName = "reliabilityapp"
	testPIN = "123-456-789"

	startTimeout  = 30 * time.Second
	attachTimeout = 60 * time.Second
)

// full is set for the published run; the short form (CI, plain go test)
// runs the same tests with fewer iterations.
var full = os.Getenv("PANICROOM_RELIABILITY") == "full"

// scale picks an iteration count for the form being run.
func scale(short, long int) int {
	if full {
		return long
	}
	return short
}

var results relreport.Results

func TestMain(m *testing.M) {
	code := m.Run()
	testapp.Cleanup()
	if err := results.WriteRequested(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: writing results:", err)
		code = 1
	}
	os.Exit(code)
}

// finish records what a test measured, marked failed if the test failed.
// Tests defer it with their Result filled in as they go.
func finish(t *testing.T, r *relreport.Result) {
	r.Failed = r.Failed || t.Failed()
	results.Add(*r)
	t.Logf("%s: %d/%d %s; %s", r.Test, r.Survived, r.Iterations, r.Outcome, strings.Join(r.Figures, "; "))
}

// fixture builds the app once per test binary, the way its users are told
// to: optimizations and inlining off.
func fixture() (string, error) { return testapp.BuildAs(appPkg, appName) }

// An app is one running process of the fixture.
type app struct {
	*testapp.Process
	t *testing.T

	// The session endpoint answers its status only to a signed-in page,
	// as to any browser: status signs in once, through the top-level
	// console page's secret and the PIN.
	sessMu     sync.Mutex
	sessSecret string
	sessCookie *http.Cookie
}

func (a *app) pid() int { return a.Pid() }

// startApp runs the fixture on a free loopback port, in a process group of
// its own, until the test ends.
func startApp(t *testing.T, args ...string) *app {
	t.Helper()
	exe, err := fixture()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testapp.Start(exe, append([]string{"-addr", "127.0.0.1:0"}, args...),
		[]string{"XDG_CONFIG_HOME=" + t.TempDir(), "PANICROOM_PIN=" + testPIN}, startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{Process: p, t: t}
	t.Cleanup(func() {
		a.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("app standard error (first 6 KiB, last 2 KiB):\n%s", headTail(a.Log(), 6<<10, 2<<10))
		}
	})
	return a
}

func headTail(s string, head, tail int) string {
	if len(s) <= head+tail {
		return s
	}
	return s[:head] + "\n[...]\n" + s[len(s)-tail:]
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop sends sig to the app's process group, kills the group if it has not
// exited 5 s later, and reaps the app. It returns how long the exit took and
// whether it needed the kill.
func (a *app) stop(sig syscall.Signal) (took time.Duration, killed bool) { return a.Stop(sig) }

// alive reports whether the app process is still running: not exited, not
// a zombie, and not stopped for longer than a debugger stop or the
// guardian's continue take (2 s).
func (a *app) alive() bool {
	deadline := time.Now().Add(2 * time.Second)
	for {
		switch procfs.State(a.pid()) {
		case 0, 'Z', 'X':
			return false
		case 'T', 't':
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(10 * time.Millisecond)
		default:
			return true
		}
	}
}

// procParent returns the ppid and comm of pid.
func procParent(pid int) (ppid int, comm string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < 0 || end+2 >= len(s) {
		return 0, ""
	}
	f := strings.Fields(s[end+2:])
	if len(f) > 1 {
		ppid, _ = strconv.Atoi(f[1])
	}
	return ppid, s[open+1 : end]
}

// client is used for every request of the suite: loopback only, each
// request bounded.
var client = &http.Client{
	Timeout: 15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0},
}

// slowClient is for the panics of the load test: a thousand pages at once,
// each rendered while the agent snapshots the others, may take longer than
// a healthy request ever should.
var slowClient = &http.Client{Timeout: 90 * time.Second, Transport: client.Transport}

// get fetches path and returns the status and body.
func (a *app) get(path string, header ...string) (int, string, error) {
	return a.getWith(client, path, header...)
}

func (a *app) getSlow(path string, header ...string) (int, string, error) {
	return a.getWith(slowClient, path, header...)
}

func (a *app) getWith(c *http.Client, path string, header ...string) (int, string, error) {
	req, err := http.NewRequest("GET", a.URL+path, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// status is the console's state as the session endpoint reports it.
type status struct {
	State    string
	Reason   string
	Fix      string
	Restarts int
	AgentPID int
}

func (a *app) status() (status, error) {
	secret, cookie, err := a.session()
	if err != nil {
		return status{}, err
	}
	code, body, err := a.get("/__panicroom__/session", "X-Panicroom-Secret", secret, "Cookie", cookie.String())
	if err != nil {
		return status{}, err
	}
	if code != http.StatusOK {
		a.sessMu.Lock()
		a.sessCookie = nil
		a.sessMu.Unlock()
		return status{}, fmt.Errorf("session answered %d: %s", code, body)
	}
	var s struct{ Status status }
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return status{}, fmt.Errorf("session answer %q: %w", body, err)
	}
	return s.Status, nil
}

// session returns the page secret and a PIN cookie, signing in the first
// time.
func (a *app) session() (string, *http.Cookie, error) {
	a.sessMu.Lock()
	defer a.sessMu.Unlock()
	if a.sessCookie != nil {
		return a.sessSecret, a.sessCookie, nil
	}
	_, body, err := a.get("/__panicroom__/console", "Accept", "text/html")
	if err != nil {
		return "", nil, err
	}
	m := secretMeta.FindStringSubmatch(body)
	if m == nil {
		return "", nil, fmt.Errorf("no secret in the console page: %.300s", body)
	}
	c, err := a.login(m[1])
	if err != nil {
		return "", nil, err
	}
	a.sessSecret, a.sessCookie = m[1], c
	return a.sessSecret, a.sessCookie, nil
}

// waitStatus polls the session endpoint until ok accepts the status.
func (a *app) waitStatus(what string, timeout time.Duration, ok func(status) bool) status {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	var last status
	for {
		st, err := a.status()
		if err == nil && ok(st) {
			return st
		}
		if err == nil {
			last = st
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("waiting for %s: last status %+v (err %v)", what, last, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *app) waitAttached() status {
	a.t.Helper()
	testapp.SkipWithoutConsole(a.t)
	return a.waitStatus("the agent to attach", attachTimeout, func(s status) bool { return s.State == "attached" && s.AgentPID != 0 })
}

var (
	secretMeta = regexp.MustCompile(`<meta name="panicroom-secret" content="([^"]*)"`)
	panicAttr  = regexp.MustCompile(`<body[^>]* data-panic="([^"]*)"`)
)

// panicPage requests /panic?query as a browser would and returns the
// panic's id and the page secret.
func (a *app) panicPage(query string) (id, secret string, err error) {
	code, body, err := a.get("/panic?"+query, "Accept", "text/html")
	if err != nil {
		return "", "", err
	}
	if code != http.StatusInternalServerError {
		return "", "", fmt.Errorf("panic page answered %d", code)
	}
	m, s := panicAttr.FindStringSubmatch(body), secretMeta.FindStringSubmatch(body)
	if m == nil || s == nil {
		return "", "", fmt.Errorf("no panic id or secret in the page: %.300s", body)
	}
	return m[1], s[1], nil
}

// frameOf returns the page index of the frame whose function ends in fn.
func (a *app) frameOf(id, fn string) (int, error) {
	_, body, err := a.get("/__panicroom__/panic/" + id + "?format=json")
	if err != nil {
		return 0, err
	}
	var p struct {
		Frames []struct {
			Index    int
			Function string
		}
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return 0, err
	}
	for _, f := range p.Frames {
		if strings.HasSuffix(f.Function, fn) {
			return f.Index, nil
		}
	}
	return 0, fmt.Errorf("no frame %s in panic %s", fn, id)
}

// login enters the PIN and returns the cookie it earns.
func (a *app) login(secret string) (*http.Cookie, error) {
	resp, err := a.postPIN(secret, testPIN, nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("PIN answered %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		return c, nil
	}
	return nil, fmt.Errorf("no cookie after the right PIN")
}

func (a *app) postPIN(secret, pin string, edit func(*http.Request)) (*http.Response, error) {
	req, err := http.NewRequest("POST", a.URL+"/__panicroom__/pin", strings.NewReader(url.Values{"pin": {pin}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Panicroom-Secret", secret)
	if edit != nil {
		edit(req)
	}
	return client.Do(req)
}

// A console is one websocket session, as a page's script opens it.
type console struct {
	c      *websocket.Conn
	nextID int64
}

type value struct {
	Name, Type, Kind, Value string
	Unreadable              string
}

type answer struct {
	ID     int64
	Op     string
	Value  *value
	Vars   json.RawMessage
	Status *status
	Error  *struct {
		Code, Message, Hint string
	}
}

func (a *app) wsURL() string {
	return "ws" + strings.TrimPrefix(a.URL, "http") + "/__panicroom__/console/ws"
}

// secretProtocols is the Sec-WebSocket-Protocol a page offers: the
// console's own, and the one that carries its secret.
func secretProtocols(secret string) string {
	return "panicroom, panicroom.secret." + secret
}

// dial opens a console with the secret and the cookie, as the page does.
func (a *app) dial(secret string, cookie *http.Cookie) (*console, *http.Response, error) {
	h := http.Header{"Origin": {a.URL}, "Sec-Websocket-Protocol": {secretProtocols(secret)}}
	if cookie != nil {
		h.Set("Cookie", cookie.String())
	}
	return a.dialWith(a.wsURL(), h)
}

func (a *app) dialWith(u string, h http.Header) (*console, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(u, h)
	if err != nil {
		return nil, resp, err
	}
	con := &console{c: c}
	// The first message is the console's status.
	var first answer
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&first); err != nil || first.Op != "status" {
		c.Close()
		return nil, resp, fmt.Errorf("first message %+v: %v", first, err)
	}
	return con, resp, nil
}

// send writes one request and returns its id.
func (c *console) send(req map[string]any) (int64, error) {
	c.nextID++
	req["id"] = c.nextID
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.nextID, c.c.WriteJSON(req)
}

// read reads the next answer within timeout.
func (c *console) read(timeout time.Duration) (answer, error) {
	var ans answer
	c.c.SetReadDeadline(time.Now().Add(timeout))
	err := c.c.ReadJSON(&ans)
	return ans, err
}

// eval evaluates expr in frame of panic id and waits for its answer.
func (c *console) eval(id string, frame int, expr string, timeout time.Duration) (answer, error) {
	n, err := c.send(map[string]any{"op": "eval", "panic": id, "frame": frame, "expr": expr})
	if err != nil {
		return answer{}, err
	}
	ans, err := c.read(timeout)
	if err == nil && ans.ID != n {
		err = fmt.Errorf("answer %d to request %d: out of order", ans.ID, n)
	}
	return ans, err
}

func (c *console) close() { c.c.Close() }

// session is a logged-in console on a fresh panic of a: its id, the index
// of the frame "check" (order, total, label), and the console.
type session struct {
	id     string
	secret string
	cookie *http.Cookie
	frame  int
	con    *console
}

// newSession opens a console on a new panic of the app. A collection that
// ends between a panic and the debugger's snapshot of its frames makes
// panicroom release the goroutine, with that reason (the
// frames' objects may have been freed): the right answer, and not what the
// tests that open a session are about, so such a panic is replaced by a
// new one, twice at most.
func (a *app) newSession(query string) *session {
	a.t.Helper()
	for attempt := 1; ; attempt++ {
		id, secret, err := a.panicPage(query)
		if err != nil {
			a.t.Fatal(err)
		}
		frame, err := a.frameOf(id, "main.check")
		if err != nil {
			a.t.Fatal(err)
		}
		cookie, err := a.login(secret)
		if err != nil {
			a.t.Fatal(err)
		}
		con, _, err := a.dial(secret, cookie)
		if err != nil {
			a.t.Fatal(err)
		}
		a.t.Cleanup(con.close)
		s := &session{id: id, secret: secret, cookie: cookie, frame: frame, con: con}
		if attempt < 3 && a.lostToCollection(con, id) {
			a.t.Logf("panic %d was released before its snapshot (a collection ran); again", attempt)
			con.close()
			continue
		}
		return s
	}
}

// lostToCollection waits for panic id's snapshot, which is delivered only
// after panicroom has decided whether a collection cost the panic its
// frames, and then reads that decision from the panic's page. (An eval
// could be answered before the decision, and the release that follows it
// happens on its own goroutine: a session could pass that check and lose
// its frames a moment later.)
func (a *app) lostToCollection(con *console, id string) bool {
	a.t.Helper()
	n, err := con.send(map[string]any{"op": "snapshot", "panic": id})
	if err != nil {
		a.t.Fatal(err)
	}
	if ans, err := con.read(30 * time.Second); err != nil || ans.ID != n {
		a.t.Fatalf("snapshot of panic %s: answer %d to request %d (%v)", id, ans.ID, n, err)
	}
	_, page, err := a.get("/__panicroom__/panic/"+id, "Accept", "text/html")
	if err != nil {
		a.t.Fatal(err)
	}
	i := strings.Index(page, "The goroutine was released: ")
	if i < 0 || !strings.Contains(page[i:], "garbage collection") {
		return false
	}
	why, _, _ := strings.Cut(page[i:], ". Values shown")
	a.t.Logf("panic %s: %s", id, html.UnescapeString(why))
	return true
}

// mustEval evaluates expr and fails the test unless the value is want.
func (s *session) mustEval(t *testing.T, expr, want string) {
	t.Helper()
	ans, err := s.con.eval(s.id, s.frame, expr, 30*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if ans.Error != nil || ans.Value == nil || ans.Value.Value != want {
		t.Fatalf("%s = %+v (error %+v), want %s", expr, ans.Value, ans.Error, want)
	}
}

// healthy hits /ok every interval until stop is closed, and counts
// requests and failures.
type healthy struct {
	mu       sync.Mutex
	ok, fail int
	errs     []string
	worst    time.Duration
}

func (a *app) watchHealth(interval time.Duration) (h *healthy, stop func()) {
	h = &healthy{}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
			start := time.Now()
			code, body, err := a.get("/ok")
			took := time.Since(start)
			h.mu.Lock()
			h.worst = max(h.worst, took)
			if err == nil && code == 200 && body == "ok\n" {
				h.ok++
			} else {
				h.fail++
				if len(h.errs) < 5 {
					h.errs = append(h.errs, fmt.Sprintf("%d %v", code, err))
				}
			}
			h.mu.Unlock()
		}
	}()
	return h, func() { close(done); <-finished }
}

// check evaluates pairs of expression and wanted value, and returns the
// first mismatch.
func (s *session) check(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		ans, err := s.con.eval(s.id, s.frame, pairs[i], 30*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", pairs[i], err)
		}
		if ans.Error != nil || ans.Value == nil || ans.Value.Value != pairs[i+1] {
			return fmt.Errorf("%s = %+v (error %+v), want %s", pairs[i], ans.Value, ans.Error, pairs[i+1])
		}
	}
	return nil
}
