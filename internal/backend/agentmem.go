package backend

import (
	"runtime/debug"
	"time"
)

// The agent's memory is Delve's view of the app's binary: for the
// benchmark's app (built with -N -l, Delve linked in) 28 MiB live after
// attach, 12.5 MiB of it the raw DWARF sections that Delve reads into the
// heap and keeps (debug/elf Section.Data), the rest its maps of functions,
// types, compile units and line tables. Building them makes several
// times as much garbage, and with the default GOGC of 100 the heap peaked
// near twice the live size, 90 MiB of RSS, all of it kept after the load
// since the runtime returns freed pages to the system only slowly.
//
// So the agent runs with GOGC 50 (a heap of at most 1.5 times what it
// holds; a collection of this heap takes a few milliseconds of one core,
// and the load runs before the app is stopped; GOGC 25 saved 3 MiB more
// of peak for a slower load), and gives the freed pages back once it is
// attached. A lower GOGC from the environment is kept.
const agentGOGC = 50

// collectDuringLoad sets the agent's GOGC and returns the function that
// returns the load's garbage to the system once the agent is attached.
func collectDuringLoad() (settle func()) {
	if env := debug.SetGCPercent(agentGOGC); env > 0 && env < agentGOGC {
		debug.SetGCPercent(env)
	}
	return func() {
		// Off the request path: the app already has its answer.
		time.AfterFunc(0, debug.FreeOSMemory)
	}
}
