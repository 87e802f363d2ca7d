package agent

import (
	"unique"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// A parked panic's snapshot stays in the app for as long as the panic is
// remembered. Decoded from JSON, its trees held every slice with the
// decoder's growth slack (up to twice its length, and a Value is some
// 170 bytes) and a copy of every type, kind and handle string per value:
// for 20 frames of the benchmark's app, about a third of a parked panic's
// memory. compactSnapshot keeps the same values in exact-length slices,
// with those strings shared (unique.Make: across panics too, and freed
// with the last of them).
func compactSnapshot(s *debugapi.Snapshot) *debugapi.Snapshot {
	if s == nil {
		return nil
	}
	c := *s
	c.Frames = make([]debugapi.FrameVars, len(s.Frames))
	for i, f := range s.Frames {
		f.Function = intern(f.Function)
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
		v.Name, v.Type, v.Kind = intern(v.Name), intern(v.Type), intern(v.Kind)
		v.Children = compactValues(v.Children)
		if v.More != nil {
			h := *v.More
			h.Panic = intern(h.Panic)
			v.More = &h
		}
		out[i] = v
	}
	return out
}

func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
