//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/panicroom/panicroom/internal/testapp"
)

// airConfig is the .air.toml README.md documents, read from README.md so
// that the test checks what users copy.
func airConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml\n(# \\.air\\.toml\n.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```toml block starting with # .air.toml")
	}
	return string(m[1])
}

// evalLive is run, on a fresh panic when panicroom released the last one
// before its snapshot because a garbage collection ran meanwhile (by design:
// its frames cannot be trusted), as the reliability harness does, twice at
// most.
func evalLive(s *session, frame, expr string) string {
	s.t.Helper()
	got := run(s, frame, expr)
	for i := 0; i < 2 && strings.Contains(got, "was released"); i++ {
		s.open("/item")
		s.do("opening the console again", chromedp.WaitVisible("#frame-"+frame+" .console-open"), chromedp.Click("#frame-"+frame+" .console-open"), chromedp.WaitVisible("#frame-"+frame+" .console textarea"))
		got = run(s, frame, expr)
	}
	return got
}

func airItemMain(count int) string {
	return fmt.Sprintf(`package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/panicroom/panicroom"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/item", func(w http.ResponseWriter, r *http.Request) {
		count := %d
		if count > 0 {
			panic(fmt.Sprint("count is ", count))
		}
	})
	http.ListenAndServe(os.Getenv("APP_ADDR"), panicroom.Wrap(mux))
}
`, count)
}

// TestAirKeepsTheConsole runs air (the reloader most Go developers use)
// with the README's .air.toml on an app at ./cmd/myapp: the console
// answers an eval of a local, and again after air rebuilt the app on an
// edit, with the browser's unlock kept. It needs air: PANICROOM_AIR is its
// path ("make test-air" installs air v1.67.4 from the module proxy and runs
// this); without it the test skips.
func TestAirKeepsTheConsole(t *testing.T) {
	air := os.Getenv("PANICROOM_AIR")
	if air == "" {
		t.Skip("PANICROOM_AIR is not set: run make test-air (installs github.com/air-verse/air v1.67.4)")
	}
	exe := chromium(t)
	dir := runApp(t, map[string]string{"cmd/myapp/main.go": airItemMain(42), ".air.toml": airConfig(t)})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(air)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "APP_ADDR="+addr, "XDG_CONFIG_HOME="+t.TempDir(), "GOCACHE="+goCache(), "PANICROOM_EDITOR=none")
	log := startReloader(t, cmd, syscall.SIGINT, "air")
	waitLogged := func(re *regexp.Regexp, n int, within time.Duration) [][]string {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			if m := re.FindAllStringSubmatch(log.String(), -1); len(m) >= n {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("air's output never had %d lines matching %s", n, re)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	base := "http://" + addr
	waitStatus(t, base+"/item", 500, 5*time.Minute)
	if out := log.String(); strings.Contains(out, "deprecated") {
		t.Errorf("air warns about the README's .air.toml:\n%s", out)
	}
	pin := waitLogged(pinLine, 1, 10*time.Second)[0][1]
	attached := regexp.MustCompile(`debugger attached`)
	waitLogged(attached, 1, 60*time.Second)

	s := newBrowser(t, exe, &app{&testapp.Process{URL: base}}, 4*time.Minute)
	s.events.allow(`status of 40[13] .*/__panicroom__/(session|pin) `)
	// When air stops the app, the open console's socket closes and the
	// page asks whether the app is still there: it is not, for a moment.
	s.events.allow(`net::ERR_[A-Z_]+ http://[^ ]*/__panicroom__/session `)
	// The frame of the handler, found by its line rather than its index.
	frameOf := func() string {
		id := eval[string](s, `(function(){ for (const d of document.querySelectorAll("details.frame")) { if (d.textContent.includes("main.go:16")) { return d.dataset.frame || d.id.replace("frame-", ""); } } return ""; })()`)
		if id == "" {
			s.screenshotViewport("no-frame")
			t.Fatal("no frame at main.go:16 on the page")
		}
		return id
	}
	s.open("/item")
	f := frameOf()
	s.do("opening the console", chromedp.WaitVisible("#frame-"+f+" .console-open"), chromedp.Click("#frame-"+f+" .console-open"), chromedp.WaitVisible(".pin-dialog input"))
	s.do("entering the PIN", chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"), chromedp.WaitVisible("#frame-"+f+" .console textarea"))
	waitTrue(s, "the PIN dialog to close", `!document.querySelector(".pin-dialog[open]")`, 10*time.Second)
	if got := evalLive(s, f, "count"); !strings.Contains(got, "42") {
		t.Fatalf("count in the handler's frame: %q", got)
	}

	// An edit: air rebuilds with the same flags, the PIN and the unlock
	// hold, and the console reads the new build's frames.
	writeFile(t, dir, "cmd/myapp/main.go", airItemMain(43))
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(waitStatus(t, base+"/item", 500, 2*time.Minute), "count is 43") {
		if time.Now().After(deadline) {
			t.Fatal("air never served the edited build")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if pins := waitLogged(pinLine, 2, 30*time.Second); pins[1][1] != pin {
		t.Errorf("the PIN changed across air's rebuild: %s, then %s", pin, pins[1][1])
	}
	waitLogged(attached, 2, 60*time.Second)
	s.open("/item")
	f = frameOf()
	s.do("opening the console after the rebuild", chromedp.WaitVisible("#frame-"+f+" .console-open"), chromedp.Click("#frame-"+f+" .console-open"), chromedp.WaitVisible("#frame-"+f+" .console textarea"))
	if got := evalLive(s, f, "count"); !strings.Contains(got, "43") {
		t.Errorf("count after air's rebuild: %q", got)
	}
	s.screenshotViewport("air-console")
}
