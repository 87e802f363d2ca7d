package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/panicroom/panicroom/debugger"
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

func (f *fakeEvaluator) Status() debugger.Status {
	return debugger.Status{State: debugger.StateAttached}
}

func (f *fakeEvaluator) Snapshot(ctx context.Context, id string) (*debugger.Snapshot, error) {
	return &debugger.Snapshot{Panic: id, Frames: []debugger.FrameVars{{Frame: 0, Locals: []debugger.Value{{Name: "user", Kind: "ptr"}, {Name: "users", Kind: "map"}}}}}, nil
}

func (f *fakeEvaluator) Eval(ctx context.Context, req debugger.Request) (*debugger.Value, error) {
	switch req.Expr {
	case "block":
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, &debugger.Error{Code: debugger.CodeTimeout, Msg: "deadline"}
		}
	case "user":
		return &debugger.Value{Name: "user", Kind: "ptr", Type: "*main.User", Children: []debugger.Value{{Kind: "struct", Type: "main.User",
			Children: []debugger.Value{{Name: "Name", Kind: "string"}, {Name: "Email", Kind: "string"}, {Name: "ID", Kind: "int"}}}}}, nil
	case "gone":
		return nil, &debugger.Error{Code: debugger.CodeReleased, Msg: "released"}
	case "boom()":
		panic("evaluator bug")
	}
	if strings.Contains(req.Expr, "=") {
		lhs, rhs, _ := strings.Cut(req.Expr, "=")
		f.mu.Lock()
		f.vars[strings.TrimSpace(lhs)] = strings.TrimSpace(rhs)
		f.mu.Unlock()
		return &debugger.Value{Name: strings.TrimSpace(lhs), Value: strings.TrimSpace(rhs)}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vars[req.Expr]
	if !ok {
		return nil, &debugger.Error{Code: debugger.CodeEval, Msg: "could not find symbol value for " + req.Expr}
	}
	return &debugger.Value{Name: req.Expr, Value: v, Kind: "int"}, nil
}

func (f *fakeEvaluator) Locals(ctx context.Context, id string, frame int) (*debugger.FrameVars, error) {
	return &debugger.FrameVars{Frame: frame, Args: []debugger.Value{{Name: "w"}, {Name: "r"}}, Locals: []debugger.Value{{Name: "user"}, {Name: "users"}, {Name: "count"}}}, nil
}

func (f *fakeEvaluator) Expand(ctx context.Context, h debugger.Handle) (*debugger.Value, error) {
	return &debugger.Value{Name: h.Expr, Children: []debugger.Value{{Name: "[64]", Value: "1"}}}, nil
}

func newServer(t *testing.T, allow bool) (*httptest.Server, *fakeEvaluator) {
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
		{`{"id":12,"op":"status"}`, func(a answer) bool { return a.Status.State == debugger.StateAttached }, "status"},
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
