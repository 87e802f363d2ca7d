package agent_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/procfs"
)

// BenchmarkFigures prints the figures DESIGN.md asks for; it asserts
// nothing. Durations are measured inside the app (Evaluator call to
// answer), so they include the pipe round trip and the stop of the app.
//
//	go test -run '^$' -bench Figures -benchtime 1x ./internal/agent/
//	PANICROOM_BACKEND=lldb go test -run '^$' -bench Figures -benchtime 1x ./internal/agent/
func BenchmarkFigures(b *testing.B) {
	f := startFixture(b)
	st := f.status()
	b.Logf("backend: %s", backendName())
	var beats, gap int64
	fmt.Sscan(f.do(command{Op: "heartbeat"}).Other, &beats, &gap)
	b.Logf("attach: %v (agent start to ready); longest freeze of the app seen by a 1 ms ticker since start: %v", st.AttachTook.Round(time.Millisecond), time.Duration(gap).Round(time.Millisecond))
	f.panic("p")
	snap := f.do(command{Op: "snapshot", Panic: "p"})
	b.Logf("snapshot: %v stopped in the agent, %d frames", snap.Snapshot.Took.Round(time.Microsecond), len(snap.Snapshot.Frames))
	// A snapshot starts when a panic is parked: from the panic to its
	// answer, over fresh panics.
	var walls, stops []time.Duration
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("snap-%d", i)
		start := time.Now()
		f.panic(id)
		r := f.do(command{Op: "snapshot", Panic: id})
		if r.Err != nil {
			b.Fatalf("snapshot %s: %v", id, r.Err)
		}
		walls = append(walls, time.Since(start))
		stops = append(stops, r.Snapshot.Took)
		f.do(command{Op: "release", Panic: id})
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	sort.Slice(stops, func(i, j int) bool { return stops[i] < stops[j] })
	b.Logf("snapshot round trip (panic to answer): median %v, max %v; stopped in the agent: median %v over %d", walls[len(walls)/2].Round(time.Microsecond), walls[len(walls)-1].Round(time.Microsecond), stops[len(stops)/2].Round(time.Microsecond), len(walls))

	measure := func(f *fixture, name, expr string, n int) {
		var ds []time.Duration
		for i := 0; i < n; i++ {
			r := f.eval("p", 2, expr)
			if r.Err != nil {
				b.Fatalf("%s: %v", expr, r.Err)
			}
			ds = append(ds, r.Took)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		b.Logf("%s round trip (%s): median %v, max %v over %d", name, expr, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond), n)
	}
	for i := 0; i < b.N; i++ {
		measure(f, "eval", "items[10] + total", 30)
		measure(f, "call", "add(items[10], total)", 15)
		measure(f, "assignment", "total = 7", 30) // total's own value: later figures read it
	}
	// The same call through Delve's injection, which the app's own calls
	// leave to what they cannot make (nested calls, conversions, …).
	inj := startFixture(b, injectCalls)
	inj.panic("p")
	inj.do(command{Op: "snapshot", Panic: "p"})
	measure(inj, "call injected by Delve", "add(items[10], total)", 15)
	fmt.Sscan(f.do(command{Op: "heartbeat"}).Other, &beats, &gap)
	b.Logf("longest freeze of the app during evals and calls: %v", time.Duration(gap).Round(time.Microsecond))
	agent := f.status().AgentPID
	b.Logf("agent VmRSS %s, VmHWM %s", procfs.Status(agent, "VmRSS"), procfs.Status(agent, "VmHWM"))
}
