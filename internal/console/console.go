// Package console is the websocket endpoint behind panicroom's in-page
// consoles: it takes a browser's eval, expand, locals and completion
// requests for the frames of a parked panic and answers each from an
// [Evaluator], the debugger seen through its own small types.
//
// # Protocol
//
// Every message is one JSON object in a text frame. Requests carry an id
// that their answer repeats:
//
//	{"id": 1, "op": "eval",     "panic": "…", "frame": 2, "expr": "u.Name"}
//	{"id": 2, "op": "expand",   "handle": {…}}            // a value's "more"
//	{"id": 3, "op": "locals",   "panic": "…", "frame": 2} // live variables
//	{"id": 4, "op": "snapshot", "panic": "…"}             // as at the panic
//	{"id": 5, "op": "complete", "panic": "…", "frame": 2, "expr": "u.Na"}
//	{"id": 6, "op": "status"}
//
// An answer has either a result field (value, vars, snapshot, candidates,
// status) or an error {code, message, hint}: code is machine-readable, the
// message says what went wrong and the hint what to do, in plain words.
// A request that cannot be decoded gets an error answer with code
// "bad-request" and the connection stays open; one over [MaxMessage] bytes
// closes the connection with status 1009 and a reason.
//
// Requests of one connection are answered one at a time, in order, so that
// an assignment and the read after it cannot pass each other. The
// connection keeps reading while a request runs, so pings and a close are
// seen during a long call; up to 16 requests wait behind the running one,
// and one more is answered at once with an error of code "busy", ahead of
// the answers it did not wait for.
//
// # Authorization
//
// The page's secret comes in the handshake as a subprotocol (the page
// offers [Subprotocol] and "panicroom.secret.<secret>"; the endpoint selects
// the first), never in the URL, which logs record.
//
// The endpoint calls Server.Authorize before upgrading: a refusal is a plain
// HTTP status with a reason, which a browser's fetch can read (a failed
// websocket handshake hides it). The upgrader also keeps gorilla/websocket's
// same-origin check.
//
// A connection outlives the sign-in that opened it, so Authorize is asked
// again, with the handshake's request, before each request is run. A
// refusal answers that request with an error of code "unauthorized" (the
// reason, and the fix in its hint) and then closes the connection with
// status 1008, policy violation.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// Evaluator is what the console needs from the debugger.
type Evaluator interface {
	Status() debugapi.Status
	Snapshot(ctx context.Context, panicID string) (*debugapi.Snapshot, error)
	Eval(ctx context.Context, req debugapi.Request) (*debugapi.Value, error)
	Locals(ctx context.Context, panicID string, frame int) (*debugapi.FrameVars, error)
	Expand(ctx context.Context, h debugapi.Handle) (*debugapi.Value, error)
}

var _ Evaluator = debugapi.Evaluator(nil)

// Server is the websocket endpoint. Its zero value is not usable: set
// Evaluator and Authorize.
type Server struct {
	Evaluator Evaluator
	// Authorize decides, before the upgrade, whether r may open a console;
	// a status other than 200 refuses with that status and reason. It is
	// asked again, with the same r, before each request on the open
	// connection, so it must decide from the current state (the clock, a
	// PIN lock) rather than remember its first answer.
	Authorize func(r *http.Request) (status int, reason string)
	// Touch, if set, is told which panic each request used, so the app can
	// keep a panic that is being inspected from being released as idle.
	Touch func(panicID string)
	// Timeout bounds each request; the evaluator's own deadline applies
	// too. Default 15 s.
	Timeout time.Duration
	// Methods, if set, lists the methods of a type named as the debugger
	// names it ("*main.User"), for completion after a selector.
	Methods func(typeName string) []string
	// pongWait, when set, replaces the pong deadline in tests, which cannot
	// wait a minute for it.
	pongWait time.Duration
	// Logger receives the panics the console recovers from, which are its
	// own bugs. Nil means slog.Default().
	Logger *slog.Logger
}

func (s *Server) keepalive() (pongWait, pingPeriod time.Duration) {
	pongWait = defaultPongWait
	if s.pongWait > 0 {
		pongWait = s.pongWait
	}
	return pongWait, pongWait * 9 / 10
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Subprotocol is the WebSocket subprotocol the endpoint selects when the
// client offers it. The page offers it next to the one that carries its
// page secret, so that the handshake's answer names this one instead.
const Subprotocol = "panicroom"

// Limits and timings of one connection.
const (
	MaxMessage      = 64 << 10         // bytes in one request
	writeWait       = 10 * time.Second // to write one message
	defaultPongWait = 60 * time.Second // without a pong before the connection is dead
	sendQueue       = 16               // answers waiting for the writer
	maxQueued       = 16               // requests waiting behind the one running
)
