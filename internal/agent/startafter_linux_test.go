package agent_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/procfs"
	"github.com/panicroom/panicroom/internal/testapp"
)

// The agent's first start waits for Options.StartAfter (panicroom.New
// passes its warm-up's end): until it is closed no agent process exists,
// and then the agent starts and attaches as it would have.
func TestStartAfter(t *testing.T) {
	cmd := exec.Command(fixtureBinary(t))
	cmd.Env = append(os.Environ(), "PANICROOM_AGENT=", "FIXTURE_START_AFTER=1")
	f := launchFixture(t, cmd, cmd.Start)
	// Long enough for an agent that did not wait to have been forked (it
	// is, within milliseconds of Start), and not scaled on a slow machine:
	// the wait is bounded (2 s), and a shorter window can only miss a
	// fault, not invent one.
	time.Sleep(300 * time.Millisecond)
	if st := f.status(); st.State != debugapi.StateAttaching || st.AgentPID != 0 {
		t.Fatalf("status before StartAfter closed: %+v, want attaching with no agent", st)
	}
	if kids := agentChildren(cmd.Process.Pid); len(kids) > 0 {
		t.Fatalf("agent process %v started before StartAfter closed", kids)
	}
	f.do(command{Op: "start-agent"})
	if st := f.waitAttached(); st.State != debugapi.StateAttached {
		t.Fatalf("after StartAfter closed: %+v, want attached", st)
	}
	if kids := agentChildren(cmd.Process.Pid); len(kids) != 1 {
		t.Fatalf("agent processes after the attach: %v, want one", kids)
	}
}

// agentChildren lists the children of pid that run as the agent.
func agentChildren(pid int) []int {
	var out []int
	for _, p := range procfs.Children(pid) {
		if testapp.IsAgent(p) {
			out = append(out, p)
		}
	}
	return out
}
