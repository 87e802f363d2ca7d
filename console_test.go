//go:build !panicroom_off

package panicroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/pin"
)

// consoleServer serves a Debugger on loopback and returns it with the page
// secret a traceback page would carry.
func consoleServer(t *testing.T) (*httptest.Server, *Debugger, string) {
	d, _ := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(panicky))
	if d.guard == nil {
		t.Fatalf("no PIN guard: %v", d.guardErr)
	}
	return srv, d, d.guard.Secret()
}

func do(t *testing.T, method, u string, hdr http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestConsoleGate walks the attacks on the console's HTTP endpoints, each
// refused with its status, then the way in: the right PIN.
func TestConsoleGate(t *testing.T) {
	srv, _, secret := consoleServer(t)
	withSecret := http.Header{"X-Panicroom-Secret": {secret}}
	for _, tc := range []struct {
		name, method, path string
		hdr                http.Header
		host, body         string
		status             int
		reason             string
	}{
		{"session without the page secret", "GET", "session", nil, "", "", 403, "secret"},
		{"session with a wrong secret", "GET", "session", http.Header{"X-Panicroom-Secret": {"guess"}}, "", "", 403, "secret"},
		{"session without the PIN", "GET", "session", withSecret, "", "", 401, "PIN"},
		{"DNS rebinding", "GET", "session", withSecret, "evil.example", "", 403, "not trusted"},
		{"cross-site POST of a PIN (CSRF)", "POST", "pin", http.Header{"X-Panicroom-Secret": {secret}, "Origin": {"http://evil.example"}}, "", "pin=" + testPIN, 403, "rigin"},
		{"PIN without the secret", "POST", "pin", nil, "", "pin=" + testPIN, 403, "secret"},
		{"wrong PIN", "POST", "pin", withSecret, "", "pin=000-000-000", 401, "Wrong PIN"},
		{"print the PIN without the secret", "POST", "pin/print", nil, "", "", 403, "secret"},
		{"websocket without the PIN", "GET", "console/ws", handshake(srv.URL, secretProtocols(secret)), "", "", 401, "PIN"},
		{"websocket with the secret in the URL", "GET", "console/ws?secret=" + secret, handshake(srv.URL, ""), "", "", 403, "sent in the URL"},
		{"session with the secret in the URL", "GET", "session?secret=" + secret, nil, "", "", 403, "sent in the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+Prefix+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.hdr {
				req.Header[k] = v
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.reason) {
				t.Errorf("%s %s: %d %q; want %d mentioning %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.reason)
			}
			if strings.Contains(string(b), testPIN) || strings.Contains(string(b), strings.ReplaceAll(testPIN, "-", "")) {
				t.Error("a refusal revealed the PIN")
			}
		})
	}

	// The right PIN gives a cookie, the cookie opens the session and the
	// websocket, and only together with the secret and the same origin.
	resp, _ := do(t, "POST", srv.URL+Prefix+"pin", withSecret, "pin="+url.QueryEscape(testPIN))
	if resp.StatusCode != 200 {
		t.Fatalf("right PIN: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != Prefix {
		t.Fatalf("PIN cookie %+v: want HttpOnly, SameSite=Strict, Path=%s", cookie, Prefix)
	}
	withCookie := http.Header{"X-Panicroom-Secret": {secret}, "Cookie": {cookie.String()}}
	if resp, body := do(t, "GET", srv.URL+Prefix+"session", withCookie, ""); resp.StatusCode != 200 || !strings.Contains(body, `"ok": true`) {
		t.Errorf("session with the cookie: %d %s", resp.StatusCode, body)
	}
	forged := http.Header{"X-Panicroom-Secret": {secret}, "Cookie": {cookie.Name + "=" + strings.Repeat("A", len(cookie.Value))}}
	if resp, _ := do(t, "GET", srv.URL+Prefix+"session", forged, ""); resp.StatusCode != 401 {
		t.Errorf("forged cookie: %d, want 401", resp.StatusCode)
	}

	c := dialConsole(t, srv, secret, cookie)
	if c.Subprotocol() != "panicroom" {
		t.Errorf("the handshake selected subprotocol %q, want panicroom", c.Subprotocol())
	}
	c.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + Prefix + "console/ws"
	protocols := secretProtocols(secret)
	// The wrong secret starts with "0", outside rand.Text's base32
	// alphabet: "A" + secret[1:] was the secret itself once in 32 runs (CI).
	for name, h := range map[string]http.Header{
		"cross-site websocket":       {"Origin": {"http://evil.example"}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {protocols}},
		"no origin":                  {"Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {protocols}},
		"websocket without a secret": {"Origin": {srv.URL}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {"panicroom"}},
		"wrong secret":               {"Origin": {srv.URL}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {secretProtocols("0" + secret[1:])}},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Errorf("%s: err %v, resp %v; want 403", name, err, resp)
		}
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL+"?secret="+url.QueryEscape(secret), http.Header{"Origin": {srv.URL}, "Cookie": {cookie.String()}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("websocket with the secret in the URL: err %v, resp %v; want 403", err, resp)
	}
}

// secretProtocols is the Sec-WebSocket-Protocol the page offers.
func secretProtocols(secret string) string {
	return "panicroom, " + pin.SecretProtocol + secret
}

// handshake is the header of a WebSocket handshake from origin, offering
// protocols if they are not empty.
func handshake(origin, protocols string) http.Header {
	h := http.Header{"Origin": {origin}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	if protocols != "" {
		h.Set("Sec-Websocket-Protocol", protocols)
	}
	return h
}

// TestNonLoopbackRemoteRefused checks the remote-address rule through the
// handler directly: a loopback test server cannot send from elsewhere.
func TestNonLoopbackRemoteRefused(t *testing.T) {
	d, _ := newTestDebugger(t)
	req := httptest.NewRequest("GET", Prefix+"session", nil)
	req.Host = "localhost:8080"
	req.RemoteAddr = "192.0.2.7:5000"
	req.Header.Set("X-Panicroom-Secret", d.guard.Secret())
	rec := httptest.NewRecorder()
	d.Wrap(nil).ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "192.0.2.7") {
		t.Errorf("remote address: %d %s", rec.Code, rec.Body.String())
	}
}

// TestPagesDoNotLeakThePIN makes sure no page or asset carries the PIN.
func TestPagesDoNotLeakThePIN(t *testing.T) {
	srv, _, _ := consoleServer(t)
	_, page := get(t, srv.URL+"/boom", "text/html")
	for _, p := range []string{"", "static/panicroom.js", "static/console.js", "static/panicroom.css", "console"} {
		_, b := get(t, srv.URL+Prefix+p, "text/html")
		page += b
	}
	for _, form := range []string{testPIN, strings.ReplaceAll(testPIN, "-", "")} {
		if strings.Contains(page, form) {
			t.Fatalf("a page or asset contains the PIN")
		}
	}
}

// A refused /session says why and nothing about the process: no agent
// status (its pid, its stop count), no PIN state beyond what a page holder
// needs to know whether to ask for the PIN.
func TestSessionRefusalRevealsNothing(t *testing.T) {
	srv, _, secret := consoleServer(t)
	for _, tc := range []struct {
		name string
		hdr  http.Header
		want []string
	}{
		{"no secret", nil, []string{"ok", "reason"}},
		{"no PIN", http.Header{"X-Panicroom-Secret": {secret}}, []string{"locked", "ok", "reason"}},
	} {
		resp, body := do(t, "GET", srv.URL+Prefix+"session", tc.hdr, "")
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode == 200 {
			t.Fatalf("%s: %d %q (%v)", tc.name, resp.StatusCode, body, err)
		}
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, tc.want) {
			t.Errorf("%s: a refused session answered %v, want only %v:\n%s", tc.name, keys, tc.want, body)
		}
	}
}

// testGuard is a PIN guard of the test's own, with a clock the test moves,
// for a Debugger whose AuthorizeFunc consults it.
type testGuard struct {
	now     atomic.Int64 // Unix nanoseconds
	current atomic.Pointer[pin.Guard]
	dir     string
}

func newTestGuard(t *testing.T) *testGuard {
	g := &testGuard{dir: t.TempDir()}
	g.now.Store(time.Now().UnixNano())
	g.current.Store(g.make(t))
	return g
}

// make returns a guard on g's clock and key; the PIN is the environment's.
func (g *testGuard) make(t *testing.T) *pin.Guard {
	t.Helper()
	pg, err := pin.New(pin.Config{Dir: g.dir, App: "live-console-test", Path: Prefix, Output: io.Discard,
		Now:   func() time.Time { return time.Unix(0, g.now.Load()) },
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

func (g *testGuard) authorize(_ *pin.Guard, r *http.Request) pin.Decision {
	return pin.Authorize(g.current.Load(), r)
}

// cookie signs a browser in with the current guard.
func (g *testGuard) cookie() *http.Cookie {
	rec := httptest.NewRecorder()
	g.current.Load().SetCookie(rec, httptest.NewRequest("POST", Prefix+"pin", nil))
	return rec.Result().Cookies()[0]
}

// TestLiveConsoleLosesItsAuthorization opens a console with a valid
// sign-in, then changes what the decision sees: the next request on the
// open socket is refused with the reason, and the socket closes with 1008.
func TestLiveConsoleLosesItsAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, g *testGuard)
		reason string
	}{
		{"the cookie expires", func(t *testing.T, g *testGuard) {
			g.now.Add(int64(pin.CookieLifetime + time.Minute))
		}, "expired"},
		{"the PIN locks", func(t *testing.T, g *testGuard) {
			for i := 0; i < 10; i++ {
				g.current.Load().Verify(context.Background(), "000-000-000")
			}
			if !g.current.Load().Locked() {
				t.Fatal("10 wrong PINs did not lock the PIN")
			}
		}, "locked"},
		// The PIN is read once, at start-up: a new PIN means a restarted
		// process, with a new page secret. A guard with another PIN on the
		// same key stands in for it.
		{"the PIN changes", func(t *testing.T, g *testGuard) {
			t.Setenv(pin.EnvVar, "271-828-182")
			g.current.Store(g.make(t))
		}, "page secret does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGuard(t)
			d, _ := newTestDebugger(t, WithAuthorize(g.authorize))
			srv := serve(t, d, http.HandlerFunc(panicky))
			c := dialConsole(t, srv, g.current.Load().Secret(), g.cookie())
			ask := func(id int) (map[string]any, error) {
				c.WriteJSON(map[string]any{"id": id, "op": "status"})
				var a map[string]any
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				return a, c.ReadJSON(&a)
			}
			if a, err := ask(1); err != nil || a["error"] != nil {
				t.Fatalf("before the change: %v %v", a, err)
			}
			tc.change(t, g)
			a, err := ask(2)
			if err != nil {
				t.Fatalf("the request after the change: %v", err)
			}
			e, _ := a["error"].(map[string]any)
			if e == nil || e["code"] != "unauthorized" || !strings.Contains(fmt.Sprint(e["message"]), tc.reason) || e["hint"] == "" {
				t.Fatalf("the request after the change answered %v; want refused for %q, with a hint", a, tc.reason)
			}
			_, _, err = c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
				t.Fatalf("the socket after the refusal: %v; want close 1008", err)
			}
		})
	}
}

// dialConsole opens the console websocket as the page does.
func dialConsole(t *testing.T, srv *httptest.Server, secret string, cookie *http.Cookie) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + Prefix + "console/ws"
	c, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {srv.URL}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {secretProtocols(secret)}})
	if err != nil {
		t.Fatalf("dial the console: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["op"] != "status" {
		t.Fatalf("first console message %v, %v", hello, err)
	}
	return c
}
