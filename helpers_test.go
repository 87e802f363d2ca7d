//go:build !panicroom_off

package panicroom

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/testapp"
)

// logBuffer collects what panicroom logs, safely across goroutines.
type logBuffer struct{ testapp.Buffer }

// waitLog waits until the log contains s: the page is written before the
// log line, so a client can finish before the line is there.
func (l *logBuffer) waitLog(t *testing.T, s string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if out := l.String(); strings.Contains(out, s) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("log never contained %q:\n%s", s, l.String())
	return ""
}

func newTestDebugger(t *testing.T, opts ...Option) (*Debugger, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)
	d := New(opts...)
	// The agent is off in test binaries, which would turn parking off too;
	// these tests are about the parking itself.
	d.parkOff = nil
	t.Cleanup(func() { d.Close() })
	return d, logs
}

// serve starts d around h on a real loopback HTTP/1.1 server.
func serve(t *testing.T, d *Debugger, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(d.Wrap(h))
	t.Cleanup(func() {
		d.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

func get(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	return getWith(t, &http.Client{Timeout: 10 * time.Second}, url, accept)
}

// getIdentity is get without transparent gzip.
func getIdentity(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	return getWith(t, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}, url, accept)
}

func getWith(t *testing.T, c *http.Client, url, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp, string(b)
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pageID extracts the panic id from a logged or served page URL.
func pageID(t *testing.T, s string) string {
	t.Helper()
	i := strings.Index(s, Prefix+"panic/")
	if i < 0 {
		t.Fatalf("no page URL in %q", s)
	}
	id := s[i+len(Prefix+"panic/"):]
	if j := strings.IndexAny(id, " \n\"?<"); j >= 0 {
		id = id[:j]
	}
	return id
}

func goroutines() int { return runtime.NumGoroutine() }

const testPIN = "314-159-265"

// TestMain keeps the PIN's files out of the developer's own config
// directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "panicroom-test-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("HOME", dir)
	os.Setenv("PANICROOM_PIN", testPIN)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
