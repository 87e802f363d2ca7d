package agent_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/testapp"
)

// The fixture is built once per test binary run: a -N -l build of the
// debugger with Delve linked takes ~10 s on the shared machine.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func fixtureBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		var ok bool
		if buildBin, ok, buildErr = testapp.Prebuilt("debugger-app"); ok {
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "panicroom-debugger-test")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "app")
		cmd := exec.Command("go", "build", "-gcflags=all=-N -l", "-o", buildBin, "./testdata/app")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the fixture: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// fixture is one running app with its agent.
type fixture struct {
	t      testing.TB
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *testapp.Buffer
	mu     sync.Mutex
}

type command struct {
	Op     string
	Panic  string           `json:",omitempty"`
	Frame  int              `json:",omitempty"`
	Expr   string           `json:",omitempty"`
	Handle *debugapi.Handle `json:",omitempty"`
	N      int              `json:",omitempty"`
}

type reply struct {
	Value    *debugapi.Value
	Snapshot *debugapi.Snapshot
	Vars     *debugapi.FrameVars
	Status   *debugapi.Status
	Err      *debugapi.Error
	Other    string
	Took     time.Duration
}

func startFixture(t testing.TB, env ...string) *fixture {
	t.Helper()
	cmd := exec.Command(fixtureBinary(t))
	cmd.Env = append(os.Environ(), "PANICROOM_AGENT=")
	for _, e := range env {
		if e != "" {
			cmd.Env = append(cmd.Env, e)
		}
	}
	f := launchFixture(t, cmd, cmd.Start)
	st := f.waitAttached()
	if st.State == debugapi.StateUnavailable && strings.Contains(st.Reason, "ptrace") {
		t.Skipf("ptrace is not available here: %s (%s)", st.Reason, st.Fix)
	}
	if st.State != debugapi.StateAttached {
		t.Fatalf("agent did not attach: %+v\n%s", st, f.stderr.String())
	}
	return f
}

// launchFixture wires cmd's pipes, starts it with start and stops it at
// the end of the test.
func launchFixture(t testing.TB, cmd *exec.Cmd, start func() error) *fixture {
	t.Helper()
	if noConsoleBuild {
		// The fixture is an app of its own, built with the console whatever
		// this binary's tags: its tests belong to the main run, and
		// repeating them here tests nothing about the no-console build.
		t.Skip("the fixture's tests run in the main test run; -tags panicroom_noconsole tests this package without the console")
	}
	// The fixture needs the console; on linux/386 (make noconsole) the
	// package is tested without it.
	testapp.SkipWithoutConsole(t)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testapp.Buffer{}
	cmd.Stderr = stderr
	if err := start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(outp)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	f := &fixture{t: t, cmd: cmd, in: in, out: sc, stderr: stderr}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("fixture stderr:\n%s", stderr.String())
		}
	})
	return f
}

// do sends one command and returns its reply. A missing reply means the
// app died, which is exactly what several tests must rule out.
func (f *fixture) do(c command) reply {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(c)
	if _, err := f.in.Write(append(b, '\n')); err != nil {
		f.t.Fatalf("%s: the app is gone: %v", c.Op, err)
	}
	if !f.out.Scan() {
		f.t.Fatalf("%s %q: no reply, the app died (%v)", c.Op, c.Expr, f.out.Err())
	}
	var r reply
	if err := json.Unmarshal(f.out.Bytes(), &r); err != nil {
		f.t.Fatalf("bad reply %q: %v", f.out.Text(), err)
	}
	return r
}

func (f *fixture) status() debugapi.Status { return *f.do(command{Op: "status"}).Status }

func (f *fixture) waitAttached() debugapi.Status {
	f.t.Helper()
	deadline := time.Now().Add(testapp.Scaled(60 * time.Second))
	for {
		st := f.status()
		if st.State == debugapi.StateAttached || st.State == debugapi.StateUnavailable || time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) panic(id string) {
	f.t.Helper()
	f.do(command{Op: "panic", Panic: id})
}

func (f *fixture) eval(id string, frame int, expr string) reply {
	f.t.Helper()
	return f.do(command{Op: "eval", Panic: id, Frame: frame, Expr: expr})
}

// mustEval returns the value's short rendering or fails.
func (f *fixture) mustEval(id string, frame int, expr string) *debugapi.Value {
	f.t.Helper()
	r := f.eval(id, frame, expr)
	if r.Err != nil {
		f.t.Fatalf("frame %d: %s: %v", frame, expr, r.Err)
	}
	return r.Value
}

// alive proves the app still runs code of its own: its heartbeat ticks.
func alive(t *testing.T, f *fixture) {
	t.Helper()
	var b1, b2, gap int64
	fmt.Sscan(f.do(command{Op: "heartbeat"}).Other, &b1, &gap)
	for deadline := time.Now().Add(testapp.Scaled(3 * time.Second)); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		fmt.Sscan(f.do(command{Op: "heartbeat"}).Other, &b2, &gap)
		if b2 > b1 {
			return
		}
	}
	t.Fatalf("the app's heartbeat stopped (%d -> %d)", b1, b2)
}

// backendName is the agent's backend in this run: PANICROOM_BACKEND as
// the agent reads it (make test-lldb sets it to lldb).
func backendName() string {
	if b := os.Getenv("PANICROOM_BACKEND"); b != "" {
		return b
	}
	if runtime.GOOS == "darwin" {
		return "lldb"
	}
	return "native"
}

// throughStub reports whether the agent drives the app through a debug
// stub (lldb-server, debugserver) rather than ptrace.
func throughStub() bool { return backendName() == "lldb" }

// readStops is how many times n reads stop the app: none with ptrace,
// which reads a running app; one each through a stub, which cannot.
func readStops(n int) int {
	if throughStub() {
		return n
	}
	return 0
}

// injectCalls makes the fixture's calls go through Delve's injection
// only, never through the app's own (direct.go): the tests of that path
// and of its faults start their fixture with it.
const injectCalls = "PANICROOM_INTERNAL_CALLS=inject"

// callMode names a subtest by the calls its fixture makes.
func callMode(env string) string {
	if env == injectCalls {
		return "injected"
	}
	return "direct"
}
