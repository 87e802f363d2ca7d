package reliability

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/relreport"
	"github.com/panicroom/panicroom/internal/testapp"
)

// attachedLine is the app's log line that says the agent is attached.
var attachedLine = regexp.MustCompile(`debugger attached in `)

// waitAttachedLog waits for the agent's "debugger attached" line without
// sending the app a request, as a developer who reads the terminal and then
// opens the failing page does: no status poll warms anything up first.
func (a *app) waitAttachedLog(timeout time.Duration) {
	a.t.Helper()
	testapp.SkipWithoutConsole(a.t)
	deadline := time.Now().Add(timeout)
	for !attachedLine.MatchString(a.Log()) {
		if time.Now().After(deadline) {
			a.t.Fatalf("no %q line within %v:\n%s", attachedLine, timeout, tail(a.Log(), 4<<10))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestFirstPanicAfterAttach starts fresh app processes and sends each one
// panic the moment its log says the debugger is attached: the first request
// the app ever serves. Each panic must stay parked with its console, its
// locals readable, instead of being released because a collection ran near
// it (the app's start-up garbage, the agent's attach, the first page's
// warm-up all come just before or with that first panic).
func TestFirstPanicAfterAttach(t *testing.T) {
	runs := scale(4, 10)
	r := relreport.Result{Area: "Load", Test: "first panic right after the debugger attached, in a fresh process", Iterations: runs,
		Outcome: "parked with its console and its locals"}
	defer finish(t, &r)
	var released []string
	for i := 0; i < runs; i++ {
		ok, why := firstPanic(t, i)
		if ok {
			r.Survived++
			continue
		}
		released = append(released, why)
	}
	// A release stays possible by design (a collection that ran near the
	// panic may have freed what its frames reference), and a loaded
	// machine meets one now and then (CI: 1 of 4 once). What this guards
	// is that it is not the rule: more than one in four fails; the
	// figure in RELIABILITY.md says how many there were.
	if len(released) > runs/4 {
		t.Errorf("%d of %d first panics lost their console: %s", len(released), runs, strings.Join(released, "; "))
	} else if len(released) > 0 {
		t.Logf("%d of %d first panics released by design: %s", len(released), runs, strings.Join(released, "; "))
	}
	r.Figures = append(r.Figures, fmt.Sprintf("%d fresh processes, %d first panics released", runs, len(released)))
}

// firstPanic runs one fresh app, panics it once right after the attach, and
// reports whether the panic kept its console, or why not.
func firstPanic(t *testing.T, run int) (bool, string) {
	t.Helper()
	a := startApp(t)
	defer a.stop(syscall.SIGKILL) // the next run need not wait for this one
	a.waitAttachedLog(attachTimeout)
	id, secret, err := a.panicPage(fmt.Sprintf("n=%d&label=first", run))
	if err != nil {
		t.Fatal(err)
	}
	frame, err := a.frameOf(id, "main.check")
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := a.login(secret)
	if err != nil {
		t.Fatal(err)
	}
	con, _, err := a.dial(secret, cookie)
	if err != nil {
		t.Fatal(err)
	}
	defer con.close()
	ans, err := con.eval(id, frame, "order.Items[2] + total", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Error != nil {
		why := ans.Error.Code + ": " + ans.Error.Message
		if m := regexp.MustCompile(`reason="([^"]*)"`).FindStringSubmatch(a.Log()); m != nil {
			why += " (" + m[1] + ")"
		}
		t.Logf("run %d: first panic released: %s", run, why)
		return false, why
	}
	if ans.Value == nil || ans.Value.Value != "12" {
		t.Fatalf("run %d: order.Items[2] + total = %+v, want 12", run, ans.Value)
	}
	return true, ""
}
