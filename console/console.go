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
// an assignment and the read after it cannot pass each other.
//
// # Authorization
//
// The endpoint calls Server.Authorize before upgrading: a refusal is a plain
// HTTP status with a reason, which a browser's fetch can read (a failed
// websocket handshake hides it). The upgrader also keeps gorilla/websocket's
// same-origin check.
package console

import (
	"context"
	"net/http"
	"time"

	"github.com/panicroom/panicroom/debugger"
)

// Evaluator is what the console needs from the debugger.
type Evaluator interface {
	Status() debugger.Status
	Snapshot(ctx context.Context, panicID string) (*debugger.Snapshot, error)
	Eval(ctx context.Context, req debugger.Request) (*debugger.Value, error)
	Locals(ctx context.Context, panicID string, frame int) (*debugger.FrameVars, error)
	Expand(ctx context.Context, h debugger.Handle) (*debugger.Value, error)
}

var _ Evaluator = debugger.Evaluator(nil)

// Server is the websocket endpoint. Its zero value is not usable: set
// Evaluator and Authorize.
type Server struct {
	Evaluator Evaluator
	// Authorize decides, before the upgrade, whether r may open a console;
	// a status other than 200 refuses with that status and reason.
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
}

// Limits and timings of one connection.
const (
	MaxMessage = 64 << 10         // bytes in one request
	writeWait  = 10 * time.Second // to write one message
	pongWait   = 60 * time.Second // without a pong before the connection is dead
	pingPeriod = pongWait * 9 / 10
	sendQueue  = 16 // answers waiting for the writer
)
