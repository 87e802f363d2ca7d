//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type sentinel struct{ code int }

func (s sentinel) Error() string { return fmt.Sprintf("sentinel %d", s.code) }

//go:noinline
func lookupUser(m map[string]*sentinel, name string) int {
	return m[name].code // nil pointer: name is not in m
}

func panicky(w http.ResponseWriter, r *http.Request) {
	users := map[string]*sentinel{"ada": {1}}
	fmt.Fprint(w, lookupUser(users, "bob"))
}

func TestPanicAnsweredWithPageInEachFormat(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(panicky))
	for _, tc := range []struct {
		accept, ctype, want string
	}{
		{"text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8", `id="frame-0"`},
		{"*/*", "text/plain; charset=utf-8", "panic: runtime error: invalid memory address or nil pointer dereference"},
		{"application/json", "application/json", `"category": "runtime error"`},
	} {
		// Uncompressed, so that Content-Length can be checked against the
		// bytes on the wire (compression has its own test).
		resp, body := getIdentity(t, srv.URL+"/users?name=bob", tc.accept)
		if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("Accept %q: status %d, type %q", tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(body, tc.want) || !strings.Contains(body, "lookupUser") {
			t.Errorf("Accept %q: body lacks %q or the panicking frame:\n%.600s", tc.accept, tc.want, body)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("Accept %q: security headers missing: %v", tc.accept, resp.Header)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("Accept %q: Content-Length %d for %d bytes", tc.accept, resp.ContentLength, len(body))
		}
	}
	waitFor(t, "three log lines", func() bool { return strings.Count(logs.String(), "level=ERROR msg=\"panic: runtime error") >= 3 })
	if out := logs.String(); strings.Count(out, "level=ERROR") != 3 || !strings.Contains(out, "page=http://127.0.0.1:") || !strings.Contains(out, "recover_test.go:") {
		t.Errorf("want one log line per panic with the page URL and location:\n%s", out)
	}
}

func TestErrAbortHandlerIsRepanicked(t *testing.T) {
	d, logs := newTestDebugger(t)
	h := d.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	var got any
	func() {
		defer func() { got = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
	if got != http.ErrAbortHandler {
		t.Fatalf("recovered %v, want http.ErrAbortHandler untouched", got)
	}
	if logs.String() != "" {
		t.Errorf("a deliberate abort was logged: %s", logs)
	}
}

func TestGoexitIsNotAPanic(t *testing.T) {
	d, logs := newTestDebugger(t)
	h := d.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runtime.Goexit() }))
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	}()
	<-done
	if rec.Code != 200 || rec.Body.Len() != 0 || logs.String() != "" {
		t.Fatalf("Goexit treated as a panic: code %d, body %q, log %q", rec.Code, rec.Body, logs)
	}
}

type panickyText struct{}

func (panickyText) Error() string { panic("the Error method itself panics") }

func TestOddPanicValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want []string
	}{
		{"nil", nil, []string{"*runtime.PanicNilError", "panic called with nil argument"}},
		{"error whose Error panics", panickyText{}, []string{"panicroom.panickyText", "the Error method itself panics"}},
		{"wrapped", fmt.Errorf("saving: %w", sentinel{7}), []string{"saving: sentinel 7", "caused by: sentinel 7 (panicroom.sentinel)"}},
		{"joined", errors.Join(errors.New("first"), sentinel{2}), []string{"2 errors joined", "caused by: first", "caused by: sentinel 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDebugger(t)
			srv := serve(t, d, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(tc.v) }))
			resp, body := get(t, srv.URL, "text/plain")
			if resp.StatusCode != 500 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%.800s", w, body)
				}
			}
		})
	}
}

// TestPanicAfterHeadersSent checks that a started response is broken, not
// left looking complete: the client must get an error reading the body.
func TestPanicAfterHeadersSent(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial row 1\n")
		w.(http.Flusher).Flush()
		var rows []int
		_ = rows[2]
	}))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("client read a complete-looking response %q; want a broken one", body)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "partial row 1") {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	out := logs.waitLog(t, "already started")
	id := pageID(t, out)
	_, page := get(t, srv.URL+Prefix+"panic/"+id, "text/html")
	if !strings.Contains(page, "The response had already started") {
		t.Errorf("page does not explain the broken response")
	}
}

func TestHijackedConnectionIsNotWritten(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: demo\r\nConnection: Upgrade\r\n\r\nhello")
		brw.Flush()
		defer c.Close()
		var m map[string]int
		m["x"] = 1
	}))
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, _ := io.ReadAll(bufio.NewReader(conn))
	if strings.Contains(string(all), "500") || !strings.HasSuffix(string(all), "hello") {
		t.Fatalf("hijacked connection got %q", all)
	}
	logs.waitLog(t, "hijacked")
}

// TestRenderFailureFallsBackToPlainText breaks panicroom's own renderer: the
// client must still get a 500 that says what happened, and the server must
// keep serving.
func TestRenderFailureFallsBackToPlainText(t *testing.T) {
	d, logs := newTestDebugger(t)
	d.renderer = nil // every render now panics inside panicroom
	var served atomic.Int32
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			served.Add(1)
			io.WriteString(w, "fine")
			return
		}
		panic("handler bug")
	}))
	resp, body := get(t, srv.URL+"/boom", "text/html")
	if resp.StatusCode != 500 || !strings.Contains(body, "panicroom could not render its page") || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("fallback: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	logs.waitLog(t, "rendering a panic page failed")
	if _, body := get(t, srv.URL+"/ok", ""); body != "fine" || served.Load() != 1 {
		t.Errorf("server stopped serving after a render failure")
	}
}

// TestHTTP2PageArrivesComplete runs over real TLS with HTTP/2: the page must
// arrive whole, and the panicking goroutine is parked all the same (the
// stream ends when the request's goroutine returns, and the handler's is
// another).
func TestHTTP2PageArrivesComplete(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := httptest.NewUnstartedServer(d.Wrap(http.HandlerFunc(panicky)))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c := srv.Client()
	c.Timeout = 10 * time.Second
	req, _ := http.NewRequest("GET", srv.URL+"/h2", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.ProtoMajor != 2 || resp.StatusCode != 500 || !strings.Contains(string(body), "lookupUser") {
		t.Fatalf("HTTP/2 page: proto %d, status %d, err %v, body %.200q", resp.ProtoMajor, resp.StatusCode, err, body)
	}
	id := pageID(t, logs.waitLog(t, "page="))
	rec := d.registry.get(id)
	if rec == nil || rec.parkNote != "" {
		t.Fatalf("HTTP/2 record: %+v", rec)
	}
	waitFor(t, "the HTTP/2 panic to park", rec.parked)

	// A panic after the stream started must reset it.
	srv2 := httptest.NewUnstartedServer(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "begun")
		w.(http.Flusher).Flush()
		panic("late")
	})))
	srv2.EnableHTTP2 = true
	srv2.TLS = &tls.Config{}
	srv2.StartTLS()
	defer srv2.Close()
	resp, err = srv2.Client().Get(srv2.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatal("a started HTTP/2 response that panicked read as complete")
	}
}
