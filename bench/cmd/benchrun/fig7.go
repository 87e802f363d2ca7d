package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// devLoop is figure 7 (issue 15): edit → the new code answering, for a
// small app that uses panicroom, with "panicroom run", with air (the
// README's .air.toml) and with a plain rebuild-and-restart script; the
// requests a client makes meanwhile (the longest, the refused); and the
// memory of the runner.
func devLoop(r *report) {
	step("figure 7: the dev loop (panicroom run, air, a rebuild-and-restart script)")
	root, err := filepath.Abs("..")
	must(err, "the repository's root")
	dir := filepath.Join(tmpDir, "devloop")
	must(writeDevApp(root, dir), "writing the dev-loop app")
	// Not tmpDir/panicroom: that is the PIN's directory (XDG_CONFIG_HOME).
	runner := filepath.Join(tmpDir, "devloop-bin", "panicroom")
	must(os.MkdirAll(filepath.Dir(runner), 0o755), "a directory for the runner")
	build := exec.Command("go", "build", "-o", runner, "github.com/panicroom/panicroom/cmd/panicroom")
	build.Stderr = os.Stderr
	must(build.Run(), "go build cmd/panicroom")
	goCache, _ := exec.Command("go", "env", "GOCACHE").Output()
	env := []string{"PANICROOM_PIN=" + pin, "XDG_CONFIG_HOME=" + tmpDir, "XDG_CACHE_HOME=" + filepath.Join(tmpDir, "cache"),
		"GOCACHE=" + strings.TrimSpace(string(goCache))}
	const edits = 3
	type result struct {
		name      string
		answer    dist // edit → the new code's first answer
		longest   dist // the longest successful request of each edit
		refused   []int
		window    dist // the longest run of refused connections, per edit
		gaps      []int
		runs      []string
		rss, peak float64
		skipped   string
	}
	var results []result

	measure := func(name string, p *proc, edit func(v int)) result {
		res := result{name: name}
		addr := p.addr
		for v := 2; v < 2+edits; v++ {
			ed := runEdit(addr, v, func() { edit(v) })
			res.answer = append(res.answer, ed.answer)
			res.longest = append(res.longest, ed.longest)
			res.refused = append(res.refused, ed.refused)
			res.window = append(res.window, ed.window)
			res.gaps = append(res.gaps, ed.gaps)
			res.runs = append(res.runs, "["+strings.Join(ed.runs, ", ")+"; answered +"+ms(ed.answer)+"]")
			// Let the agent attach before the next edit, as a developer
			// reading the page would.
			time.Sleep(2 * time.Second)
		}
		res.rss = procStatus(p.cmd.Process.Pid, "VmRSS:")
		res.peak = procStatus(p.cmd.Process.Pid, "VmHWM:")
		return res
	}
	writeVersion := func(v int) {
		must(os.WriteFile(filepath.Join(dir, "cmd", "myapp", "version.go"), []byte(fmt.Sprintf("package main\n\nconst version = \"version %d\"\n", v)), 0o644), "editing")
	}

	// panicroom run, as a user starts it.
	writeVersion(1)
	addr := freeAddr()
	p, err := startIn(dir, "panicroom run", addr, append(env, "APP_ADDR="+addr), runner, "run", "./cmd/myapp")
	must(err, "starting panicroom run")
	must(waitBody(addr, "version 1", 5*time.Minute), "panicroom run's first build:\n"+p.Log())
	p.waitLog(attachedLine, time.Minute)
	results = append(results, measure("panicroom run", p, writeVersion))
	p.stop()

	// air with the README's configuration.
	air := os.Getenv("PANICROOM_AIR")
	if air == "" {
		if b, err := filepath.Abs("../bin/air"); err == nil && fileExists(b) {
			air = b
		}
	}
	if air == "" {
		results = append(results, result{name: "air", skipped: "not measured: no air (make test-air installs it in bin/, or set PANICROOM_AIR)"})
	} else {
		writeVersion(1)
		addr := freeAddr()
		p, err := startIn(dir, "air", addr, append(env, "APP_ADDR="+addr), air)
		must(err, "starting air")
		must(waitBody(addr, "version 1", 5*time.Minute), "air's first build:\n"+p.Log())
		p.waitLog(attachedLine, time.Minute)
		results = append(results, measure("air", p, writeVersion))
		p.stop()
	}

	// The script: on each edit, go build with the console's flags, stop
	// the old process (SIGTERM, wait), start the new one. No watcher: the
	// edit runs it at once, the least a script can take.
	writeVersion(1)
	addr = freeAddr()
	exe := filepath.Join(tmpDir, "devloop-app")
	rebuild := func() *proc {
		cmd := exec.Command("go", "build", "-gcflags=all=-N -l", "-ldflags=-compressdwarf=false", "-o", exe, "./cmd/myapp")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		must(err, "the script's go build: "+string(out))
		p, err := startIn(dir, "script's app", addr, append(env, "APP_ADDR="+addr), exe)
		must(err, "starting the script's app")
		return p
	}
	var mu sync.Mutex
	cur := rebuild()
	must(waitBody(addr, "version 1", 5*time.Minute), "the script's first build")
	cur.waitLog(attachedLine, time.Minute)
	sres := measure("script", cur, func(v int) {
		writeVersion(v)
		mu.Lock()
		defer mu.Unlock()
		// Built before the old app stops, as a careful script does.
		cmd := exec.Command("go", "build", "-gcflags=all=-N -l", "-ldflags=-compressdwarf=false", "-o", exe+".new", "./cmd/myapp")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		must(err, "the script's go build: "+string(out))
		cur.stop()
		must(os.Rename(exe+".new", exe), "replacing the binary")
		cur, err = startIn(dir, "script's app", addr, append(env, "APP_ADDR="+addr), exe)
		must(err, "starting the script's app")
	})
	sres.rss, sres.peak = 0, 0 // the script has no process of its own
	results = append(results, sres)
	mu.Lock()
	cur.stop()
	mu.Unlock()

	var base time.Duration
	for _, x := range results {
		if x.name == "script" {
			base = x.answer.med()
		}
	}
	for _, x := range results {
		if x.skipped != "" {
			r.add(row{"7. Edit → new code answering, " + x.name, x.skipped, "", "", "", "—"})
			continue
		}
		r.add(row{fmt.Sprintf("7. Edit → new code answering, %s (median / max of %d edits)", x.name, edits),
			fmt.Sprintf("%s / %s", ms(x.answer.med()), ms(x.answer.max())), "script " + ms(base), ratio(float64(x.answer.med()), float64(base)), "—", "—"})
	}
	for _, x := range results {
		if x.skipped != "" {
			continue
		}
		r.add(row{fmt.Sprintf("7. During a restart, %s: longest successful request; refused connections and runs of them, per edit; the longest run", x.name),
			fmt.Sprintf("%s; refused %v in %v runs; longest run %s", ms(x.longest.max()), x.refused, x.gaps, ms(x.window.max())), "", "", "requests wait, none refused", "—"})
	}
	for _, x := range results {
		if x.skipped == "" {
			r.note("Figure 7, %s: runs of refused connections per edit: %s.", x.name, strings.Join(x.runs, " "))
		}
	}
	for _, x := range results {
		if x.skipped != "" || x.rss == 0 {
			continue
		}
		r.add(row{fmt.Sprintf("7. Memory of the reloader itself (%s, after %d edits): RSS (peak)", x.name, edits),
			fmt.Sprintf("%s (%s)", kib(x.rss), kib(x.peak)), "", "", "—", "—"})
	}
	r.note("Figure 7: a client sends a GET / on a new connection every %s from the edit until 1.5 s after the new code first answered; \"edit → new code answering\" is when the first answer with the new version arrived. panicroom run polls the files every 300 ms (its default); air waits 1 s after a change (its default delay, not set in the README's .air.toml); the script is run at the edit, with no watcher. panicroom run holds the requests it accepts during a rebuild, so its longest request is about a rebuild; the refused connections are the gap between the runner closing the app's address and the new app binding it.", probeEvery)
}

// airVersion is the air the Makefile installs for figure 7.
const airVersion = "v1.67.4"

// probeEvery paces figure 7's client.
const probeEvery = 20 * time.Millisecond

type editResult struct {
	answer, longest time.Duration
	refused         int
	// window is the longest run of refused connections: from the first
	// refused probe to the next one that was not refused; gaps counts the
	// runs.
	window time.Duration
	gaps   int
	runs   []string // each run of refusals: when it began after the edit, how long
}

// runEdit makes the edit and probes addr until version v answers, and a
// moment more.
func runEdit(addr string, v int, edit func()) editResult {
	want := []byte(fmt.Sprintf("version %d", v))
	c := newClient(false)
	c.Timeout = 60 * time.Second
	var (
		mu       sync.Mutex
		res      editResult
		answered time.Time
		probes   []probeResult
		wg       sync.WaitGroup
	)
	t0 := time.Now()
	go edit()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		mu.Lock()
		done := !answered.IsZero() && time.Since(answered) > 1500*time.Millisecond
		mu.Unlock()
		if done || time.Since(t0) > 3*time.Minute {
			break
		}
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			d, _, body, err := get(c, "http://"+addr+"/")
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			refused := err != nil && errors.Is(err, syscall.ECONNREFUSED)
			probes = append(probes, probeResult{sent, refused})
			if err != nil {
				if refused {
					res.refused++
				}
				return
			}
			res.longest = max(res.longest, d)
			if bytes.Contains(body, want) && (answered.IsZero() || now.Before(answered)) {
				answered = now
			}
		}()
	}
	wg.Wait()
	res.answer = answered.Sub(t0)
	sort.Slice(probes, func(i, j int) bool { return probes[i].sent.Before(probes[j].sent) })
	var from time.Time
	for _, p := range probes {
		switch {
		case p.refused && from.IsZero():
			from = p.sent
			res.gaps++
		case !p.refused && !from.IsZero():
			res.window = max(res.window, p.sent.Sub(from))
			res.runs = append(res.runs, fmt.Sprintf("+%s for %s", ms(from.Sub(t0)), ms(p.sent.Sub(from))))
			from = time.Time{}
		}
	}
	return res
}

type probeResult struct {
	sent    time.Time
	refused bool
}

// waitBody waits until GET / on addr answers with want in its body.
func waitBody(addr, want string, within time.Duration) error {
	c := newClient(false)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, _, body, err := get(c, "http://"+addr+"/"); err == nil && bytes.Contains(body, []byte(want)) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no %q at %s within %s", want, addr, within)
}

// writeDevApp writes a small module that uses panicroom from root, its
// main package at ./cmd/myapp as in README.md's .air.toml, which is
// copied from README.md.
func writeDevApp(root, dir string) error {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return err
	}
	m := regexp.MustCompile("(?s)```toml\n(# \\.air\\.toml\n.*?)```").FindSubmatch(readme)
	if m == nil {
		return errors.New("README.md has no .air.toml block")
	}
	requires := string(mod)[strings.Index(string(mod), "require"):]
	files := map[string]string{
		"go.mod":    "module example.test/devloop\n\ngo 1.26\n\nrequire github.com/panicroom/panicroom v0.0.0\n\n" + requires + "\nreplace github.com/panicroom/panicroom => " + root + "\n",
		"go.sum":    string(sum),
		".air.toml": string(m[1]),
		"cmd/myapp/main.go": `package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/panicroom/panicroom"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, version) })
	http.ListenAndServe(os.Getenv("APP_ADDR"), panicroom.Wrap(mux))
}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// smapsRollup reads a "kB" line of /proc/PID/smaps_rollup, in bytes.
func smapsRollup(pid int, key string) float64 {
	return kbLine(fmt.Sprintf("/proc/%d/smaps_rollup", pid), key)
}

// procStatus reads a "kB" line of /proc/PID/status, in bytes.
func procStatus(pid int, key string) float64 {
	return kbLine(fmt.Sprintf("/proc/%d/status", pid), key)
}

// kbLine reads the "key N kB" line of a /proc file, in bytes.
func kbLine(path, key string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return kb * 1024
		}
	}
	return 0
}
