package park

import (
	"testing"
	"time"
)

// TestHoldDelaysRelease: while a Hold lasts, Release neither returns nor
// lets the goroutine leave; once it ends, both happen; and a Hold asked
// after Release is refused.
func TestHoldDelaysRelease(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan uintptr)
	go deep(5, s, ready)
	<-ready

	unhold, ok := s.Hold()
	if !ok {
		t.Fatal("Hold refused on a parked goroutine")
	}
	released := make(chan struct{})
	go func() { s.Release(); close(released) }()
	select {
	case <-s.Left():
		t.Fatal("the goroutine left during a Hold")
	case <-released:
		t.Fatal("Release returned during a Hold")
	case <-time.After(100 * time.Millisecond):
	}
	unhold()
	select {
	case <-s.Left():
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine did not leave once the Hold ended")
	}
	<-released
	if _, ok := s.Hold(); ok {
		t.Fatal("Hold granted after Release")
	}
}
