//go:build !panicroom_off

package panicroom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// PageHeader is the response header that carries the address of a panic's
// page when the panic is answered in any format: an API client (a
// front end's fetch, a mobile app, curl) gets JSON or text, and the page
// is one click away from its log line or the browser's network panel.
const PageHeader = "X-Panicroom-Page"

// Limits of the index's live updates (server-sent events).
const (
	// maxEventStreams bounds the open streams: each is a goroutine and a
	// connection, and a page open in many tabs should not be able to
	// exhaust them.
	maxEventStreams = 32
	// eventBuffer is how many events a stream may fall behind before it
	// is closed; EventSource reconnects, and the page reloads its list.
	eventBuffer = 64
	// eventKeepAlive keeps proxies and the browser from closing an idle
	// stream.
	eventKeepAlive = 25 * time.Second
)

// events fans the registry's changes out to the open /events streams. Its
// zero value is ready.
type events struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
	done   chan struct{}
}

// indexRow is what the index shows of one panic, in its JSON view and in
// its events. It carries nothing the index page does not already show to
// the same clients: no request headers, no source, no console secret.
type indexRow struct {
	ID      string `json:"id"`
	Time    string `json:"time"`
	Request string `json:"request"`
	Value   string `json:"value"`
	Type    string `json:"type"`
	// Category is the badge's text ("runtime error", "error").
	Category string `json:"category"`
	Live     bool   `json:"live"`
	URL      string `json:"url"`
}

func rowOf(rec *record) indexRow {
	p := rec.panic
	return indexRow{ID: p.ID, Time: p.Time.Format("2006-01-02T15:04:05.000Z07:00"), Request: requestLine(p), Value: p.Value.Message,
		Type: p.Value.Type, Category: p.Value.Category, Live: rec.parked(), URL: Prefix + "panic/" + p.ID}
}

func (e *events) doneChan() chan struct{} {
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

// subscribe opens a stream, or says why not.
func (e *events) subscribe() (chan []byte, <-chan struct{}, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	done := e.doneChan()
	if e.closed {
		return nil, nil, fmt.Errorf("panicroom is shutting down")
	}
	if len(e.subs) >= maxEventStreams {
		return nil, nil, fmt.Errorf("%d live-update streams are open already; close some panicroom tabs", len(e.subs))
	}
	if e.subs == nil {
		e.subs = make(map[chan []byte]struct{})
	}
	c := make(chan []byte, eventBuffer)
	e.subs[c] = struct{}{}
	return c, done, nil
}

func (e *events) unsubscribe(c chan []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.subs[c]; ok {
		delete(e.subs, c)
		close(c)
	}
}

// changed is the registry's onChange: a record was added (a new panic), or
// its goroutine was parked or released.
func (e *events) changed(rec *record, added bool) {
	if rec.liveFrames {
		return // the top-level console's stand-in, not a panic
	}
	kind := "update"
	if added {
		kind = "panic"
	}
	data, err := json.Marshal(rowOf(rec))
	if err != nil {
		return
	}
	msg := []byte("event: " + kind + "\ndata: " + string(data) + "\n\n")
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.subs {
		select {
		case c <- msg:
		default:
			// Too far behind: end the stream rather than block the
			// panic path or grow without bound.
			delete(e.subs, c)
			close(c)
		}
	}
}

func (e *events) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.doneChan())
	}
}

// serveEvents streams the index's changes as server-sent events: "panic"
// with a new panic's row, "update" with the row of a panic whose goroutine
// was parked or released. serveOwn has applied the page rule, as for the index itself.
func (d *Debugger) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, done, err := d.events.subscribe()
	if err != nil {
		plainError(w, http.StatusServiceUnavailable, "503 service unavailable: "+err.Error())
		return
	}
	defer d.events.unsubscribe(c)
	rc := http.NewResponseController(w)
	// A server's WriteTimeout would cut the stream at each interval; the
	// browser would reconnect, but a stream is meant to stay.
	rc.SetWriteDeadline(time.Time{})
	setPageHeaders(w.Header(), "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// retry: how soon EventSource reconnects after a restart of the app.
	if _, err := w.Write([]byte("retry: 1000\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(eventKeepAlive)
	defer tick.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case m, ok := <-c:
			if !ok {
				return
			}
			msg = m
		case <-tick.C:
			msg = []byte(": keep-alive\n\n")
		}
		if _, err := w.Write(msg); err != nil || rc.Flush() != nil {
			return
		}
	}
}
