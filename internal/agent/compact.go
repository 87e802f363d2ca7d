package agent

import (
	"unique"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/intern"
)

// A parked panic's snapshot stays in the app for as long as the panic is
// remembered. Decoded from JSON, its trees held every slice with the
// decoder's growth slack (up to twice its length, and a Value is some
// 170 bytes) and a copy of every type, kind and handle string per value:
// for 20 frames of the benchmark's app, about a third of a parked panic's
// memory. compactSnapshot keeps the same values in exact-length slices,
// with the strings shared: function, type and kind names through
// intern.Name, across panics too (the binary has a bounded set of them);
// value names and handles' panic IDs through unique.Make, shared while
// alive and freed after (a map element's name holds its key, the app's
// data, and an ID is the panic's own).
func compactSnapshot(s *debugapi.Snapshot) *debugapi.Snapshot {
	if s == nil {
		return nil
	}
	c := *s
	c.Frames = make([]debugapi.FrameVars, len(s.Frames))
	for i, f := range s.Frames {
		f.Function = intern.Name(f.Function)
		f.Args = compactValues(f.Args)
		f.Locals = compactValues(f.Locals)
		c.Frames[i] = f
	}
	return &c
}

func compactValues(vs []debugapi.Value) []debugapi.Value {
	if len(vs) == 0 {
		return vs[:0:0] // nil stays nil (null in JSON), empty stays empty ([])
	}
	out := make([]debugapi.Value, len(vs))
	for i, v := range vs {
		v.Name, v.Type, v.Kind = shared(v.Name), intern.Name(v.Type), intern.Name(v.Kind)
		v.Children = compactValues(v.Children)
		if v.More != nil {
			h := *v.More
			h.Panic = shared(h.Panic)
			v.More = &h
		}
		out[i] = v
	}
	return out
}

func shared(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
