// Command benchrun measures panicroom side by side with the bare handler,
// chi's middleware.Recoverer and Werkzeug's debugger (issue 6), and writes
// the table to BENCHMARKS.md. Run it from the bench module:
//
//	go run ./cmd/benchrun -out ../BENCHMARKS.md
//
// It builds cmd/benchapp with optimizations off, starts every server it
// measures on loopback, stops them all when done, and bounds every loop by
// a count or a duration. It never fails because a figure is slow; it fails
// only when it cannot measure.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const pin = "123-456-789"

// python is Debian's interpreter, the one python3-werkzeug installs for.
const python = "/usr/bin/python3"

var tmpDir string

func main() {
	out := flag.String("out", "BENCHMARKS.md", "file to write the table to")
	only := flag.String("only", "", "run only these figures (e.g. 1,4); the table then has only their rows")
	flag.Parse()

	dir, err := os.MkdirTemp("", "panicroom-bench-")
	must(err, "temporary directory")
	tmpDir = dir
	defer os.RemoveAll(dir)
	// panicroom.New in this process (the in-process figures) keeps its PIN
	// under the config directory, and must never start an agent here.
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("PANICROOM_AGENT", "off")

	// Everything is bounded; this is the last resort.
	time.AfterFunc(14*time.Minute, func() {
		fmt.Fprintln(os.Stderr, "benchrun: took longer than 14 minutes; giving up")
		os.Exit(1)
	})

	begin := time.Now()
	bin := filepath.Join(dir, "benchapp")
	// The flags panicroom run builds with: uncompressed DWARF halves the
	// agent's parse at start-up (figure 6).
	step("building benchapp with -gcflags=all=\"-N -l\" -ldflags=-compressdwarf=false")
	build := exec.Command("go", "build", "-gcflags=all=-N -l", "-ldflags=-compressdwarf=false", "-o", bin, "./cmd/benchapp")
	build.Stderr = os.Stderr
	must(build.Run(), "go build ./cmd/benchapp")

	r := &report{}
	run := func(n string, f func()) {
		if *only != "" && !contains(*only, n) {
			return
		}
		f()
	}
	run("1", func() { happyPath(r, bin) })
	run("2", func() { panicToPage(r, bin) })
	run("3", func() { pageWeight(r, bin) })
	run("4", func() { consoleFigures(r, bin) })
	run("6", func() { startup(r, bin) })
	run("7", func() { devLoop(r) })
	r.took = time.Since(begin)
	must(r.write(*out), "writing "+*out)
	fmt.Fprintf(os.Stderr, "benchrun: wrote %s in %v\n", *out, r.took.Round(time.Second))
}

func step(s string) { fmt.Fprintf(os.Stderr, "benchrun: %s\n", s) }

func contains(list, n string) bool {
	for i := 0; i < len(list); i++ {
		if list[i:i+1] == n {
			return true
		}
	}
	return false
}

// haveWerkzeug reports whether Debian's Werkzeug can be imported.
func haveWerkzeug() bool {
	return exec.Command(python, "-c", "import werkzeug.debug").Run() == nil
}

// startWerkzeug runs werkzeug/app.py on a free loopback port and waits
// until it answers.
func startWerkzeug() (*proc, error) {
	addr := freeAddr()
	_, port, _ := cutLast(addr, ":")
	p, err := start("werkzeug", addr, []string{"WERKZEUG_DEBUG_PIN=" + pin, "PYTHONDONTWRITEBYTECODE=1"},
		python, "werkzeug/app.py", port)
	if err != nil {
		return nil, err
	}
	c := newClient(false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, resp, _, err := get(c, p.URL()+"/ok"); err == nil && resp.StatusCode == 200 {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("werkzeug did not answer within 20 s:\n%s", p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWithWerkzeug starts the benchapp with panicroom, waits for its agent,
// and starts Werkzeug beside it when it is installed (wz is nil when not);
// stop ends both. The figures that compare a page with Werkzeug's use it.
func startWithWerkzeug(bin string) (a *app, wz *proc, stop func()) {
	a, err := startApp(bin, "panicroom")
	must(err, "starting benchapp")
	started := false
	defer func() {
		if !started {
			a.stop()
		}
	}()
	must(a.waitAttached(), "panicroom's agent")
	if haveWerkzeug() {
		wz, err = startWerkzeug()
		must(err, "starting Werkzeug")
	}
	started = true
	return a, wz, func() {
		if wz != nil {
			wz.stop()
		}
		a.stop()
	}
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}
