//go:build panicroom_off

package panicroom

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type handler struct{ panics bool }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.panics {
		panic("boom")
	}
	io.WriteString(w, "ok")
}

// TestOffIsNetHTTP: built with panicroom_off, Wrap and Middleware hand
// back the handler itself, New's Debugger serves nothing, and a panic
// reaches net/http, which logs it and drops the connection, as it does
// without panicroom.
func TestOffIsNetHTTP(t *testing.T) {
	h := &handler{}
	if Wrap(h, WithLogger(nil), WithConsole(true)) != http.Handler(h) || Middleware()(h) != http.Handler(h) || New().Wrap(h) != http.Handler(h) {
		t.Error("Wrap or Middleware added a layer")
	}
	if Owns(Prefix+"static/panicroom.css") || Owns(Prefix) {
		t.Error("Owns claims a path")
	}
	rec := httptest.NewRecorder()
	New().ServeOwn(rec, httptest.NewRequest("GET", Prefix, nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("ServeOwn answered %d, want 404", rec.Code)
	}

	var logs bytes.Buffer
	srv := httptest.NewUnstartedServer(Wrap(&handler{panics: true}))
	srv.Config.ErrorLog = log.New(&logs, "", 0)
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a panicking handler answered %d; net/http drops the connection", resp.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "panic serving") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("net/http did not log the panic: %q", logs.String())
	}
}
