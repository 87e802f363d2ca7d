// Package agentprof lets the benchmarks profile panicroom's Delve agent,
// which is the app's own binary re-executed and never reaches main: when
// the process is the agent and PANICROOM_BENCH_AGENT_CPUPROFILE names a
// file, a CPU profile is written there until the process gets SIGUSR1.
//
// It must initialize before github.com/panicroom/panicroom/internal/backend,
// whose init runs the agent and exits: Go initializes packages that are ready in
// the order of their import paths, and this one's path sorts first and
// needs only packages the debugger needs too. benchapp checks the order at
// run time (Started) rather than trusting this comment.
package agentprof

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Started reports whether the profile was started in this process.
var Started bool

func init() {
	// The environment names are the debugger's own (internal/agent/wire).
	if os.Getenv("PANICROOM_INTERNAL_ROLE") != "agent" {
		return
	}
	path := os.Getenv("PANICROOM_BENCH_AGENT_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	Started = true
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		f.Close()
	}()
}
