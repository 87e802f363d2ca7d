package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/internal/debugapi"
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16 << 10,
	// Selecting our own name answers a browser that offers it with the
	// secret's subprotocol beside it (see pin.SecretProtocol) without
	// echoing the secret; a browser that offered protocols and got none
	// back fails the connection.
	Subprotocols: []string{Subprotocol},
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
	ss := &session{srv: s, conn: conn, handshake: r, work: make(chan item, maxQueued), send: make(chan answer, sendQueue)}
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
// a time, and a writer. The reader never waits for the worker, so that
// pings, pongs and close frames are read while a call runs: requests queue
// in work, and one that finds it full is refused at once.
type session struct {
	srv  *Server
	conn *websocket.Conn
	// handshake is the request that opened the connection, which
	// Authorize sees again before every request.
	handshake *http.Request
	ctx       context.Context
	cancel    context.CancelFunc
	work      chan item
	send      chan answer
}

// item is one request on its way to the worker, or why it could not be
// read: bad requests are answered in turn too, never ahead of earlier ones.
type item struct {
	req request
	err *answerError
}

// logPanic reports a panic recovered in one of the session's goroutines:
// it is panicroom's bug, not the app's, and the stack is what a report of it
// needs.
func (ss *session) logPanic(where string, v any, attrs ...any) {
	attrs = append([]any{slog.String("in", where), slog.Any("panic", v)}, attrs...)
	attrs = append(attrs, slog.String("stack", string(debug.Stack())))
	ss.srv.logger().Error(fmt.Sprintf("panicroom: the console failed: %v", v), attrs...)
}

// closeOnPanic tells the client why its connection is going away. A close
// frame is a control frame, which gorilla lets any goroutine write.
func (ss *session) closeOnPanic() {
	msg := websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "panicroom's console failed; the server's log has the details")
	ss.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
	ss.conn.Close()
}

// closeReason fits s into a close frame, whose reason has 123 bytes at
// most; the answer before the frame carries the whole of it.
func closeReason(s string) string {
	const limit = 123
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit-len("…")], "") + "…"
}

func (ss *session) readPump() {
	defer func() {
		// A bug here must close one connection, not the app.
		if v := recover(); v != nil {
			ss.logPanic("read", v)
			ss.closeOnPanic()
		}
		ss.cancel()
		close(ss.work)
	}()
	pongWait, _ := ss.srv.keepalive()
	ss.conn.SetReadLimit(MaxMessage)
	alive := func() { ss.conn.SetReadDeadline(time.Now().Add(pongWait)) }
	alive()
	ss.conn.SetPongHandler(func(string) error { alive(); return nil })
	ss.conn.SetPingHandler(func(data string) error {
		alive()
		// A pong that cannot be written is no reason to stop reading: the
		// writer meets the same broken connection and closes it.
		ss.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		return nil
	})
	st := ss.srv.Evaluator.Status()
	ss.answer(answer{Op: "status", Status: &st})
	for {
		kind, msg, err := ss.conn.ReadMessage()
		if err != nil {
			return
		}
		alive()
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
		default:
			ss.answer(answer{ID: it.req.ID, Op: it.req.Op, Error: &answerError{Code: "busy",
				Message: fmt.Sprintf("%d requests are already waiting for the one running; this one was not run", maxQueued),
				Hint:    "Wait for the earlier answers, then send it again. A call that blocks is abandoned at its deadline."}})
		}
	}
}

func (ss *session) worker() {
	defer close(ss.send)
	defer func() {
		if v := recover(); v != nil {
			ss.logPanic("work", v)
			ss.closeOnPanic()
			ss.cancel()
			// The reader may still queue or answer; send must stay open
			// until it has stopped.
			for range ss.work {
			}
		}
	}()
	for it := range ss.work {
		if ss.ctx.Err() != nil {
			continue // the client is gone: run nothing more on its behalf
		}
		if refusal, ok := ss.authorized(it.req); !ok {
			ss.answer(refusal)
			ss.cancel()
			continue
		}
		if it.err != nil {
			ss.answer(answer{ID: it.req.ID, Op: it.req.Op, Error: it.err})
			continue
		}
		ss.answer(ss.handle(it.req))
	}
}

// authorized decides again, as at the handshake and with its request,
// whether the connection may still be used: a sign-in that expired or a PIN
// that locked must stop a console that is already open, not only the next
// one. A refusal answers the request and then closes the connection with
// 1008 (policy violation), which the writer does after the answer.
func (ss *session) authorized(req request) (answer, bool) {
	status, reason := ss.srv.Authorize(ss.handshake)
	if status == http.StatusOK {
		return answer{}, true
	}
	hint := "This console is closed until that is fixed; then reload the page."
	if status == http.StatusUnauthorized {
		hint = "This console was opened with a sign-in that no longer holds, so it is closed: reload the page and enter the PIN."
	}
	return answer{ID: req.ID, Op: req.Op, Error: &answerError{Code: "unauthorized", Message: reason, Hint: hint},
		closeCode: websocket.ClosePolicyViolation, closeReason: reason}, false
}

// answer queues a for the writer; a closed session drops it.
func (ss *session) answer(a answer) {
	select {
	case ss.send <- a:
	case <-ss.ctx.Done():
	}
}

func (ss *session) writePump() {
	_, pingPeriod := ss.srv.keepalive()
	ping := time.NewTicker(pingPeriod)
	defer func() {
		if v := recover(); v != nil {
			ss.logPanic("write", v)
			ss.closeOnPanic()
			ss.cancel()
		}
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
			if a.closeCode != 0 {
				ss.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(a.closeCode, closeReason(a.closeReason)))
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

// handle answers one request. A panic inside is the console's bug (or the
// debugger's): it is logged and becomes an error answer, and the connection
// stays open.
func (ss *session) handle(req request) (a answer) {
	a = answer{ID: req.ID, Op: req.Op}
	defer func() {
		if v := recover(); v != nil {
			ss.logPanic("handle", v, slog.String("op", req.Op), slog.Int64("id", req.ID), slog.String("panic_id", panicOf(req)))
			a = answer{ID: req.ID, Op: req.Op, Error: &answerError{Code: "internal", Message: fmt.Sprintf("panicroom's console failed: %v", v),
				Hint: "This is a bug in panicroom, not in your app; the server's log has its stack. The console still works."}}
		}
	}()
	timeout := ss.srv.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ss.ctx, timeout)
	defer cancel()
	ev := ss.srv.Evaluator
	if panicID := panicOf(req); panicID != "" && ss.srv.Touch != nil {
		ss.srv.Touch(panicID)
	}
	var err error
	switch req.Op {
	case "status":
		st := ev.Status()
		a.Status = &st
	case "eval":
		a.Value, err = ev.Eval(ctx, debugapi.Request{Panic: req.Panic, Frame: req.Frame, Expr: req.Expr})
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

// panicOf is the panic whose frames req reads.
func panicOf(req request) string {
	if req.Handle != nil {
		return req.Handle.Panic
	}
	return req.Panic
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
		for _, v := range append(append([]debugapi.Value(nil), vars.Args...), vars.Locals...) {
			names = append(names, v.Name)
		}
		names = append(names, builtins...)
	} else {
		v, err := ev.Eval(ctx, debugapi.Request{Panic: req.Panic, Frame: req.Frame, Expr: base})
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
