package park

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// deep puts n frames with stack-allocated data under the park, so that a
// shrink of the stack would have something to move.
//
//go:noinline
func deep(n int, s *Spot, ready chan<- uintptr) {
	var pad [256]byte
	pad[0] = byte(n)
	if n > 0 {
		deep(n-1, s, ready)
		return
	}
	ready <- 0
	s.Wait()
}

func TestWaitDoRelease(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan uintptr)
	go deep(50, s, ready)
	<-ready

	var ranOn atomic.Int64
	for i := 0; i < 3; i++ {
		if err := s.Do(func() { ranOn.Add(1) }); err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	if got := ranOn.Load(); got != 3 {
		t.Fatalf("Do ran %d times, want 3", got)
	}
	s.Release()
	select {
	case <-s.Left():
	case <-time.After(5 * time.Second):
		t.Fatal("goroutine did not leave after Release")
	}
	if err := s.Do(func() {}); err != ErrReleased {
		t.Fatalf("Do after release: %v, want ErrReleased", err)
	}
	s.Release() // idempotent, and must not write to a closed descriptor
}

// TestStackDoesNotMoveUnderGC is the reason the package exists: a goroutine
// parked in a channel receive would have its mostly idle, deep stack shrunk
// (copied) by the collector; one parked in read(2) must not.
func TestStackDoesNotMoveUnderGC(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan uintptr)
	go deep(200, s, ready)
	<-ready
	time.Sleep(10 * time.Millisecond) // let the goroutine enter read(2)
	for i := 0; i < 20; i++ {
		runtime.GC()
	}
	if err := s.Do(func() {}); err != nil { // a wake runs the check
		t.Fatal(err)
	}
	if s.Moved() {
		t.Fatal("stack of the parked goroutine moved during GC")
	}
	s.Release()
	<-s.Left()
}

// TestMovedDetectsGrowth proves the witness works: a function run through Do
// that needs far more stack than is left forces a copy, and Moved says so.
func TestMovedDetectsGrowth(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan uintptr)
	go deep(0, s, ready)
	<-ready
	if err := s.Do(func() { useStack(512) }); err != nil { // far past any stack Wait could have grown to
		t.Fatal(err)
	}
	if !s.Moved() {
		t.Fatal("Moved did not notice a stack copy forced by Do")
	}
	s.Release()
	<-s.Left()
}

//go:noinline
func useStack(n int) byte {
	var pad [1024]byte
	pad[n%1024] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return useStack(n-1) + pad[n%1024]
}

// TestDoReturnsAtTheRead: Do returns once the goroutine is about to block
// in read(2) again, not merely once fn has returned; a caller holding the
// collector off relies on that stretch being covered.
func TestDoReturnsAtTheRead(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	slow := func() { time.Sleep(time.Millisecond) }
	testHookAfterRun.Store(&slow)
	defer testHookAfterRun.Store(nil)
	go s.Wait()
	defer s.Release()
	for s.reads.Load() == 0 {
		runtime.Gosched()
	}
	for i := 0; i < 20; i++ {
		before := s.reads.Load()
		if err := s.Do(func() {}); err != nil {
			t.Fatal(err)
		}
		if after := s.reads.Load(); after != before+1 {
			t.Fatalf("Do #%d returned with %d reads started, want %d", i, after, before+1)
		}
	}
}

// TestNoShrinkAfterParkedCollections: a collection that finds the parked
// goroutine in read(2) cannot shrink its stack, so it leaves the shrink for
// the goroutine's next synchronous preemption (runtime.scanstack sets
// preemptShrink). That comes during the next Do that runs long enough for
// sysmon to preempt it, however long the collector has been held off
// since. Wait must run deep enough that such a shrink finds too much of the
// stack in use to shrink it.
func TestNoShrinkAfterParkedCollections(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan uintptr)
	go func() {
		useStack(40) // a 64 KiB stack, then shallow again: a shrink's target
		deep(0, s, ready)
	}()
	<-ready
	time.Sleep(10 * time.Millisecond) // into read(2)
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	if err := s.Do(func() {
		// Calls with prologues for 50 ms: sysmon asks for a preemption,
		// and a prologue takes it synchronously.
		for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
			useStack(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if s.Moved() {
		t.Fatalf("the parked stack moved during Do after collections: %s", s.MovedAt())
	}
	s.Release()
	<-s.Left()
}

// TestDoBeforeWait: a Do sent before the goroutine has reached Wait (the
// command waits in the pipe) still returns only once the goroutine is
// about to read again after running it, not at its first read.
func TestDoBeforeWait(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	slow := func() { time.Sleep(time.Millisecond) }
	testHookAfterRun.Store(&slow)
	defer testHookAfterRun.Store(nil)
	done := make(chan error, 1)
	go func() { done <- s.Do(func() {}) }()
	time.Sleep(10 * time.Millisecond) // the command is in the pipe
	go s.Wait()
	defer s.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.reads.Load(); got != 2 {
		t.Fatalf("Do returned with %d reads started, want 2 (the one that ran it and the next)", got)
	}
}

// TestWaitLetsTheGoroutineBeforeItRun: a goroutine started just before
// Wait (the middleware's finish, which holds the collector off for the
// panic's frames) runs before Wait blocks in read(2), rather than when the
// runtime takes the P back from the system call. With one P nothing else
// can run it meanwhile: it sees no read yet only if Wait yielded first.
func TestWaitLetsTheGoroutineBeforeItRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 20 {
		s, err := New()
		if err != nil {
			t.Fatal(err)
		}
		seen := make(chan uint64, 1)
		go func() {
			go func() { seen <- s.reads.Load() }()
			s.Wait()
		}()
		if n := <-seen; n != 0 {
			t.Fatalf("the goroutine started before Wait ran after %d read(2) calls, want before the first", n)
		}
		s.Release()
		<-s.Left()
	}
}
