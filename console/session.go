package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/debugger"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16 << 10,
	// CheckOrigin left nil: gorilla's same-origin check stays on, behind the
	// Origin check of Authorize.
}

// ServeHTTP authorizes r, upgrades it and serves the connection until it
// closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Authorize == nil || s.Evaluator == nil {
		refuse(w, http.StatusServiceUnavailable, "the console is not configured")
		return
	}
	if status, reason := s.Authorize(r); status != http.StatusOK {
		refuse(w, status, reason)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with the reason
	}
	ss := &session{srv: s, conn: conn, work: make(chan item), send: make(chan answer, sendQueue)}
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	go ss.writePump()
	go ss.worker()
	ss.readPump()
}

func refuse(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, reason+"\n")
}

// session is one connection: a reader, a worker that answers requests one at
// a time, and a writer.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	work   chan item
	send   chan answer
}

// item is one request on its way to the worker, or why it could not be
// read: bad requests are answered in turn too, never ahead of earlier ones.
type item struct {
	req request
	err *answerError
}

func (ss *session) readPump() {
	defer func() {
		recover() // a bug here must close one connection, not the app
		ss.cancel()
		close(ss.work)
	}()
	ss.conn.SetReadLimit(MaxMessage)
	ss.conn.SetReadDeadline(time.Now().Add(pongWait))
	ss.conn.SetPongHandler(func(string) error {
		return ss.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	st := ss.srv.Evaluator.Status()
	ss.answer(answer{Op: "status", Status: &st})
	for {
		kind, msg, err := ss.conn.ReadMessage()
		if err != nil {
			return
		}
		ss.conn.SetReadDeadline(time.Now().Add(pongWait))
		it := item{}
		if kind != websocket.TextMessage {
			it.err = &answerError{Code: "bad-request", Message: "send JSON in text messages"}
		} else if req, err := decode(msg); err != nil {
			it = item{req: req, err: &answerError{Code: "bad-request", Message: err.Error()}}
		} else {
			it.req = req
		}
		select {
		case ss.work <- it:
		case <-ss.ctx.Done():
			return
		}
	}
}

func (ss *session) worker() {
	defer close(ss.send)
	for it := range ss.work {
		if it.err != nil {
			ss.answer(answer{ID: it.req.ID, Op: it.req.Op, Error: it.err})
			continue
		}
		ss.answer(ss.handle(it.req))
	}
}

// answer queues a for the writer; a closed session drops it.
func (ss *session) answer(a answer) {
	select {
	case ss.send <- a:
	case <-ss.ctx.Done():
	}
}

func (ss *session) writePump() {
	ping := time.NewTicker(pingPeriod)
	defer func() {
		recover()
		ping.Stop()
		ss.conn.Close()
	}()
	for {
		select {
		case a, ok := <-ss.send:
			ss.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				ss.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "console closed"))
				return
			}
			b, err := json.Marshal(a)
			if err != nil {
				b, _ = json.Marshal(answer{ID: a.ID, Op: a.Op, Error: &answerError{Code: "internal", Message: "encoding the answer: " + err.Error()}})
			}
			if err := ss.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				ss.cancel()
				return
			}
		case <-ping.C:
			ss.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := ss.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				ss.cancel()
				return
			}
		}
	}
}

// handle answers one request. A panic inside is the console's bug: it
// becomes an error answer.
func (ss *session) handle(req request) (a answer) {
	a = answer{ID: req.ID, Op: req.Op}
	defer func() {
		if r := recover(); r != nil {
			a.Error = &answerError{Code: "internal", Message: fmt.Sprintf("panicroom's console failed: %v", r)}
		}
	}()
	timeout := ss.srv.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ss.ctx, timeout)
	defer cancel()
	ev := ss.srv.Evaluator
	panicID := req.Panic
	if req.Handle != nil {
		panicID = req.Handle.Panic
	}
	if panicID != "" && ss.srv.Touch != nil {
		ss.srv.Touch(panicID)
	}
	var err error
	switch req.Op {
	case "status":
		st := ev.Status()
		a.Status = &st
	case "eval":
		a.Value, err = ev.Eval(ctx, debugger.Request{Panic: req.Panic, Frame: req.Frame, Expr: req.Expr})
	case "expand":
		a.Value, err = ev.Expand(ctx, *req.Handle)
	case "locals":
		a.Vars, err = ev.Locals(ctx, req.Panic, req.Frame)
	case "snapshot":
		a.Snapshot, err = ev.Snapshot(ctx, req.Panic)
	case "complete":
		a.Candidates, err = complete(ctx, ev, ss.srv.Methods, req)
	}
	if err != nil {
		a.Error = explain(err)
	}
	return a
}

// operand is the selector chain being typed at the end of the input:
// "user.Mana" → base "user", partial "Mana". Only identifiers and dots, so
// evaluating the base can never call a function.
var operand = regexp.MustCompile(`(?:([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.)?([A-Za-z_][A-Za-z0-9_]*)?$`)

var builtins = []string{"append", "cap", "complex", "imag", "len", "max", "min", "real"}

// complete lists what may follow the text before the cursor: the frame's
// variables and builtins for a bare name; fields and methods for a
// selector.
func complete(ctx context.Context, ev Evaluator, methods func(string) []string, req request) ([]string, error) {
	m := operand.FindStringSubmatch(req.Expr)
	if m == nil {
		return []string{}, nil
	}
	base, partial := m[1], m[2]
	var names []string
	if base == "" {
		vars, err := ev.Locals(ctx, req.Panic, req.Frame)
		if err != nil {
			snap, serr := ev.Snapshot(ctx, req.Panic)
			if serr != nil || req.Frame >= len(snap.Frames) {
				return nil, err
			}
			vars = &snap.Frames[req.Frame]
		}
		for _, v := range append(append([]debugger.Value(nil), vars.Args...), vars.Locals...) {
			names = append(names, v.Name)
		}
		names = append(names, builtins...)
	} else {
		v, err := ev.Eval(ctx, debugger.Request{Panic: req.Panic, Frame: req.Frame, Expr: base})
		if err != nil {
			return nil, err
		}
		if methods != nil {
			names = append(names, methods(v.Type)...)
		}
		// Selectors go through pointers and interfaces.
		for (v.Kind == "ptr" || v.Kind == "interface") && len(v.Children) == 1 {
			v = &v.Children[0]
			if methods != nil && v.Type != "" {
				names = append(names, methods(v.Type)...)
			}
		}
		if v.Kind == "struct" {
			for _, c := range v.Children {
				names = append(names, c.Name)
			}
		}
	}
	out := []string{}
	for _, n := range names {
		if strings.HasPrefix(n, partial) && n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
