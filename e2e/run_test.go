//go:build linux

// "panicroom run" learns the app's address from /proc, so these tests run
// on Linux.
package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/panicroom/panicroom/internal/testapp"
)

// runApp is a module that uses panicroom from this checkout, as a user's
// app would; its go.mod lists what panicroom requires (module graph
// pruning), so that nothing is fetched.
func runApp(t *testing.T, files map[string]string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	requires := string(mod)[strings.Index(string(mod), "require"):]
	dir := t.TempDir()
	files["go.mod"] = "module example.test/followapp\n\ngo 1.26\n\nrequire github.com/panicroom/panicroom v0.0.0\n\n" + requires + "\nreplace github.com/panicroom/panicroom => " + root + "\n"
	files["go.sum"] = string(sum)
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startRunner runs "panicroom run" on the module in dir, the app on a free
// loopback port, with its own cache and config directories.
func startRunner(t *testing.T, dir string) (base string, log *testapp.Buffer) {
	t.Helper()
	runner, err := testapp.Build("github.com/panicroom/panicroom/cmd/panicroom")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	home := t.TempDir()
	cmd := exec.Command(runner, "run", "-poll", "100ms", ".", "--", "-addr", addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "PANICROOM_EDITOR=none",
		// GOCACHE's default is under XDG_CACHE_HOME: keep the warm one.
		"GOCACHE="+goCache())
	return "http://" + addr, startReloader(t, cmd, syscall.SIGTERM, "panicroom run")
}

// startReloader starts cmd, a reloader (panicroom run, air) with its
// output in the returned buffer, and stops it with stop at the end of the
// test (killed after 15 s), showing its output if the test failed.
func startReloader(t *testing.T, cmd *exec.Cmd, stop os.Signal, name string) *testapp.Buffer {
	t.Helper()
	log := &testapp.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(stop)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, log.String())
		}
	})
	return log
}

var goCache = sync.OnceValue(func() string {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

// writeFile replaces a file of the app, with a new modification time even
// on a file system with coarse ones.
func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	old, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(p); old != nil && now != nil && now.ModTime().Equal(old.ModTime()) {
		os.Chtimes(p, time.Now(), old.ModTime().Add(time.Second))
	}
}

// waitStatus polls url until it answers with status code.
func waitStatus(t *testing.T, url string, code int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := (&http.Client{Timeout: 40 * time.Second}).Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == code {
				return string(b)
			}
			last = fmt.Sprintf("%d %.300s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: no %d within %s; last: %s", url, code, within, last)
	return ""
}

// waitAcross is waitTrue across reloads: an evaluation that meets a page
// being replaced fails, and is tried again.
func waitAcross(s *session, what, cond string, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && v {
			return
		}
		if time.Now().After(deadline) {
			s.screenshotViewport("timeout")
			s.t.Fatalf("waiting for %s: %s stayed false for %v (last error: %v)", what, cond, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const followMain = `package main

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
	mux.HandleFunc("/item", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, item()) })
	http.ListenAndServe(*addr, panicroom.Wrap(mux))
}
`

func itemGo(body string) string {
	return "package main\n\nfunc item() string {\n\t" + body + "\n}\n"
}

// TestOpenPagesFollowTheRunner: with real headless Chromium, a real
// runner and a real app, pages left open follow the app through rebuilds.
// The app's own traceback page (its URL the request that panicked) says
// the app is down while the build is broken, then reloads itself once an
// edit fixes it; the runner's compile-error page reloads itself too; and a
// traceback page under /__panicroom__/ (which a reload could not bring
// back) says it is of an earlier run.
func TestOpenPagesFollowTheRunner(t *testing.T) {
	exe := chromium(t)
	dir := runApp(t, map[string]string{"main.go": followMain, "item.go": itemGo(`panic("item v1 is broken")`)})
	base, _ := startRunner(t, dir)
	// The first build compiles Delve and the standard library without
	// optimizations when the build cache has not seen them yet.
	waitStatus(t, base+"/item", 500, 5*time.Minute)

	s := newBrowser(t, exe, &app{&testapp.Process{URL: base}}, 5*time.Minute)
	// Pages of a panic are 500s, the runner's pages 503s, and while the
	// app restarts the EventSource meets a closed port: all by design.
	s.events.allow(`status of 503`)
	s.events.allow(`ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE`)
	// The runner stops the app with SIGTERM, and this app, like most,
	// exits at once: its open event stream is cut mid-chunk, which is
	// how the EventSource learns the app is gone.
	s.events.allow(`ERR_INCOMPLETE_CHUNKED_ENCODING http://[^ ]*/__panicroom__/run/events `)

	// 1. The app's traceback page, open, while the build breaks and is
	// fixed.
	s.open("/item")
	waitAcross(s, "the traceback page to hear its run", `document.body.dataset.runState === "current" && document.body.innerText.includes("item v1 is broken")`, 30*time.Second)
	eval[int](s, `window.e2eMark = 1`)
	writeFile(t, dir, "item.go", itemGo(`return 42`))
	waitAcross(s, "the page to say the build failed", `document.getElementById("run-follow").textContent.includes("The build failed")`, 60*time.Second)
	if !eval[bool](s, `window.e2eMark === 1`) {
		t.Fatal("the traceback page reloaded on a failed build: it should stay and say so")
	}
	if got := eval[string](s, `document.getElementById("run-follow").textContent`); !strings.Contains(got, "reloads when a new build is up") {
		t.Errorf("the notice on a failed build: %q", got)
	}
	s.screenshotViewport("follow-build-failed")
	writeFile(t, dir, "item.go", itemGo(`return "item v2 works"`))
	waitAcross(s, "the traceback page to reload itself on the fixed build", `window.e2eMark === undefined && document.body.innerText.includes("item v2 works")`, 90*time.Second)

	// 2. The runner's compile-error page, open, while the build is fixed.
	writeFile(t, dir, "item.go", itemGo(`return undefinedName`))
	waitStatus(t, base+"/item", 503, 60*time.Second)
	s.open("/item")
	waitAcross(s, "the compile-error page", `document.body.innerText.includes("undefinedName")`, 10*time.Second)
	eval[int](s, `window.e2eMark = 2`)
	writeFile(t, dir, "item.go", itemGo(`return "item v3 works"`))
	waitAcross(s, "the compile-error page to reload itself on the fixed build", `window.e2eMark === undefined && document.body.innerText.includes("item v3 works")`, 90*time.Second)

	// 3. A traceback page under /__panicroom__/: after a rebuild it says
	// it is of an earlier run, and does not reload.
	writeFile(t, dir, "item.go", itemGo(`panic("item v4 is broken")`))
	waitStatus(t, base+"/item", 500, 60*time.Second)
	s.open("/__panicroom__/")
	s.follow("the newest panic", `a[href^="/__panicroom__/panic/"]`)
	waitAcross(s, "the panic's own page to hear its run", `document.body.dataset.runState === "current" && document.body.innerText.includes("item v4 is broken")`, 30*time.Second)
	eval[int](s, `window.e2eMark = 3`)
	writeFile(t, dir, "item.go", itemGo(`panic("item v5 is broken")`))
	waitAcross(s, "the earlier-run notice", `document.getElementById("run-follow").textContent.includes("earlier run") && document.body.dataset.runState === "older"`, 90*time.Second)
	waitStatus(t, base+"/item", 500, 60*time.Second)
	waitAcross(s, "the notice that a newer build is up", `document.getElementById("run-follow").textContent.includes("A newer build is up")`, 30*time.Second)
	if !eval[bool](s, `window.e2eMark === 3`) {
		t.Error("the panic's own page reloaded: it would find no such panic in the new run")
	}
	if href := eval[string](s, `document.querySelector("#run-follow a").getAttribute("href")`); href != "/__panicroom__/" {
		t.Errorf("the earlier-run notice links to %q, want the new run's panics", href)
	}
	s.screenshotViewport("follow-older-run")
}
