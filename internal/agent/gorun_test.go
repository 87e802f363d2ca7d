package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/testapp"
)

// TestGoRunBuildSaysWhichFlag runs the fixture built as go run builds it
// (the main package without its variables' debug information): the
// status, the log and the frames' locals must name -dwarf=true, where
// they used to say the frame had no variables.
func TestGoRunBuildSaysWhichFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fixture once more")
	}
	bin, prebuilt, err := testapp.Prebuilt("debugger-app-gorun")
	if err != nil {
		t.Fatal(err)
	}
	if !prebuilt {
		bin = filepath.Join(t.TempDir(), "app")
		build := exec.Command("go", "build", "-gcflags=all=-N -l", "-gcflags=github.com/panicroom/panicroom/internal/agent/testdata/app=-N -l -dwarf=false", "-o", bin, "./testdata/app")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PANICROOM_AGENT=")
	f := launchFixture(t, cmd, cmd.Start)
	st := f.waitAttached()
	if st.State != debugapi.StateAttached {
		t.Skipf("agent did not attach: %+v", st)
	}
	if !st.NoMainVariables {
		t.Fatalf("status %+v: NoMainVariables not set for a go run build", st)
	}
	f.panic("p")
	r := f.do(command{Op: "locals", Panic: "p", Frame: 3})
	if r.Err != nil || r.Vars == nil || !strings.Contains(r.Vars.Missing, "-dwarf=true") {
		t.Errorf("locals of a main frame: %+v, %+v; want Missing naming -dwarf=true", r.Vars, r.Err)
	}
	if log := f.stderr.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "-dwarf=true") {
		t.Errorf("the log does not warn with the flag:\n%s", log)
	}
}
