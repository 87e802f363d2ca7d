package agent

import (
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/park"
)

// TestHoldForWrite: an assignment's request holds its goroutine parked; an
// answered one lets it go at once, and one abandoned without an answer
// only once no request is in flight with the agent (it may still be
// writing). Reads hold nothing, and neither does an assignment to frames a
// call was handed pointers into.
func TestHoldForWrite(t *testing.T) {
	spot, err := park.New()
	if err != nil {
		t.Fatal(err)
	}
	go spot.Wait()
	a := &Client{sem: make(chan struct{}, 1)}
	r := &record{p: debugapi.Panic{Parked: park.Live(spot)}}

	read := wire.EvalIn{Expr: "total"}
	a.holdForWrite(r, &read)(false)
	if read.Held {
		t.Error("a read was marked held")
	}

	wr := wire.EvalIn{Expr: "total = 3"}
	a.holdForWrite(r, &wr)(true)
	if wr.Held {
		t.Error("still marked held after the answer")
	}

	r.shared.Store(true)
	shared := wire.EvalIn{Expr: "total = 3"}
	a.holdForWrite(r, &shared)(true)
	if shared.Held {
		t.Error("held for a live write after a call was handed the frames")
	}
	r.shared.Store(false)

	wr = wire.EvalIn{Expr: "total = 3"}
	end := a.holdForWrite(r, &wr)
	if !wr.Held {
		t.Fatal("an assignment was not held")
	}
	a.sem <- struct{}{} // the abandoned request, still with the agent
	end(false)
	released := make(chan struct{})
	go func() { spot.Release(); close(released) }()
	select {
	case <-released:
		t.Fatal("released while the abandoned assignment was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	<-a.sem // its answer came
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("not released once no request was in flight")
	}
	<-spot.Left()
}
