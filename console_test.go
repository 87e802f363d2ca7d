package panicroom

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
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
		{"websocket without the PIN", "GET", "console/ws?secret=" + secret, http.Header{"Origin": {srv.URL}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}, "", "", 401, "PIN"},
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

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + Prefix + "console/ws?secret=" + url.QueryEscape(secret)
	c, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {srv.URL}, "Cookie": {cookie.String()}})
	if err != nil {
		t.Fatalf("websocket with cookie, secret and origin: %v (%v)", err, resp)
	}
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["op"] != "status" {
		t.Errorf("first console message %v, %v", hello, err)
	}
	c.Close()
	for name, h := range map[string]http.Header{
		"cross-site websocket": {"Origin": {"http://evil.example"}, "Cookie": {cookie.String()}},
		"no origin":            {"Cookie": {cookie.String()}},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Errorf("%s: err %v, resp %v; want 403", name, err, resp)
		}
	}
	if _, resp, err := websocket.DefaultDialer.Dial(strings.Split(wsURL, "?")[0], http.Header{"Origin": {srv.URL}, "Cookie": {cookie.String()}}); err == nil || resp.StatusCode != 403 {
		t.Errorf("websocket without the secret: %v", resp)
	}
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
