package gcpause

import (
	"runtime/debug"
	"testing"
)

func TestHoldNestsAndRestores(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)

	a := Hold()
	b := Hold()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent during a hold = %d, want -1 (off)", p)
	}
	a()
	a() // idempotent: must not release b's hold
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC turned back on while a hold remains (percent %d)", p)
	}
	b()
	if p := debug.SetGCPercent(150); p != 150 {
		t.Fatalf("GC percent after the last release = %d, want 150 restored", p)
	}
}
