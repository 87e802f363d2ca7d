// Package park holds a goroutine still while its stack stays inspectable.
//
// A recovered panic's frames live on the stack below the deferred function
// that recovered it. The runtime regards those frames as dead: their pointer
// slots are not adjusted when the stack is copied, and they are not GC roots.
// Two things would corrupt them while the goroutine waits for a debugger:
//
//   - a stack shrink by the garbage collector, which copies the stack;
//   - stack growth caused by code run on top of the dead frames.
//
// A Spot parks the goroutine in a blocking read on a pipe: read(2) on unix,
// ReadFile on an anonymous pipe on Windows. Both are system calls the
// runtime makes with entersyscall (on Windows through cgocall and
// asmstdcall), never through the netpoller, and the runtime never shrinks
// the stack of a goroutine that is in a system call
// (runtime.isShrinkStackSafe: gp.syscallsp != 0), so the stack stays where
// it is for as long as the goroutine waits; the cost is one OS thread per
// parked goroutine, which is why the number of parked goroutines is bounded
// by the caller. On other systems New returns an error.
//
// The goroutine can be asked to run a function on its own stack (Do), which
// is how a debugger gets the goroutine running on a thread for call
// injection. Every wake checks that the stack has not moved since Wait was
// entered (Moved), so a caller can refuse to trust frame memory that has.
package park

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// testHookAfterRun, when set, runs between a Do's function and the next
// read(2). Atomic: goroutines of other Spots may be running when a test
// sets it.
var testHookAfterRun atomic.Pointer[func()]

// ErrReleased is returned by Do when the goroutine has left its Spot.
var ErrReleased = errors.New("park: goroutine released")

// Wake commands, one byte each on the pipe.
const (
	cmdRun     = 'r'
	cmdRelease = 'q'
)

// A Spot is where one goroutine waits. Create it with New, have the goroutine
// call Wait, and end the wait with Release.
type Spot struct {
	rfd, wfd handle

	mu       sync.Mutex // serializes Do and guards fn
	fn       func()
	ran      chan uint64   // a Do's function returned, during this read
	left     chan struct{} // closed when Wait returns
	released atomic.Bool
	moved    atomic.Bool
	movedAt  atomic.Value // string: where the move was seen
	retries  atomic.Int64 // reads that returned EINTR or EAGAIN
	waiting  atomic.Bool
	reads    atomic.Uint64 // read(2) calls about to be made

	// fdMu orders writes against the close in Wait: a write to a closed
	// descriptor number could land in a file opened since.
	fdMu   sync.Mutex
	closed bool

	// holds is read-locked by each Hold and write-locked by Release
	// before it wakes the goroutine (hold.go).
	holds sync.RWMutex
}

// New returns a Spot with its pipe open. The pipe is closed when Wait
// returns, so every Spot must be waited on.
func New() (*Spot, error) {
	r, w, err := pipe()
	if err != nil {
		return nil, err
	}
	return &Spot{rfd: r, wfd: w, ran: make(chan uint64, 1), left: make(chan struct{})}, nil
}

// Wait parks the calling goroutine until Release. Functions passed to Do run
// on this goroutine, on top of its current stack, while it waits.
//
// Wait uses Reserve bytes of stack below its caller; the caller should
// have that much free, or Wait's own prologue grows (moves) the stack.
//
// Wait must be called at most once.
func (s *Spot) Wait() {
	if !s.waiting.CompareAndSwap(false, true) {
		panic("park: Wait called twice")
	}
	defer close(s.left)
	defer s.closeFDs()
	s.wait(false)
}

// Reserve is the stack Wait keeps in use beneath its caller while it
// waits. A collection that scans the goroutine in read(2) may not shrink
// its stack there, so it asks the goroutine to shrink it at its next
// synchronous preemption (runtime.scanstack, preemptShrink); that comes in
// the next Do that runs more than a few milliseconds, whether or not the
// collector is held off by then. The runtime shrinks only a stack less
// than a quarter used, and doubles it when it grows: a stack grown to give
// its goroutine Reserve+32 KiB of headroom (the middleware's) is at most
// 64 KiB, or less than twice the depth at that point plus Reserve+32 KiB,
// so with Reserve in use beneath every wait and every Do, it never is.
const Reserve = 16 << 10

// wait is Wait's loop, under a frame of Reserve bytes. The array is only
// touched on the branch never taken, so the frame costs nothing to set up.
//
//go:noinline
func (s *Spot) wait(never bool) {
	if never {
		var pad [Reserve]byte
		keep(&pad)
	}

	// The address of a local is the cheapest witness of where the stack is:
	// the uintptr copy is not adjusted by a stack copy, the pointer is.
	var marker byte
	anchor := uintptr(unsafe.Pointer(&marker))

	// A goroutine the caller started just before Wait (the middleware's
	// finish, which holds the collector off for the panic's frames) waits
	// in this P's run queue, and read(2) keeps the P until the runtime's
	// monitor takes it back: 1-24 ms measured on a busy core, during which
	// a collection may start and cost the panic its frames. Yielding here,
	// under Reserve, lets it run first; twice, because one yield in 61 runs
	// the global queue, where this goroutine has just gone, first.
	runtime.Gosched()
	runtime.Gosched()

	var buf [1]byte
	for {
		s.reads.Add(1)
		n, err := syscall.Read(s.rfd, buf[:])
		if uintptr(unsafe.Pointer(&marker)) != anchor && !s.moved.Load() {
			s.movedAt.Store(fmt.Sprintf("seen when read(2) returned (n=%d, err=%v, %d interrupted reads before)", n, err, s.retries.Load()))
			s.moved.Store(true)
		}
		if err == syscall.EINTR || err == syscall.EAGAIN {
			s.retries.Add(1)
			continue
		}
		if err != nil || n == 0 {
			return
		}
		switch buf[0] {
		case cmdRun:
			s.run()
			if h := testHookAfterRun.Load(); h != nil {
				(*h)()
			}
			if uintptr(unsafe.Pointer(&marker)) != anchor && !s.moved.Load() {
				s.movedAt.Store("seen after a function run through Do")
				s.moved.Store(true)
			}
		case cmdRelease:
			return
		}
	}
}

//go:noinline
func keep(p *[Reserve]byte) { p[0]++ }

func (s *Spot) run() {
	s.mu.Lock()
	fn := s.fn
	s.mu.Unlock()
	// The count says which read brought the command: Do waits for the
	// next one, which the goroutine may not even have started when Do
	// sent it the command.
	defer func() { s.ran <- s.reads.Load() }()
	if fn != nil {
		fn()
	}
}

// Do runs fn on the parked goroutine and returns when fn has returned and
// the goroutine is about to block in read(2) again. Calls are serialized.
// fn must not block forever: the goroutine cannot be released while fn
// runs.
//
// Until it is back in the system call the goroutine's stack can be shrunk
// by a collection like any running goroutine's; a caller that holds the
// collector off around Do should keep holding it a moment after Do returns,
// for the few instructions between the two.
func (s *Spot) Do(fn func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released.Load() {
		return ErrReleased
	}
	s.fn = fn
	if err := s.send(cmdRun); err != nil {
		s.fn = nil
		return err
	}
	s.mu.Unlock()
	select {
	case reads := <-s.ran:
		s.waitRead(reads)
	case <-s.left:
	}
	s.mu.Lock()
	s.fn = nil
	select {
	case <-s.left:
		return ErrReleased
	default:
		return nil
	}
}

// waitRead waits until the goroutine has started another read(2) since
// the count was reads, or has left: a few instructions after fn returns.
func (s *Spot) waitRead(reads uint64) {
	for s.reads.Load() == reads {
		select {
		case <-s.left:
			return
		default:
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// Release ends the wait. It waits for the Holds in progress to end, not
// for the goroutine to leave; use Left for that. Release is idempotent.
func (s *Spot) Release() {
	if s.released.Swap(true) {
		return
	}
	s.holds.Lock() // wait for every Hold to end
	s.holds.Unlock()
	s.send(cmdRelease)
}

// Left is closed when the goroutine has returned from Wait.
func (s *Spot) Left() <-chan struct{} { return s.left }

// Released reports whether Release has been called.
func (s *Spot) Released() bool { return s.released.Load() }

// Moved reports whether the parked goroutine's stack was found at another
// address than when Wait began. Once true, memory read from the parked
// frames can no longer be trusted.
func (s *Spot) Moved() bool { return s.moved.Load() }

// MovedAt says where the move was seen, for the message that reports it.
func (s *Spot) MovedAt() string {
	at, _ := s.movedAt.Load().(string)
	return at
}

func (s *Spot) send(cmd byte) error {
	s.fdMu.Lock()
	defer s.fdMu.Unlock()
	if s.closed {
		return ErrReleased
	}
	b := [1]byte{cmd}
	for {
		_, err := syscall.Write(s.wfd, b[:])
		if err == syscall.EINTR {
			continue
		}
		return err
	}
}

func (s *Spot) closeFDs() {
	s.fdMu.Lock()
	defer s.fdMu.Unlock()
	s.closed = true
	syscall.Close(s.rfd)
	syscall.Close(s.wfd)
}
