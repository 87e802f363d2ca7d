package reliability

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/relreport"
)

// TestRefusals attacks a running app's console and pages one class at a
// time; each must be refused with its status code, and nothing it asks for
// may leak into the answer.
func TestRefusals(t *testing.T) {
	a := startApp(t)
	a.waitAttached()
	id, secret, err := a.panicPage("n=1&label=attack")
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := a.login(secret)
	if err != nil {
		t.Fatal(err)
	}
	ws := a.wsURL()
	good := func() http.Header {
		return http.Header{"Origin": {a.URL}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {secretProtocols(secret)}}
	}
	with := func(k, v string) http.Header { h := good(); h.Set(k, v); return h }
	without := func(k string) http.Header { h := good(); h.Del(k); return h }

	// The happy path first: the refusals below must be refusals of a
	// console that works.
	con, _, err := a.dialWith(ws, good())
	if err != nil {
		t.Fatalf("the console refuses its own page: %v", err)
	}
	con.close()

	key := readKey(t, a)
	cookieFor := func(issued time.Time) string {
		ts := strconv.FormatInt(issued.Unix(), 10)
		h := hmac.New(sha256.New, key)
		h.Write([]byte("panicroom pin cookie\x00" + "1" + "\x00" + ts + "\x00" + strings.ReplaceAll(testPIN, "-", "")))
		return cookie.Name + "=1." + ts + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	}
	// A cookie made right now with the real key is accepted: the forged
	// and expired ones below are refused for what they are, not for a
	// mistake in how the test signs them.
	if con, _, err := a.dialWith(ws, with("Cookie", cookieFor(time.Now()))); err != nil {
		t.Fatalf("a correctly signed cookie is refused (the test's signing is wrong?): %v", err)
	} else {
		con.close()
	}
	forged := cookie.Value[:len(cookie.Value)-4] + "AAAA"
	if forged == cookie.Value {
		forged = cookie.Value[:len(cookie.Value)-4] + "BBBB"
	}

	type attack struct {
		class, name string
		want        int
		do          func() (int, string, error)
	}
	wsTry := func(u string, h http.Header) func() (int, string, error) {
		return func() (int, string, error) {
			con, resp, err := a.dialWith(u, h)
			if err == nil {
				con.close()
				return 101, "", nil
			}
			if resp == nil {
				return 0, "", err
			}
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), nil
		}
	}
	var httpTry func(method, path string, h http.Header, body string) func() (int, string, error)
	httpTry = func(method, path string, h http.Header, body string) func() (int, string, error) {
		return func() (int, string, error) {
			req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
			if err != nil {
				return 0, "", err
			}
			for k, v := range h {
				req.Header[k] = v
			}
			if h.Get("Host") != "" {
				req.Host = h.Get("Host")
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			// net/http cleans a path with a redirect; one that stays under
			// the static files is followed, once.
			if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && strings.HasPrefix(loc, "/__panicroom__/static/") {
				return httpTry(method, loc, h, body)()
			}
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), nil
		}
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Panicroom-Secret": {secret}}
	formWith := func(k, v string) http.Header {
		h := form.Clone()
		h.Set(k, v)
		return h
	}
	attacks := []attack{
		{"DNS rebinding", "index with Host evil.example", 403, httpTry("GET", "/__panicroom__/", http.Header{"Host": {"evil.example"}}, "")},
		{"DNS rebinding", "panic page with Host evil.example", 403, httpTry("GET", "/__panicroom__/panic/"+id, http.Header{"Host": {"evil.example:80"}}, "")},
		{"DNS rebinding", "websocket with Host evil.example", 403, func() (int, string, error) {
			return httpTry("GET", "/__panicroom__/console/ws", http.Header{"Host": {"evil.example"}, "Origin": {"http://evil.example"}, "Cookie": {cookie.String()}, "Sec-Websocket-Protocol": {secretProtocols(secret)},
				"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}, "")()
		}},
		{"DNS rebinding", "panicking request with Host evil.example gets no page", 500, httpTry("GET", "/panic?n=2", http.Header{"Host": {"evil.example"}, "Accept": {"text/html"}}, "")},
		{"cross-origin websocket", "Origin http://evil.example", 403, wsTry(ws, with("Origin", "http://evil.example"))},
		{"cross-origin websocket", "Origin null", 403, wsTry(ws, with("Origin", "null"))},
		{"cross-origin websocket", "Origin on another port", 403, wsTry(ws, with("Origin", "http://127.0.0.1:1"))},
		{"cross-origin websocket", "no Origin", 403, wsTry(ws, without("Origin"))},
		{"CSRF on the PIN endpoint", "Origin http://evil.example", 403, httpTry("POST", "/__panicroom__/pin", formWith("Origin", "http://evil.example"), "pin="+testPIN)},
		{"CSRF on the PIN endpoint", "Sec-Fetch-Site: cross-site", 403, httpTry("POST", "/__panicroom__/pin", formWith("Sec-Fetch-Site", "cross-site"), "pin="+testPIN)},
		{"CSRF on the PIN endpoint", "no secret", 403, httpTry("POST", "/__panicroom__/pin", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "pin="+testPIN)},
		{"forged cookie", "signature changed", 401, wsTry(ws, with("Cookie", cookie.Name+"="+forged))},
		{"forged cookie", "issue time moved", 401, wsTry(ws, with("Cookie", cookie.Name+"=1."+strconv.FormatInt(time.Now().Unix()+1, 10)+cookie.Value[strings.LastIndexByte(cookie.Value, '.'):]))},
		{"expired cookie", "signed 8 days ago", 401, wsTry(ws, with("Cookie", cookieFor(time.Now().Add(-8*24*time.Hour))))},
		{"expired cookie", "dated in the future", 401, wsTry(ws, with("Cookie", cookieFor(time.Now().Add(24*time.Hour))))},
		{"missing secret", "websocket without secret", 403, wsTry(ws, with("Sec-Websocket-Protocol", "panicroom"))},
		{"missing secret", "websocket with a wrong secret", 403, wsTry(ws, with("Sec-Websocket-Protocol", secretProtocols("0"+secret[1:])))},
		{"missing secret", "websocket with the secret in the URL only", 403, wsTry(ws+"?secret="+url.QueryEscape(secret), without("Sec-Websocket-Protocol"))},
		{"missing secret", "session with the secret in the URL only", 403, httpTry("GET", "/__panicroom__/session?secret="+url.QueryEscape(secret), http.Header{"Cookie": {cookie.String()}}, "")},
		{"missing secret", "session without secret", 403, httpTry("GET", "/__panicroom__/session", http.Header{"Cookie": {cookie.String()}}, "")},
		{"console and locals without PIN", "websocket without cookie", 401, wsTry(ws, without("Cookie"))},
		{"console and locals without PIN", "session without cookie", 401, httpTry("GET", "/__panicroom__/session", http.Header{"X-Panicroom-Secret": {secret}}, "")},
		{"path traversal on static files", "static/..%2f..%2fgo.mod", 404, httpTry("GET", "/__panicroom__/static/..%2f..%2fgo.mod", nil, "")},
		{"path traversal on static files", "static/%2e%2e/%2e%2e/go.mod", 404, httpTry("GET", "/__panicroom__/static/%2e%2e/%2e%2e/go.mod", nil, "")},
		{"path traversal on static files", "static/....//....//etc/passwd", 404, httpTry("GET", "/__panicroom__/static/....//....//etc/passwd", nil, "")},
		{"path traversal on static files", "static/..\\..\\go.mod", 404, httpTry("GET", `/__panicroom__/static/..\..\go.mod`, nil, "")},
		{"path traversal on static files", "static/%00panicroom.js", 404, httpTry("GET", "/__panicroom__/static/%00panicroom.js", nil, "")},
	}
	// Refused before the upgrade: a websocket refusal is a plain status
	// whose body says why.
	byClass := map[string][2]int{}
	var order []string
	var codes = map[string]map[int]int{}
	for _, at := range attacks {
		code, body, err := at.do()
		if err != nil {
			t.Errorf("%s / %s: %v", at.class, at.name, err)
			continue
		}
		c := byClass[at.class]
		if _, ok := byClass[at.class]; !ok {
			order = append(order, at.class)
			codes[at.class] = map[int]int{}
		}
		c[0]++
		codes[at.class][code]++
		leak := strings.Contains(body, "panicroom-secret") || strings.Contains(body, "module github.com/panicroom") || strings.Contains(body, "root:x:0")
		if code == at.want && !leak {
			c[1]++
		} else {
			t.Errorf("%s / %s: answered %d (want %d), leak %v: %.200s", at.class, at.name, code, at.want, leak, body)
		}
		byClass[at.class] = c
	}
	// A remote address that is not loopback: the app behind a Unix socket
	// (as behind a local proxy) sees no IP and must refuse the console.
	order = append(order, "non-loopback remote address")
	codes["non-loopback remote address"] = map[int]int{}
	c := [2]int{1, 0}
	if code, body := unixRemote(t); code == 403 && strings.Contains(body, "remote address") {
		c[1]++
		codes["non-loopback remote address"][code]++
	} else {
		t.Errorf("non-loopback remote address: answered %d %q, want 403 naming the remote address", code, body)
		codes["non-loopback remote address"][code]++
	}
	byClass["non-loopback remote address"] = c

	for _, class := range order {
		c := byClass[class]
		var figs []string
		for code, n := range codes[class] {
			figs = append(figs, fmt.Sprintf("%d×%d", n, code))
		}
		r := relreport.Result{Area: "Attacks", Test: class, Iterations: c[0], Survived: c[1], Outcome: "refused", Figures: figs}
		finish(t, &r)
	}
}

// readKey reads the cookie-signing key the app keeps in its config
// directory (the test's own temporary one).
func readKey(t *testing.T, a *app) []byte {
	t.Helper()
	var dir string
	for _, e := range a.Cmd.Env {
		if v, ok := strings.CutPrefix(e, "XDG_CONFIG_HOME="); ok {
			dir = v
		}
	}
	keys, _ := filepath.Glob(filepath.Join(dir, "panicroom", "*.key"))
	if len(keys) != 1 {
		t.Fatalf("want one key file under %s, found %v", dir, keys)
	}
	b, err := os.ReadFile(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unixRemote asks the console of an app that also listens on a Unix socket
// (as an app behind a local proxy is reached) for a session over that
// socket, with the right secret and cookie: the remote address is not a
// loopback IP, so the answer must be 403, while the same request over
// loopback TCP is allowed. It returns the socket's status.
func unixRemote(t *testing.T) (int, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "app.sock")
	b := startApp(t, "-unix", sock)
	b.waitAttached()
	_, secret, err := b.panicPage("n=1&label=unix")
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := b.login(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Panicroom-Secret": {secret}, "Cookie": {cookie.String()}}
	req, _ := http.NewRequest("GET", b.URL+"/__panicroom__/session", nil)
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the same session request over loopback TCP: %v %v", resp, err)
	}
	resp.Body.Close()
	uc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	defer uc.CloseIdleConnections()
	req, _ = http.NewRequest("GET", "http://localhost/__panicroom__/session", nil)
	req.Header = h.Clone()
	resp, err = uc.Do(req)
	if err != nil {
		t.Fatalf("session over the Unix socket: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPINLockout guesses the PIN: the first wrong guesses are refused with
// 401, each after the fifth waits longer, the tenth locks the PIN (403),
// and from then on even the right PIN is refused with 403 until a restart,
// and so is a browser that logged in before: the lock signs everyone out.
func TestPINLockout(t *testing.T) {
	t.Parallel() // it mostly waits for the PIN's delays
	a := startApp(t)
	a.waitAttached()
	_, secret, err := a.panicPage("n=1&label=lockout")
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.login(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := relreport.Result{Area: "Attacks", Test: "brute-force PIN (lockout)", Iterations: 13, Outcome: "refused"}
	defer finish(t, &r)
	var waits []string
	start := time.Now()
	for i := 1; i <= 11; i++ {
		guess := fmt.Sprintf("%09d", i)
		want := 401
		if i >= 10 {
			want = 403
		}
		t0 := time.Now()
		resp, err := a.postPIN(secret, guess, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(t0); d > 500*time.Millisecond {
			waits = append(waits, fmt.Sprintf("#%d %v", i, d.Round(100*time.Millisecond)))
		}
		if resp.StatusCode == want && len(resp.Cookies()) == 0 {
			r.Survived++
		} else {
			t.Errorf("wrong PIN #%d: %d (cookies %d), want %d", i, resp.StatusCode, len(resp.Cookies()), want)
		}
	}
	resp, err := a.postPIN(secret, testPIN, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 403 && len(resp.Cookies()) == 0 {
		r.Survived++
	} else {
		t.Errorf("the right PIN after the lock: %d, want 403", resp.StatusCode)
	}
	if con, resp, err := a.dial(secret, before); err == nil {
		con.close()
		t.Errorf("a browser logged in before the lock still opens a console")
	} else if resp == nil || resp.StatusCode != 403 {
		t.Errorf("a browser logged in before the lock: %v (%v), want 403", err, resp)
	} else {
		r.Survived++
	}
	r.Figures = []string{fmt.Sprintf("12 attempts in %v; waits before answers: %s", time.Since(start).Round(100*time.Millisecond), strings.Join(waits, ", ")),
		"the right PIN after the lock: 403", "a browser signed in before the lock: 403"}
}
