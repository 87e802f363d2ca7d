package wire

import (
	"encoding/json"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// Each operation is its payload: the name the logs give, the scope the
// agent matches frames for, and the payload itself survive the line.
func TestRequestNamesItsOperation(t *testing.T) {
	at := At{Scope: Scope{Panic: "p1", Goroutine: 7, Frames: []debugapi.Frame{{Function: "main.f"}}}, Frame: 2}
	for _, tc := range []struct {
		op  string
		req Request
	}{
		{"snapshot", Request{Snapshot: &SnapshotIn{Scope: at.Scope, KeepAlive: true}}},
		{"eval", Request{Eval: &EvalIn{At: at, Expr: "x = 1", Call: true}}},
		{"locals", Request{Locals: &LocalsIn{At: at}}},
		{"expand", Request{Expand: &ExpandIn{At: at, Expr: "m", Start: 64}}},
		{"", Request{}},
		{"", Request{Eval: &EvalIn{}, Locals: &LocalsIn{}}},
	} {
		b, err := json.Marshal(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		var got Request
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Op() != tc.op {
			t.Errorf("%s: Op() = %q after %s", tc.op, got.Op(), b)
		}
		sc := got.Scope()
		switch tc.op {
		case "":
		default:
			if sc == nil || sc.Panic != "p1" || sc.Goroutine != 7 || len(sc.Frames) != 1 {
				t.Errorf("%s: scope %+v after %s", tc.op, sc, b)
			}
		}
	}
}
