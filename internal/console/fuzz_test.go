package console

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds the websocket message decoder arbitrary bytes: it must
// never panic, and a request it accepts must satisfy what the handlers rely
// on (a known op, a panic id where one is needed, a bounded expression and
// frame).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id": 1, "op": "eval", "panic": "p", "frame": 2, "expr": "u.Name"}`,
		`{"id": 2, "op": "expand", "handle": {"Panic": "p", "Frame": 1, "Expr": "x", "Start": 64}}`,
		`{"id": 3, "op": "locals", "panic": "p", "frame": 2}`,
		`{"id": 4, "op": "snapshot", "panic": "p"}`,
		`{"id": 5, "op": "complete", "panic": "p", "frame": 2, "expr": "u.Na"}`,
		`{"id": 6, "op": "status"}`,
		`{"op": "eval", "panic": "p", "frame": -1, "expr": "x"}`,
		`{"op": "eval", "panic": "p", "frame": 1e10, "expr": "x"}`,
		`{"op": "expand", "handle": null}`, `{"op": "nope"}`, `{}`, `[]`, `null`, `"eval"`, ``, `{"id": 1e400}`,
		`{"op": "eval", "panic": "p", "expr": "x", "unsafe": true, "op": "status"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode(b)
		if err != nil {
			return
		}
		switch r.Op {
		case "eval", "complete", "locals", "snapshot":
			if r.Panic == "" {
				t.Fatalf("accepted %q without a panic id", b)
			}
		case "expand":
			if r.Handle == nil || r.Handle.Panic == "" {
				t.Fatalf("accepted %q without a handle", b)
			}
		case "status":
		default:
			t.Fatalf("accepted %q with op %q", b, r.Op)
		}
		if r.Op == "eval" && r.Expr == "" {
			t.Fatalf("accepted an empty eval: %q", b)
		}
		if len(r.Expr) > maxExpr || r.Frame < 0 || r.Frame > 1<<16 {
			t.Fatalf("accepted out-of-bounds %q: expr %d bytes, frame %d", b, len(r.Expr), r.Frame)
		}
		if _, err := json.Marshal(answer{ID: r.ID, Op: r.Op}); err != nil {
			t.Fatalf("the answer to %q cannot be encoded: %v", b, err)
		}
	})
}
