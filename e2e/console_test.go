package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/panicroom/panicroom/internal/testapp"
)

var pinLine = regexp.MustCompile(`panicroom: debugger PIN (\d{3}-\d{3}-\d{3})`)

// waitTrue polls a JavaScript condition until it holds.
func waitTrue(s *session, what, cond string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if eval[bool](s, "!!("+cond+")") {
			return
		}
		if time.Now().After(deadline) {
			s.screenshotViewport("timeout")
			s.t.Fatalf("waiting for %s: %s stayed false for %v", what, cond, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until the app's standard error matches re.
func waitLog(s *session, re *regexp.Regexp, timeout time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(s.app.Log()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the app never logged %s:\n%s", re, s.app.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run types expr into frame's console and returns the text of its answer.
func run(s *session, frame, expr string) string {
	s.t.Helper()
	input := "#frame-" + frame + " .console textarea"
	n := eval[int](s, `document.querySelectorAll("#frame-`+frame+` .con-entry").length`)
	s.do("typing "+expr, chromedp.SendKeys(input, expr+"\n"))
	last := `document.querySelectorAll("#frame-` + frame + ` .con-entry")[` + itoa(n) + `]`
	waitTrue(s, "the answer to "+expr, last+` && !`+last+`.querySelector(".con-result").classList.contains("dim")`, 30*time.Second)
	return eval[string](s, last+`.querySelector(".con-result").textContent`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestConsole is the developer's path through the console with the real
// agent attached to the demo: PIN, reads, a call in a frame below the top, a
// value tree, an assignment read back, a reload, and finally a lockout.
func TestConsole(t *testing.T) {
	s := newSessionFor(t, demoPkg, 4*time.Minute)
	// The page asks /session whether it holds a PIN cookie, and the PIN
	// endpoint refuses wrong PINs: those answers are the test's subject.
	s.events.allow(`status of 40[13] .*/__panicroom__/(session|pin) `)
	pin := waitLog(s, pinLine, 10*time.Second)[1]
	waitLog(s, regexp.MustCompile(`debugger attached`), 60*time.Second)

	s.open("/nil-pointer")
	s.do("opening the console of frame 1", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"))
	s.do("waiting for the PIN dialog", chromedp.WaitVisible(".pin-dialog input"))
	// The dialog asked the server to print the PIN again, where the
	// developer is looking.
	waitTrue(s, "the dialog", `document.querySelector(".pin-dialog").open`, 5*time.Second)
	if n := strings.Count(s.app.Log(), "debugger PIN "+pin); n < 2 {
		t.Errorf("the PIN was printed %d times; opening the dialog must print it again", n)
	}
	s.screenshotViewport("pin-dialog")
	s.do("entering the PIN", chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"))
	s.do("waiting for the console", chromedp.WaitVisible("#frame-1 .console textarea"))

	// The locals panel shows the snapshot taken at the panic. Its delivery
	// decides whether a collection that ended before it released the
	// goroutine (by design; the log says so): then take a new panic.
	for attempt := 1; ; attempt++ {
		waitTrue(s, "the locals", `document.querySelector("#frame-1 .locals-body").textContent.includes("requested")`, 30*time.Second)
		id := eval[string](s, `document.body.dataset.panic`)
		if attempt == 3 || !regexp.MustCompile(`was released: its frames cannot be trusted" page=\S*`+id).MatchString(s.app.Log()) {
			break
		}
		t.Logf("panic %d was released before its snapshot; again", attempt)
		s.open("/nil-pointer")
		s.do("reopening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible("#frame-1 .console textarea"))
	}
	if locals := eval[string](s, `document.querySelector("#frame-1 .locals-body").textContent`); !strings.Contains(locals, "42") || !strings.Contains(locals, "*main.Store") {
		t.Errorf("locals panel: %q", locals)
	}

	if got := run(s, "1", "store.users[1].Name"); !strings.Contains(got, `"Ada Lovelace"`) {
		t.Errorf("a field read in frame 1: %q", got)
	}
	if got := run(s, "1", "store.users[1].Greeting()"); !strings.Contains(got, `"Hello, Ada Lovelace!"`) {
		t.Errorf("a method call in frame 1 (below the top): %q", got)
	}
	if got := run(s, "1", "nosuch + 1"); !strings.Contains(got, "nosuch") {
		t.Errorf("an unknown name should say which: %q", got)
	}

	// A value tree expands on click.
	run(s, "1", "store")
	last := `[...document.querySelectorAll("#frame-1 .con-entry")].pop()`
	s.do("expanding the tree", chromedp.Click("#frame-1 .con-entry:last-child .con-result details > summary"))
	waitTrue(s, "the children", last+`.querySelector(".vt-children").textContent.includes("users")`, 20*time.Second)

	if got := run(s, "1", "requested = 7"); !strings.Contains(got, "7") {
		t.Errorf("assignment answered %q", got)
	}
	if got := run(s, "1", "requested"); !strings.Contains(got, "int 7") {
		t.Errorf("the read after the assignment: %q", got)
	}
	s.screenshot("console")

	// A reload keeps the session: no PIN asked again.
	s.open("/__panicroom__/")
	s.follow("the newest panic", ".recent tbody tr:first-child a")
	s.do("reopening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible("#frame-1 .console textarea"))
	if eval[bool](s, `!!document.querySelector(".pin-dialog[open]")`) {
		t.Error("the PIN was asked again after a reload")
	}
	if got := run(s, "1", "requested"); !strings.Contains(got, "int 7") {
		t.Errorf("after the reload the frame should still hold the assigned value: %q", got)
	}

	// A method with a pointer receiver on a local that never escaped:
	// the call is handed a pointer into the parked frames, and the answer
	// says in one line that they are now kept.
	s.open("/nil-map")
	s.do("opening the console of the handler", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible("#frame-1 .console textarea"))
	if got := run(s, "1", "cart.Describe()"); !strings.Contains(got, `"Ada Lovelace's cart, 0 items"`) || !strings.Contains(got, "kept until the app restarts") {
		t.Errorf("a pointer-receiver call on a stack local: %q", got)
	}
	s.screenshot("stack-call")

	// A package-level variable, unqualified, as the handler's own code
	// names it: read, and a method call on it.
	if got := run(s, "1", "settings.Features"); !strings.Contains(got, "len 2") {
		t.Errorf("an unqualified package variable: %q", got)
	}
	if got := run(s, "1", "settings.Greeting()"); !strings.Contains(got, "string") || strings.Contains(got, "could not find") {
		t.Errorf("a method on an unqualified package variable: %q", got)
	}

	// Without the cookie, ten wrong PINs lock the console until restart.
	if _, err := chromedp.Call(s.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	s.open("/nil-pointer")
	s.do("opening a console without the cookie", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible(".pin-dialog input"))
	for i := 1; i <= 10; i++ {
		eval[bool](s, `(document.querySelector(".pin-dialog input").value = "", true)`)
		s.do("a wrong PIN", chromedp.SendKeys(".pin-dialog input", "000-000-000"), chromedp.Click(".pin-dialog button.primary"))
		if i < 10 {
			waitTrue(s, "the refusal", `document.querySelector(".pin-error").textContent.includes("Wrong PIN")`, 30*time.Second)
			eval[bool](s, `(document.querySelector(".pin-error").textContent = "", true)`)
		}
	}
	waitTrue(s, "the lockout", `document.querySelector("#frame-1 .console") && document.querySelector("#frame-1 .console").textContent.includes("locked")`, 30*time.Second)
	waitLog(s, regexp.MustCompile(`(?i)PIN is locked`), 5*time.Second)
	s.open("/nil-pointer")
	if banner := eval[string](s, `document.querySelector(".summary").textContent`); !strings.Contains(banner, "PIN is locked") {
		t.Errorf("a locked PIN is not shown on the page: %q", banner)
	}
	s.screenshotViewport("locked")
}

// TestTopLevelConsole evaluates the running app's package state without any
// panic: the console page stands on a goroutine panicroom parks for it.
func TestTopLevelConsole(t *testing.T) {
	s := newSessionFor(t, demoPkg, 2*time.Minute)
	s.events.allow(`status of 401 .*/__panicroom__/session `)
	pin := waitLog(s, pinLine, 10*time.Second)[1]
	waitLog(s, regexp.MustCompile(`debugger attached`), 60*time.Second)
	s.open("/")
	s.open("/__panicroom__/console")
	// The page opens its console at once, which asks for the PIN.
	s.do("entering the PIN", chromedp.WaitVisible(".pin-dialog input"), chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"))
	s.do("waiting for the console", chromedp.WaitVisible("#frame-0 .console textarea"))
	if got := run(s, "0", "main.settings.Visits"); !strings.Contains(got, "int 1") {
		t.Errorf("a package variable: %q", got)
	}
	run(s, "0", "main.settings.Visits = 41")
	if got := run(s, "0", "main.settings.Greeting()"); !strings.Contains(got, "41 visits") {
		t.Errorf("a method call on package state after an assignment: %q", got)
	}
	if got := run(s, "0", "main.nosuch()"); !strings.Contains(got, "no such function") {
		t.Errorf("an unknown function: %q", got)
	}
	s.screenshotViewport("console")

	// The console can end the app; the page must then say the server is
	// gone, not that a connection dropped.
	s.events.allow(`ERR_CONNECTION_REFUSED|net::ERR_`)
	if got := run(s, "0", "os.Exit(0)"); !strings.Contains(got, "not answering") {
		t.Errorf("after os.Exit the console says %q", got)
	}
	s.screenshotViewport("exited")
}

// TestTabAcrossRestart keeps a panic page open while the app is stopped
// and started again on the same address: the console first says the
// server is not answering, then, once the new process answers, that the
// page belongs to the earlier run, with a link to the new run's panics,
// rather than "restart it" to a developer who already did.
func TestTabAcrossRestart(t *testing.T) {
	s := newSessionFor(t, demoPkg, 3*time.Minute)
	s.events.allow(`status of 40[13] .*/__panicroom__/(session|pin) `)
	s.events.allow(`ERR_CONNECTION_REFUSED`)
	s.events.allow(`WebSocket connection to .* failed`)
	pin := waitLog(s, pinLine, 10*time.Second)[1]
	waitLog(s, regexp.MustCompile(`debugger attached`), 60*time.Second)
	s.open("/nil-pointer")
	s.do("opening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible(".pin-dialog input"))
	s.do("entering the PIN", chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"), chromedp.WaitVisible("#frame-1 .console textarea"))
	// The modal dialog makes the page inert until it has closed.
	waitTrue(s, "the PIN dialog to close", `!document.querySelector(".pin-dialog[open]")`, 10*time.Second)
	// A collection that ends between the panic and the debugger's snapshot
	// releases the goroutine, by design (the page says so): take a new
	// panic then, as the reliability harness does.
	for attempt := 1; ; attempt++ {
		got := run(s, "1", "requested")
		if strings.Contains(got, "42") {
			break
		}
		if !strings.Contains(got, "released") || attempt == 3 {
			t.Fatalf("before the restart: %q", got)
		}
		t.Logf("panic %d was released before its snapshot; again", attempt)
		s.open("/nil-pointer")
		s.do("reopening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible("#frame-1 .console textarea"))
	}

	addr := strings.TrimPrefix(s.app.URL, "http://")
	exe := s.app.Cmd.Path
	s.app.Stop()
	waitTrue(s, "the console to notice", `document.querySelector("#frame-1 .console-state").textContent.includes("not answering")`, 30*time.Second)
	// The same binary on the same address, with the same PIN directory:
	// what a developer's restart looks like.
	var env []string
	for _, e := range s.app.Cmd.Env {
		if strings.HasPrefix(e, "XDG_CONFIG_HOME=") {
			env = []string{e}
		}
	}
	again, err := testapp.Start(exe, []string{"-addr", addr}, env, startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Stop() })
	waitTrue(s, "the earlier-run notice", `document.querySelector("#frame-1 .console-state").textContent.includes("earlier run of the app")`, 30*time.Second)
	if href := eval[string](s, `document.querySelector("#frame-1 .console-state a").getAttribute("href")`); href != "/__panicroom__/" {
		t.Errorf("the notice links to %q, want the new run's panics", href)
	}
	if got := run(s, "1", "requested"); !strings.Contains(got, "earlier run of the app") {
		t.Errorf("an expression after the restart answered %q", got)
	}
	s.screenshotViewport("older-run")
}
