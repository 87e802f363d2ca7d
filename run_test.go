//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/runenv"
)

// withRunID makes the process look run by "panicroom run" for one test
// (not parallel: runID is process-wide).
func withRunID(t *testing.T, id string) {
	old := runID
	runID = func() string { return id }
	t.Cleanup(func() { runID = old })
}

func TestRunEventsOnlyUnderRunner(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("not under the runner") }))
	resp, body := get(t, srv.URL+Prefix+"run/events", "")
	if resp.StatusCode != 404 || !strings.Contains(body, "panicroom run") {
		t.Errorf("without %s: %d %q, want a 404 that says the route is the runner's", runenv.Var, resp.StatusCode, body)
	}
	rawGet(t, srv.Listener.Addr().String(), "/boom")
	id := pageID(t, logs.waitLog(t, "page="))
	_, page := get(t, srv.URL+Prefix+"panic/"+id, "text/html")
	if strings.Contains(page, "follow.js") || strings.Contains(page, "panicroom-run") {
		t.Errorf("a page outside the runner loads follow.js or names a run")
	}
}

// Under the runner, a page names its run and loads follow.js, and the
// event stream names the run, refuses what the pages refuse, and does not
// hold up the app's graceful shutdown.
func TestRunEvents(t *testing.T) {
	withRunID(t, "cafe0123.7")
	d, logs := newTestDebugger(t)
	hs := httptest.NewUnstartedServer(d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("under the runner") })))
	hs.Start()
	t.Cleanup(func() { d.Close(); hs.CloseClientConnections(); hs.Close() })

	rawGet(t, hs.Listener.Addr().String(), "/boom")
	id := pageID(t, logs.waitLog(t, "page="))
	_, page := get(t, hs.URL+Prefix+"panic/"+id, "text/html")
	for _, want := range []string{`<meta name="panicroom-run" content="cafe0123.7">`, `<meta name="panicroom-run-reload" content="1">`, `static/follow.js`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}

	req, _ := http.NewRequest("GET", hs.URL+Prefix+"run/events", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("events for an untrusted Host: %d, want 403", resp.StatusCode)
	}

	resp, err = http.Get(hs.URL + Prefix + "run/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	var got []string
	for len(got) < 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %q)", err, got)
		}
		if line = strings.TrimSpace(line); line != "" {
			got = append(got, line)
		}
	}
	want := []string{"retry: 300", "event: state", `data: {"phase":"up","id":"cafe0123.7"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream starts %q, want %q", got, want)
	}

	// The stream stays open (the page would reconnect otherwise), until
	// the server's Shutdown, which must not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Config.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with an open page: %v: the event stream held it", err)
	}
}
