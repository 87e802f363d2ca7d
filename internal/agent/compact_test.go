package agent

import (
	"encoding/json"
	"testing"
	"unsafe"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// TestCompactSnapshotKeepsEveryValue: the compacted snapshot encodes to
// the same JSON as the decoded one (what the console receives), with no
// slice longer than needed and one copy of each type name.
func TestCompactSnapshotKeepsEveryValue(t *testing.T) {
	leaf := func(name, typ string) debugapi.Value {
		return debugapi.Value{Name: name, Type: typ, Kind: "int", Value: "1", Len: -1, Cap: -1}
	}
	in := &debugapi.Snapshot{Panic: "p1", Frames: []debugapi.FrameVars{
		{Frame: 0, Function: "main.f", Args: []debugapi.Value{leaf("a", "int"), {Name: "u", Type: "*main.User", Kind: "ptr", Children: []debugapi.Value{leaf("N", "int")}, More: &debugapi.Handle{Panic: "p1", Expr: "u"}}}, Locals: []debugapi.Value{}},
		{Frame: 1, Missing: "not an app frame"},
	}}
	wire, _ := json.Marshal(in)
	var decoded debugapi.Snapshot
	if err := json.Unmarshal(wire, &decoded); err != nil {
		t.Fatal(err)
	}
	c := compactSnapshot(&decoded)
	got, _ := json.Marshal(c)
	if string(got) != string(wire) {
		t.Fatalf("compacted snapshot differs:\n got %s\nwant %s", got, wire)
	}
	var walk func([]debugapi.Value)
	walk = func(vs []debugapi.Value) {
		if cap(vs) != len(vs) {
			t.Errorf("a slice of %d values with capacity %d", len(vs), cap(vs))
		}
		for _, v := range vs {
			walk(v.Children)
		}
	}
	for _, f := range c.Frames {
		walk(f.Args)
		walk(f.Locals)
	}
	a, b := c.Frames[0].Args[0].Type, c.Frames[0].Args[1].Children[0].Type
	if a != "int" || unsafeData(a) != unsafeData(b) {
		t.Errorf("the type name \"int\" is not shared between values")
	}
	if compactSnapshot(nil) != nil {
		t.Error("a nil snapshot")
	}
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }
