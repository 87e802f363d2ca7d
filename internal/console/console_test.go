package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/testapp"
)

// fakeEvaluator answers from a table; it stands in for the agent in this
// package's unit tests only (the real agent is exercised by the root and e2e
// tests).
type fakeEvaluator struct {
	mu      sync.Mutex
	vars    map[string]string // expr → value
	touched []string
	block   chan struct{} // Eval of "block" waits on it
}

func (f *fakeEvaluator) Status() debugapi.Status {
	return debugapi.Status{State: debugapi.StateAttached}
}

func (f *fakeEvaluator) Snapshot(ctx context.Context, id string) (*debugapi.Snapshot, error) {
	return &debugapi.Snapshot{Panic: id, Frames: []debugapi.FrameVars{{Frame: 0, Locals: []debugapi.Value{{Name: "user", Kind: "ptr"}, {Name: "users", Kind: "map"}}}}}, nil
}

func (f *fakeEvaluator) Eval(ctx context.Context, req debugapi.Request) (*debugapi.Value, error) {
	switch req.Expr {
	case "block":
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, &debugapi.Error{Code: debugapi.CodeTimeout, Msg: "deadline"}
		}
	case "user":
		return &debugapi.Value{Name: "user", Kind: "ptr", Type: "*main.User", Children: []debugapi.Value{{Kind: "struct", Type: "main.User",
			Children: []debugapi.Value{{Name: "Name", Kind: "string"}, {Name: "Email", Kind: "string"}, {Name: "ID", Kind: "int"}}}}}, nil
	case "gone":
		return nil, &debugapi.Error{Code: debugapi.CodeReleased, Msg: "released"}
	case "boom()":
		panic("evaluator bug")
	}
	if strings.Contains(req.Expr, "=") {
		lhs, rhs, _ := strings.Cut(req.Expr, "=")
		f.mu.Lock()
		f.vars[strings.TrimSpace(lhs)] = strings.TrimSpace(rhs)
		f.mu.Unlock()
		return &debugapi.Value{Name: strings.TrimSpace(lhs), Value: strings.TrimSpace(rhs)}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vars[req.Expr]
	if !ok {
		return nil, &debugapi.Error{Code: debugapi.CodeEval, Msg: "could not find symbol value for " + req.Expr}
	}
	return &debugapi.Value{Name: req.Expr, Value: v, Kind: "int"}, nil
}

func (f *fakeEvaluator) Locals(ctx context.Context, id string, frame int) (*debugapi.FrameVars, error) {
	return &debugapi.FrameVars{Frame: frame, Args: []debugapi.Value{{Name: "w"}, {Name: "r"}}, Locals: []debugapi.Value{{Name: "user"}, {Name: "users"}, {Name: "count"}}}, nil
}

func (f *fakeEvaluator) Expand(ctx context.Context, h debugapi.Handle) (*debugapi.Value, error) {
	return &debugapi.Value{Name: h.Expr, Children: []debugapi.Value{{Name: "[64]", Value: "1"}}}, nil
}

// newServer serves a console over f; edits, if any, change the Server
// before it starts.
func newServer(t *testing.T, allow bool, edits ...func(*Server)) (*httptest.Server, *fakeEvaluator) {
	f := &fakeEvaluator{vars: map[string]string{"count": "3"}, block: make(chan struct{})}
	s := &Server{
		Evaluator: f,
		Timeout:   2 * time.Second,
		Authorize: func(r *http.Request) (int, string) {
			if !allow {
				return http.StatusUnauthorized, "enter the PIN first"
			}
			return http.StatusOK, ""
		},
		Touch: func(id string) { f.mu.Lock(); f.touched = append(f.touched, id); f.mu.Unlock() },
		Methods: func(typ string) []string {
			if typ == "*main.User" || typ == "main.User" {
				return []string{"Greeting", "Initials"}
			}
			return nil
		},
	}
	for _, edit := range edits {
		edit(s)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, f
}

func dial(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var hello answer
	if err := c.ReadJSON(&hello); err != nil || hello.Op != "status" || hello.Status == nil {
		t.Fatalf("first message %+v, %v; want the status", hello, err)
	}
	return c
}

func roundTrip(t *testing.T, c *websocket.Conn, req string) answer {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		t.Fatal(err)
	}
	var a answer
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&a); err != nil {
		t.Fatalf("%s: %v", req, err)
	}
	return a
}

func TestProtocol(t *testing.T) {
	srv, f := newServer(t, true)
	c := dial(t, srv)
	for _, tc := range []struct {
		req      string
		check    func(answer) bool
		describe string
	}{
		{`{"id":1,"op":"eval","panic":"p1","frame":2,"expr":"count"}`, func(a answer) bool { return a.ID == 1 && a.Value.Value == "3" }, "a read"},
		{`{"id":2,"op":"eval","panic":"p1","frame":2,"expr":"count = 7"}`, func(a answer) bool { return a.Value.Value == "7" }, "an assignment"},
		{`{"id":3,"op":"eval","panic":"p1","frame":2,"expr":"count"}`, func(a answer) bool { return a.Value.Value == "7" }, "the read after it"},
		{`{"id":4,"op":"eval","panic":"p1","frame":2,"expr":"nosuch"}`, func(a answer) bool { return a.Error.Code == "eval" && strings.Contains(a.Error.Message, "nosuch") }, "an eval error"},
		{`{"id":5,"op":"eval","panic":"p1","frame":2,"expr":"gone"}`, func(a answer) bool {
			return a.Error.Code == "released" && strings.Contains(a.Error.Hint, "locals panel")
		}, "a released panic, in plain words"},
		{`{"id":6,"op":"expand","handle":{"Panic":"p1","Frame":0,"Expr":"big","Start":64}}`, func(a answer) bool { return a.Value.Children[0].Name == "[64]" }, "an expansion"},
		{`{"id":7,"op":"locals","panic":"p1","frame":1}`, func(a answer) bool { return a.Vars.Frame == 1 && len(a.Vars.Locals) == 3 }, "live locals"},
		{`{"id":8,"op":"snapshot","panic":"p1"}`, func(a answer) bool { return a.Snapshot.Panic == "p1" }, "the snapshot"},
		{`{"id":9,"op":"complete","panic":"p1","frame":0,"expr":"len(us"}`, func(a answer) bool { return strings.Join(a.Candidates, ",") == "user,users" }, "names"},
		{`{"id":10,"op":"complete","panic":"p1","frame":0,"expr":"x + user.E"}`, func(a answer) bool { return strings.Join(a.Candidates, ",") == "Email" }, "fields through a pointer"},
		{`{"id":17,"op":"complete","panic":"p1","frame":0,"expr":"user."}`, func(a answer) bool { return strings.Join(a.Candidates, ",") == "Email,Greeting,ID,Initials,Name" }, "fields and methods"},
		{`{"id":11,"op":"complete","panic":"p1","frame":0,"expr":"f("}`, func(a answer) bool { return len(a.Candidates) > 3 }, "everything after a paren"},
		{`{"id":12,"op":"status"}`, func(a answer) bool { return a.Status.State == debugapi.StateAttached }, "status"},
		{`{"id":13,"op":"eval","panic":"p1","expr":"boom()"}`, func(a answer) bool { return a.Error.Code == "internal" }, "an evaluator panic"},
		{`not json`, func(a answer) bool { return a.Error.Code == "bad-request" }, "malformed JSON"},
		{`{"id":14,"op":"teleport"}`, func(a answer) bool { return a.ID == 14 && strings.Contains(a.Error.Message, "unknown op") }, "an unknown op"},
		{`{"id":15,"op":"eval","panic":"p1"}`, func(a answer) bool { return strings.Contains(a.Error.Message, "needs an expression") }, "a missing expression"},
		{`{"id":16,"op":"eval","panic":"p1","frame":-1,"expr":"x"}`, func(a answer) bool { return strings.Contains(a.Error.Message, "out of range") }, "a negative frame"},
	} {
		a := roundTrip(t, c, tc.req)
		if !func() (ok bool) {
			defer func() {
				if recover() != nil {
					ok = false
				}
			}()
			return tc.check(a)
		}() {
			b, _ := json.Marshal(a)
			t.Errorf("%s: %s → %s", tc.describe, tc.req, b)
		}
	}
	// The connection survived all of that.
	if a := roundTrip(t, c, `{"id":99,"op":"eval","panic":"p1","expr":"count"}`); a.ID != 99 || a.Value == nil {
		t.Errorf("connection unusable after errors: %+v", a)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.touched) == 0 || f.touched[0] != "p1" {
		t.Errorf("requests did not touch their panic: %v", f.touched)
	}
}

// TestAnswersInOrder sends a slow request and fast ones after it: the
// answers must come back in the order asked.
func TestAnswersInOrder(t *testing.T) {
	srv, f := newServer(t, true)
	c := dial(t, srv)
	c.WriteMessage(websocket.TextMessage, []byte(`{"id":1,"op":"eval","panic":"p","expr":"block"}`))
	c.WriteMessage(websocket.TextMessage, []byte(`{"id":2,"op":"eval","panic":"p","expr":"count"}`))
	c.WriteMessage(websocket.TextMessage, []byte(`garbage`))
	time.Sleep(50 * time.Millisecond)
	close(f.block)
	var ids []int64
	for i := 0; i < 3; i++ {
		var a answer
		if err := c.ReadJSON(&a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if ids[0] != 1 || ids[1] != 2 || ids[2] != 0 {
		t.Errorf("answers came back as %v, want [1 2 0]", ids)
	}
}

func TestDeadline(t *testing.T) {
	srv, _ := newServer(t, true)
	c := dial(t, srv)
	start := time.Now()
	a := roundTrip(t, c, `{"id":1,"op":"eval","panic":"p","expr":"block"}`)
	if a.Error == nil || a.Error.Code != "timeout" || !strings.Contains(a.Error.Hint, "app keeps serving") {
		t.Fatalf("blocked eval: %+v", a)
	}
	if time.Since(start) > 8*time.Second {
		t.Errorf("the deadline did not cut the request short")
	}
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	srv, _ := newServer(t, false)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {srv.URL}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthorized dial: err %v, resp %+v", err, resp)
	}
}

func TestOversizedMessageClosesWithReason(t *testing.T) {
	srv, _ := newServer(t, true)
	c := dial(t, srv)
	big := `{"id":1,"op":"eval","panic":"p","expr":"` + strings.Repeat("x", MaxMessage) + `"}`
	c.WriteMessage(websocket.TextMessage, []byte(big))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized message: %v, want close 1009", err)
	}
}

func TestCrossOriginUpgradeRefused(t *testing.T) {
	srv, _ := newServer(t, true)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: err %v, resp %+v", err, resp)
	}
}

// TestPanicIsLogged makes the evaluator panic: the client gets an error
// answer and keeps its connection, and the log gets the panic with what
// was asked, at Error level, so that the bug can be reported.
func TestPanicIsLogged(t *testing.T) {
	var logs testapp.Buffer
	srv, _ := newServer(t, true, func(s *Server) { s.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	c := dial(t, srv)
	a := roundTrip(t, c, `{"id":7,"op":"eval","panic":"p1","expr":"boom()"}`)
	if a.Error == nil || a.Error.Code != "internal" || !strings.Contains(a.Error.Message, "evaluator bug") {
		t.Fatalf("a panic in the handler answered %+v", a)
	}
	if a := roundTrip(t, c, `{"id":8,"op":"eval","panic":"p1","expr":"count"}`); a.Value == nil {
		t.Errorf("the connection did not survive the panic: %+v", a)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "evaluator bug", "op=eval", "id=7", "panic_id=p1", "stack="} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// TestKeepsReadingDuringALongRequest blocks one eval for five pong
// deadlines, with a second request queued behind it: meanwhile the server
// must answer the client's pings and get the pongs to its own, so that the
// connection and both answers survive.
func TestKeepsReadingDuringALongRequest(t *testing.T) {
	const wait = 500 * time.Millisecond
	srv, f := newServer(t, true, func(s *Server) { s.pongWait = wait; s.Timeout = time.Minute })
	c := dial(t, srv)
	var pongs, pings atomic.Int32
	c.SetPongHandler(func(string) error { pongs.Add(1); return nil })
	c.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	answers := make(chan answer, 2)
	readErr := make(chan error, 1)
	go func() {
		for {
			var a answer
			if err := c.ReadJSON(&a); err != nil {
				readErr <- err
				return
			}
			answers <- a
		}
	}()
	c.WriteMessage(websocket.TextMessage, []byte(`{"id":1,"op":"eval","panic":"p","expr":"block"}`))
	c.WriteMessage(websocket.TextMessage, []byte(`{"id":2,"op":"eval","panic":"p","expr":"count"}`))
	for end := time.Now().Add(5 * wait); time.Now().Before(end); {
		if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
			t.Fatalf("ping during the long request: %v", err)
		}
		time.Sleep(wait / 6)
	}
	if pongs.Load() == 0 {
		t.Error("the server answered no ping while a request ran: it stopped reading")
	}
	if pings.Load() == 0 {
		t.Error("the server sent no keepalive ping while a request ran")
	}
	close(f.block)
	for _, want := range []int64{1, 2} {
		select {
		case a := <-answers:
			if a.ID != want {
				t.Errorf("answer %d, want %d", a.ID, want)
			}
		case err := <-readErr:
			t.Fatalf("the connection died before answer %d: %v", want, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("no answer %d", want)
		}
	}
}

// TestFullQueueAnswersBusy queues more requests behind a blocked one than
// the session holds: the one too many is refused at once, in words, and the
// others are all answered once the first returns.
func TestFullQueueAnswersBusy(t *testing.T) {
	srv, f := newServer(t, true, func(s *Server) { s.Timeout = time.Minute })
	c := dial(t, srv)
	c.WriteMessage(websocket.TextMessage, []byte(`{"id":1,"op":"eval","panic":"p","expr":"block"}`))
	n := maxQueued + 1
	for i := 0; i < n; i++ {
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"id":%d,"op":"eval","panic":"p","expr":"count"}`, i+2)))
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var busy answer
	if err := c.ReadJSON(&busy); err != nil {
		t.Fatalf("no answer while the first request runs: %v", err)
	}
	if busy.Error == nil || busy.Error.Code != "busy" || !strings.Contains(busy.Error.Message, "waiting") || busy.Error.Hint == "" {
		t.Fatalf("a request beyond the queue answered %+v, want a busy error", busy)
	}
	close(f.block)
	seen := map[int64]bool{busy.ID: true}
	for len(seen) < n+1 {
		var a answer
		if err := c.ReadJSON(&a); err != nil {
			t.Fatalf("after %d answers: %v", len(seen), err)
		}
		if seen[a.ID] {
			t.Fatalf("request %d answered twice", a.ID)
		}
		seen[a.ID] = true
	}
}

// TestAuthorizationRecheckedPerRequest withdraws the authorization of an
// open connection: the next request is refused with the reason and the fix,
// and the connection closes with 1008 (policy violation).
func TestAuthorizationRecheckedPerRequest(t *testing.T) {
	var signedOut atomic.Bool
	srv, _ := newServer(t, true, func(s *Server) {
		s.Authorize = func(r *http.Request) (int, string) {
			if r.Header.Get("Origin") == "" {
				return http.StatusForbidden, "not the handshake's request"
			}
			if signedOut.Load() {
				return http.StatusUnauthorized, "the PIN cookie has expired: enter the PIN again"
			}
			return http.StatusOK, ""
		}
	})
	c := dial(t, srv)
	if a := roundTrip(t, c, `{"id":1,"op":"eval","panic":"p1","expr":"count"}`); a.Value == nil {
		t.Fatalf("before: %+v", a)
	}
	signedOut.Store(true)
	a := roundTrip(t, c, `{"id":2,"op":"eval","panic":"p1","expr":"count"}`)
	if a.ID != 2 || a.Value != nil || a.Error == nil || a.Error.Code != "unauthorized" ||
		!strings.Contains(a.Error.Message, "expired") || !strings.Contains(a.Error.Hint, "enter the PIN") {
		t.Fatalf("a request after the sign-in expired answered %+v", a)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "expired") {
		t.Fatalf("after the refusal: %v, want close 1008 with the reason", err)
	}
}

func TestCloseReasonFits(t *testing.T) {
	for _, s := range []string{"short", strings.Repeat("é", 100), strings.Repeat("x", 200)} {
		got := closeReason(s)
		if len(got) > 123 || !utf8.ValidString(got) || (len(s) <= 123 && got != s) {
			t.Errorf("closeReason(%d bytes) = %q (%d bytes)", len(s), got, len(got))
		}
	}
}

// TestSelectsItsSubprotocol offers what the page offers: the server must
// select "panicroom", so that the browser accepts the connection and the
// answer does not repeat the secret.
func TestSelectsItsSubprotocol(t *testing.T) {
	srv, _ := newServer(t, true)
	d := websocket.Dialer{Subprotocols: []string{Subprotocol, "panicroom.secret.ABCDEFGHIJKLMNOPQRSTUVWXYZ"}}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := resp.Header.Values("Sec-WebSocket-Protocol"); c.Subprotocol() != Subprotocol || len(got) != 1 {
		t.Errorf("selected %q (header %q), want only %q", c.Subprotocol(), got, Subprotocol)
	}
}
