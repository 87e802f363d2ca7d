//go:build !panicroom_off

package panicroom

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/negotiate"
)

// TestRoutes is the table of everything under Prefix: status, content type,
// the headers every panicroom response carries, and a body check.
func TestRoutes(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			w.Write([]byte("app"))
			return
		}
		panic("route test <script>alert(1)</script>")
	}))
	rawGet(t, srv.Listener.Addr().String(), "/boom")
	id := pageID(t, logs.waitLog(t, "page="))

	for _, tc := range []struct {
		path, host, accept string
		status             int
		ctype, body        string
	}{
		{Prefix, "", "text/html", 200, "text/html; charset=utf-8", "Recent panics"},
		{Prefix, "", "application/json", 200, "application/json", `"id": "` + id + `"`},
		{Prefix, "", "*/*", 200, "text/plain; charset=utf-8", "GET /boom"},
		{Prefix + "panic/" + id, "", "text/html", 200, "text/html; charset=utf-8", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{Prefix + "panic/" + id + "?format=text", "", "text/html", 200, "text/plain; charset=utf-8", "panic: route test"},
		{Prefix + "panic/" + id + "?format=json", "", "", 200, "application/json", `"message": "route test \u003cscript\u003e`},
		{Prefix + "panic/" + id + "?format=markdown", "", "text/html", 200, "text/markdown; charset=utf-8", "### `panic: route test <script>alert(1)</script>`"},
		{Prefix + "panic/nosuchid", "", "", 404, "text/plain; charset=utf-8", "no panic with this id"},
		{Prefix + "panic/" + id + "/frame/0", "", "", 200, "text/html; charset=utf-8", `<tr class="current"><th>`},
		{Prefix + "panic/" + id + "/frame/999", "", "", 404, "text/plain; charset=utf-8", `no frame "999" in this panic`},
		{Prefix + "panic/" + id + "/frame/x", "", "", 404, "text/plain; charset=utf-8", `no frame "x"`},
		{Prefix + "panic/nosuchid/frame/0", "", "", 404, "text/plain; charset=utf-8", "no panic with this id"},
		{Prefix + "panic/" + id + "/goroutines", "", "", 200, "text/html; charset=utf-8", `<details class="ggroup`},
		{Prefix + "panic/nosuchid/goroutines", "", "", 404, "text/plain; charset=utf-8", "no panic with this id"},
		{Prefix + "panic/" + id + "/goroutines", "evil.example", "", 403, "text/plain; charset=utf-8", "not trusted"},
		{Prefix + "panic/" + id + "/frame/0", "evil.example", "", 403, "text/plain; charset=utf-8", "not trusted"},
		{Prefix + "static/panicroom.css", "", "", 200, "text/css; charset=utf-8", "--accent"},
		{Prefix + "static/panicroom.js", "", "", 200, "text/javascript; charset=utf-8", "use strict"},
		{Prefix + "static/chroma.css", "", "", 200, "text/css; charset=utf-8", ".chroma .kd"},
		{Prefix + "static/missing.js", "", "", 404, "text/plain; charset=utf-8", "no such panicroom asset"},
		{Prefix + "static/..%2fweb.go", "", "", 404, "text/plain; charset=utf-8", ""},
		{Prefix + "nothing-here", "", "", 404, "text/plain; charset=utf-8", "panicroom has no page"},
		{Prefix + "panic/" + id, "evil.example", "text/html", 403, "text/plain; charset=utf-8", "not trusted"},
		{Prefix, "localhost.evil.example:80", "", 403, "text/plain; charset=utf-8", "not trusted"},
		{Prefix + "events", "evil.example", "", 403, "text/plain; charset=utf-8", "not trusted"},
		{Prefix, "app.localhost:8080", "", 200, "text/plain; charset=utf-8", "GET /boom"},
		{Prefix, "[::1]:8080", "", 200, "text/plain; charset=utf-8", "GET /boom"},
	} {
		t.Run(tc.path+" "+tc.host+" "+tc.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.RemoteAddr = "127.0.0.1:41000"
			if tc.host != "" {
				req.Host = tc.host
			} else {
				req.Host = "127.0.0.1:8080"
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			rec := httptest.NewRecorder()
			d.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d (body %.200q)", rec.Code, tc.status, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing nosniff")
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body lacks %q:\n%.400s", tc.body, rec.Body.String())
			}
		})
	}

	// Conditional requests for assets are answered from the ETag.
	req := httptest.NewRequest("GET", Prefix+"static/panicroom.css", nil)
	req.RemoteAddr = "127.0.0.1:41000"
	req.Host = "localhost"
	rec := httptest.NewRecorder()
	d.Wrap(nil).ServeHTTP(rec, req)
	etag := rec.Header().Get("ETag")
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	d.Wrap(nil).ServeHTTP(rec, req)
	if etag == "" || rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("revalidation: ETag %q, status %d", etag, rec.Code)
	}

	// Other paths reach the app, and the bare prefix redirects.
	if _, body := get(t, srv.URL+"/ok", ""); body != "app" {
		t.Errorf("app path answered %q", body)
	}
	req = httptest.NewRequest("GET", "/__panicroom__", nil)
	req.RemoteAddr = "127.0.0.1:41000"
	rec = httptest.NewRecorder()
	d.Wrap(nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != Prefix {
		t.Errorf("bare prefix: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestNegotiateAccept(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   negotiate.Format
	}{
		{"", negotiate.Text},
		{"*/*", negotiate.Text},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", negotiate.HTML},
		{"application/json", negotiate.JSON},
		{"application/json, text/plain;q=0.5", negotiate.JSON},
		{"text/plain", negotiate.Text},
		{"text/html;q=0.1, application/json", negotiate.JSON},
		{"text/html;q=0", negotiate.Text},
		{"garbage;;;", negotiate.Text},
	} {
		if got := negotiate.Accept([]string{tc.accept}); got != tc.want {
			t.Errorf("negotiate.Accept(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

func TestNewRejectsScriptEditor(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "not allowed") {
			t.Errorf("New accepted a javascript: editor template (recovered %v)", r)
		}
	}()
	New(WithEditor("javascript:alert('{file}')"))
}

// A trusted-host pattern the guard cannot take would turn the console off
// while the pages ignored it: New refuses it, naming the pattern and why.
func TestNewRejectsInvalidTrustedHost(t *testing.T) {
	for _, bad := range []string{"*", "devbox.test:8080", "dev box", "*.*.test"} {
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.Contains(r, "WithTrustedHosts") || !strings.Contains(r, fmt.Sprintf("%q", bad)) {
					t.Errorf("New(WithTrustedHosts(%q)) recovered %q, want a panic naming the option and the pattern", bad, r)
				}
			}()
			New(WithTrustedHosts("devbox.test", bad))
		}()
	}
	New(WithTrustedHosts("devbox.test", "*.devbox.test", "192.168.1.20", "[fe80::1]")).Close()
}

// TestPanicPageNeedsTrustedHost: the page of a panicking request shows
// source, headers and the console's secret, so a request for an untrusted
// Host (a DNS-rebinding page) gets a plain 500 without any of them, as
// every route under Prefix refuses it.
func TestPanicPageNeedsTrustedHost(t *testing.T) {
	d, _ := newTestDebugger(t, WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret-bearing panic") }))
	for _, c := range []struct {
		host  string
		trust bool
	}{{"", true}, {"localhost", true}, {"evil.example", false}, {"evil.example:80", false}} {
		req, _ := http.NewRequest("GET", srv.URL+"/boom", nil)
		if c.host != "" {
			req.Host = c.host
		}
		req.Header.Set("Accept", "text/html")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("Host %q: status %d", c.host, resp.StatusCode)
		}
		shown := strings.Contains(body, "secret-bearing panic")
		if shown != c.trust {
			t.Errorf("Host %q: page shown %v, want %v: %.300s", c.host, shown, c.trust, body)
		}
		if !c.trust && (strings.Contains(body, "panicroom-secret") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")) {
			t.Errorf("Host %q: the refusal leaks the page (%s): %.300s", c.host, resp.Header.Get("Content-Type"), body)
		}
	}
}
