//go:build linux

// The end-to-end tests run the real runner binary on real apps, on Linux,
// where the runner learns the app's address from /proc.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var runnerBin, goCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "panicroom-run-test")
	if err != nil {
		panic(err)
	}
	runnerBin = filepath.Join(dir, "panicroom")
	// GOCACHE's default is under XDG_CACHE_HOME, which each runner gets
	// its own of: keep the warm build cache.
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		goCache = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("go", "build", "-o", runnerBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the runner: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects the runner's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type runner struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *syncBuffer
	dir  string
	home string // its XDG_CACHE_HOME and XDG_CONFIG_HOME are in here
	base string
	done chan struct{}
}

// startRunner runs "panicroom run" on the module in dir, with its own
// cache (the binary) and config (the PIN) directories.
func startRunner(t *testing.T, dir string, port int, args ...string) *runner {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(runnerBin, append([]string{"run", "-poll", "100ms"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "PANICROOM_EDITOR=none", "GOCACHE="+goCache)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, cmd: cmd, out: out, dir: dir, home: home, base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("runner output:\n%s", out.String())
		}
	})
	return r
}

func (r *runner) get(path, accept string) (int, string, error) {
	req, _ := http.NewRequest("GET", r.base+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// waitFor polls path until its body contains want.
func (r *runner) waitFor(path, accept, want string, within time.Duration) string {
	r.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		_, body, err := r.get(path, accept)
		if err == nil && strings.Contains(body, want) {
			return body
		}
		last = body
		if err != nil {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("GET %s: no %q within %s; last answer:\n%.2000s", path, want, within, last)
	return ""
}

func (r *runner) write(name, body string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	// A new modification time even on a file system with coarse ones.
	old, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if old != nil {
		if now, _ := os.Stat(p); now != nil && now.ModTime().Equal(old.ModTime()) && now.Size() == old.Size() {
			os.Chtimes(p, time.Now(), old.ModTime().Add(time.Second))
		}
	}
}

const appMain = `package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"
)

var start = time.Now()

func main() {
	addr := flag.String("addr", "", "")
	flag.Parse()
	ch := make(chan int)
	for i := 0; i < 3; i++ {
		go worker(ch)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, answer()) })
	http.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		go func() { panic("background boom") }()
		time.Sleep(time.Second)
	})
	if err := http.ListenAndServe(*addr, nil); err != nil {
		panic(err)
	}
}

func worker(ch chan int) { <-ch }
`

func answerGo(version string, slowStart bool) string {
	s := "package main\n\nimport \"time\"\n\nvar _ = time.Second\n\nfunc answer() string { return \"" + version + "\" }\n"
	if slowStart {
		// The app takes a while to listen, so that a request made during
		// the rebuild waits for the build and the start.
		s += "\nfunc init() { time.Sleep(700 * time.Millisecond) }\n"
	}
	return s
}

func newApp(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":    "module example.test/runapp\n\ngo 1.26\n",
		"main.go":   appMain,
		"answer.go": answerGo("version 1", false),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type runStatus struct {
	Phase string `json:"phase"`
	Run   int    `json:"run"`
}

// TestRunReloadAndFailures walks the dev loop with one runner: edit, a
// request during a rebuild, a compile error, its fix, a crash of a
// background goroutine, its fix, then Ctrl-C.
func TestRunReloadAndFailures(t *testing.T) {
	dir := newApp(t)
	port := freePort(t)
	r := startRunner(t, dir, port, ".", "--", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	// The first build compiles the standard library without optimizations
	// when the build cache has not seen it yet.
	r.waitFor("/", "", "version 1", 3*time.Minute)

	// Edit: the new code answers.
	r.write("answer.go", answerGo("version 2", false))
	r.waitFor("/", "", "version 2", 20*time.Second)

	// A request during the rebuild is held by the runner on the app's
	// address and answered by the new build.
	r.write("answer.go", answerGo("version 3", true))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body, err := r.get("/__panicroom__/run/status", "")
		var st runStatus
		if err == nil && json.Unmarshal([]byte(body), &st) == nil && st.Phase == "building" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runner never took the address over for the rebuild: %q %v", body, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	code, body, err := r.get("/", "")
	if err != nil || code != 200 || !strings.Contains(body, "version 3") {
		t.Fatalf("request during the rebuild: %d %q %v", code, body, err)
	}
	t.Logf("a request made during the rebuild waited %s and got the new build's answer", time.Since(start).Round(time.Millisecond))

	// Break the build: the page names file:line:col, in every format.
	r.write("answer.go", answerGo("version 4", false)+"\nfunc broken() int { return \"not an int\" }\n")
	html := r.waitFor("/anything", "text/html", "compile error", 20*time.Second)
	if !strings.Contains(html, "answer.go:9:") || !strings.Contains(html, `class="src chroma"`) || !strings.Contains(html, "run.js") || !strings.Contains(html, `<code class="vtype">example.test/runapp</code>`) {
		t.Errorf("the compile error page lacks the position, the source or the reload script:\n%.3000s", html)
	}
	code, text, _ := r.get("/", "")
	if code != 503 || !regexp.MustCompile(`answer\.go:9:\d+: cannot use "not an int"`).MatchString(text) || !regexp.MustCompile(`>\s+9 \| func broken`).MatchString(text) {
		t.Errorf("text view: %d\n%s", code, text)
	}
	_, js, _ := r.get("/", "application/json")
	var st struct {
		Phase   string
		Failure struct {
			Kind  string
			Build struct {
				Errors []struct {
					File string
					Line int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil || st.Phase != "failed" || st.Failure.Kind != "build" || len(st.Failure.Build.Errors) != 1 || st.Failure.Build.Errors[0].Line != 9 {
		t.Errorf("JSON view: %v\n%s", err, js)
	}

	// Fix it: back.
	r.write("answer.go", answerGo("version 5", false))
	r.waitFor("/", "", "version 5", 20*time.Second)

	// A background goroutine's panic kills the app: the crash page shows
	// it, and every goroutine, the three workers as one group.
	r.get("/crash", "")
	html = r.waitFor("/", "text/html", "background boom", 10*time.Second)
	for _, want := range []string{"The app crashed: panic: background boom", "3 goroutines [chan receive]", `<span class="name">worker</span>`, "crashed", "exit status 2"} {
		if !strings.Contains(html, want) {
			t.Errorf("crash page lacks %q", want)
		}
	}
	_, text, _ = r.get("/", "text/plain")
	if !strings.Contains(text, "3 goroutines [chan receive]: ") || !strings.Contains(text, "panic: background boom") {
		t.Errorf("crash text view:\n%s", text)
	}

	// A save brings it back.
	r.write("answer.go", answerGo("version 6", false))
	r.waitFor("/", "", "version 6", 20*time.Second)

	// Ctrl-C (SIGINT, sent to the runner alone here: no terminal) reaches
	// the app, and the runner exits with the app's status: a Go program
	// killed by SIGINT, 128+2.
	r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the runner did not exit on SIGINT")
	}
	if got := r.cmd.ProcessState.ExitCode(); got != 130 {
		t.Errorf("runner exit status %d, want 130 (the app's death by SIGINT)", got)
	}
}

// Without -reload, the runner is go run with the console's flags: the
// app's arguments, signals and exit status pass through.
func TestRunOnceKeepsExitStatus(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.test/once\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(`package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fmt.Println("args:", os.Args[1:])
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("ready")
	<-c
	fmt.Println("got SIGTERM")
	os.Exit(7)
}
`), 0o644)
	r := startRunner(t, dir, 0, "-reload=false", ".", "--", "-x", "y z")
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(r.out.String(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the app never started:\n%s", r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
	if got := r.cmd.ProcessState.ExitCode(); got != 7 {
		t.Errorf("exit status %d, want the app's 7", got)
	}
	if out := r.out.String(); !strings.Contains(out, "args: [-x y z]") || !strings.Contains(out, "got SIGTERM") {
		t.Errorf("output:\n%s", out)
	}
}

// The PIN is keyed by the main package's path, so the binary the runner
// rebuilds into its cache keeps it across restarts, and so does the key
// that signs the browser's unlock cookie.
func TestRunPINSurvivesRestart(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// The app's go.mod lists what panicroom requires, as go mod tidy would
	// (module graph pruning), without reaching the network.
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	requires := string(mod)[strings.Index(string(mod), "require"):]
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.test/pinapp\n\ngo 1.26\n\nrequire github.com/panicroom/panicroom v0.0.0\n\n" + requires + "\nreplace github.com/panicroom/panicroom => " + root + "\n",
		"go.sum": string(sum),
		"main.go": `package main

import (
	"flag"
	"fmt"
	"net/http"

	"github.com/panicroom/panicroom"
)

func main() {
	addr := flag.String("addr", "", "")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, answer()) })
	http.ListenAndServe(*addr, panicroom.Wrap(mux))
}
`,
		"answer.go": answerGo("version 1", false),
	}
	for name, body := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	port := freePort(t)
	r := startRunner(t, dir, port, ".", "--", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	r.waitFor("/", "", "version 1", 4*time.Minute)
	pinRE := regexp.MustCompile(`debugger PIN (\d{3}-\d{3}-\d{3})`)
	waitPINs := func(n int) []string {
		deadline := time.Now().Add(30 * time.Second)
		for {
			m := pinRE.FindAllStringSubmatch(r.out.String(), -1)
			if len(m) >= n {
				var pins []string
				for _, x := range m {
					pins = append(pins, x[1])
				}
				return pins
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d PIN lines, want %d", len(m), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	first := waitPINs(1)[0]
	keys, _ := filepath.Glob(filepath.Join(r.home, "config", "panicroom", "*.key"))
	var key []byte
	if len(keys) == 1 {
		key, _ = os.ReadFile(keys[0])
	}
	r.write("answer.go", answerGo("version 2", false))
	r.waitFor("/", "", "version 2", 60*time.Second)
	pins := waitPINs(2)
	for _, p := range pins {
		if p != first {
			t.Errorf("PINs across the restart: %q", pins)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("cookie keys: %q", keys)
	}
	if again, _ := os.ReadFile(keys[0]); !bytes.Equal(again, key) || len(key) == 0 {
		t.Errorf("the cookie key changed across the restart: the browser's unlock would be lost")
	}
}
