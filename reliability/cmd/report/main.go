// Command report writes RELIABILITY.md from what the reliability suite
// measured: the JSON results its test binary wrote and the log of make
// fuzz. It is run by make reliability; nothing in RELIABILITY.md is typed
// by hand.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/panicroom/panicroom/internal/relreport"
)

func main() {
	resultsFiles := flag.String("results", "bin/reliability.json", "comma-separated results files written by the suite's test binaries (PANICROOM_RELIABILITY_RESULTS)")
	fuzzLog := flag.String("fuzz", "", "output of make fuzz")
	out := flag.String("o", "RELIABILITY.md", "file to write")
	mode := flag.String("mode", "full", "the form the suite ran in")
	flag.Parse()

	var res []relreport.Result
	for _, name := range strings.Split(*resultsFiles, ",") {
		rs, err := relreport.ReadResults(name)
		if err != nil {
			fail(err)
		}
		res = append(res, rs...)
	}
	if *fuzzLog != "" {
		fz, err := fuzzResults(*fuzzLog)
		if err != nil {
			fail(err)
		}
		res = append(res, fz...)
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	r := relreport.Report{
		Mode:    *mode,
		Command: "make reliability",
		Machine: fmt.Sprintf("%d CPUs, %s, %s/%s", runtime.NumCPU(), strings.TrimSpace(string(goVersion)), runtime.GOOS, runtime.GOARCH),
		Date:    time.Now().UTC().Format("2006-01-02"),
		Results: res,
	}
	for _, x := range res {
		if x.Failed {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %s failed in this run; see the test log.", x.Area, x.Test))
		}
		for _, f := range x.Figures {
			if strings.HasPrefix(f, "restart budget:") {
				r.Notes = append(r.Notes, "Agent restarts are budgeted per process: "+strings.TrimPrefix(f, "restart budget: ")+". A developer whose agent dies more often must restart the app to get the console back.")
			}
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	if err := relreport.WriteMarkdown(f, r); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

var (
	header = regexp.MustCompile(`^== (Fuzz\w+) (\S+)`)
	execs  = regexp.MustCompile(`^fuzz: elapsed: (\d+)s, execs: (\d+) .*\(total: (\d+)\)`)
)

// fuzzResults reads make fuzz's log: a "== Target package" line before each
// target's go test output.
func fuzzResults(name string) ([]relreport.Result, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []relreport.Result
	var cur *relreport.Result
	var elapsed, corpus string
	flush := func() {
		if cur != nil {
			cur.Figures = append(cur.Figures, fmt.Sprintf("%ss, corpus %s", elapsed, corpus))
			out = append(out, *cur)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := header.FindStringSubmatch(line); m != nil {
			flush()
			cur = &relreport.Result{Area: "Fuzzing", Test: m[1] + " (" + m[2] + ")", Outcome: "inputs without a failure"}
			elapsed, corpus = "0", "?"
			continue
		}
		if cur == nil {
			continue
		}
		if m := execs.FindStringSubmatch(line); m != nil {
			elapsed, corpus = m[1], m[3]
			n, _ := strconv.Atoi(m[2])
			cur.Iterations, cur.Survived = n, n
		}
		if strings.Contains(line, "golang/go#75804") {
			// make fuzz found no reproducer: the failure was Go's own
			// coordinator at the end of -fuzztime, not an input.
			cur.Failed, cur.Survived = false, cur.Iterations
			cur.Figures = append(cur.Figures, "ended by Go's fuzz coordinator race (golang/go#75804), no input failed")
			continue
		}
		if strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "FAIL") {
			cur.Failed = true
			if cur.Survived > 0 {
				cur.Survived--
			}
		}
	}
	flush()
	return out, sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}
