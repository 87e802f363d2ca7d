package backend

import (
	"github.com/go-delve/delve/pkg/proc"
)

// target is what differs between the ways the agent drives the app: how it
// attaches, whether it can read the app's memory while the app runs, and
// what an attach failure means. Halting, resuming, memory reads and writes
// with the app stopped, call injection and detaching are Delve's
// proc.TargetGroup for every backend, so they are not here.
type target interface {
	// attach stops the app and returns Delve's view of it, and the heap
	// layout the keep-alive reads when the backend could read it before
	// the stop (nil: prepareKeepAlive reads it in the stop).
	attach(pid int) (*proc.TargetGroup, *heapLayout, error)
	// liveMemory reads the app's memory while it runs, or is nil when the
	// backend cannot: then every read stops the app (never a read of a
	// moving target through a path that was not made for it).
	liveMemory(pid int) liveReader
	// explainAttach turns an attach error into the page's reason and the
	// one thing to do about it.
	explainAttach(err error, pid int) (reason, fix string)
	// stopped says why the app stopped on its own with err, when the
	// backend is the cause; else "".
	stopped(err error) string
}

// liveReader reads a running app.
type liveReader interface {
	proc.MemoryReadWriter
	read(buf []byte, addr uint64) bool
}
