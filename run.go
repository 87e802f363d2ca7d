//go:build !panicroom_off

package panicroom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/panicroom/panicroom/internal/runenv"
)

// runID is the run "panicroom run" gave this process, or "" when it does
// not run under the runner.
var runID = sync.OnceValue(func() string {
	if id := os.Getenv(runenv.Var); runenv.Valid(id) {
		return id
	}
	return ""
})

// runKeepAlive is how often an idle event stream sends a comment, so that
// a proxy or the browser does not take it for dead.
const runKeepAlive = 15 * time.Second

// serveRunEvents answers the open pages of an app run by "panicroom run":
// one server-sent event that names the run, then nothing until the app
// ends. The page's script (follow.js) keeps an EventSource on this path;
// when the app dies, the EventSource reconnects by itself and reaches
// whatever answers the address next: the runner, which holds it during a
// rebuild and streams its own state on the same path, or the next build,
// which names a newer run. The page then reloads, or says that it is of an
// earlier run. Nothing is polled. The route exists only under the runner,
// behind the same page rule as the traceback, and tells only the run's
// name, which is no secret.
func (d *Debugger) serveRunEvents(w http.ResponseWriter, r *http.Request) {
	id := runID()
	if id == "" {
		plainError(w, http.StatusNotFound, "404 not found: "+r.URL.Path+" exists only in an app run by \"panicroom run\"")
		return
	}
	// Before the first byte: a client that has read it may already be
	// shutting the server down, and a hook registered after Shutdown
	// began is never called.
	down := shutdownOf(r)
	rc := http.NewResponseController(w)
	// A stream outlives any WriteTimeout the app's server has; where the
	// writer cannot lift it, the stream ends and the EventSource reconnects.
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	b, _ := json.Marshal(struct {
		Phase string `json:"phase"`
		ID    string `json:"id"`
	}{"up", id})
	// retry: reconnect fast once the app is gone, to find the runner.
	fmt.Fprintf(w, "retry: 300\n\nevent: state\ndata: %s\n\n", b)
	if err := rc.Flush(); err != nil {
		return
	}
	keep := time.NewTicker(runKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-down:
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// shutdowns maps each server that has streamed events to a channel closed
// when its Shutdown begins: Shutdown waits for active requests, and an open
// page's stream would otherwise hold an app's graceful shutdown (and the
// runner's restart) for the app's whole timeout.
var shutdowns struct {
	sync.Mutex
	m map[*http.Server]chan struct{}
}

func shutdownOf(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	shutdowns.Lock()
	defer shutdowns.Unlock()
	if c, ok := shutdowns.m[srv]; ok {
		return c
	}
	if shutdowns.m == nil {
		shutdowns.m = make(map[*http.Server]chan struct{})
	}
	c := make(chan struct{})
	shutdowns.m[srv] = c
	srv.RegisterOnShutdown(func() {
		shutdowns.Lock()
		delete(shutdowns.m, srv)
		shutdowns.Unlock()
		close(c)
	})
	return c
}

// addRunMeta tells follow.js which run served the page, and whether
// reloading the page's own URL repeats a harmless request.
func addRunMeta(m map[string]string, rec *record) {
	id := runID()
	if id == "" {
		return
	}
	m["run"] = id
	if rec != nil && rec.panic.Request != nil {
		switch rec.panic.Request.Method {
		case http.MethodGet, http.MethodHead:
			m["run-reload"] = "1"
		}
	}
}
