// Package e2e drives panicroom's pages in a real headless Chromium: it builds
// the demo (and fixture apps under testdata/) the way a developer would, with
// optimizations off, starts each on a free loopback port, and asserts on the
// DOM the browser actually built, with its script and Content-Security-Policy
// in force.
//
// Chromium is found at $PANICROOM_CHROMIUM, /usr/bin/chromium or as chromium
// in PATH. Without it the tests skip, unless PANICROOM_REQUIRE_BROWSER=1 (as
// in CI), where they fail. Full-page screenshots go to $PANICROOM_E2E_OUT,
// by default e2e/output/, for people to look at; nothing asserts on pixels.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/panicroom/panicroom/internal/relreport"
	"github.com/panicroom/panicroom/internal/testapp"
)

const (
	demoPkg = "github.com/panicroom/panicroom/cmd/debugdemo"
	xssPkg  = "github.com/panicroom/panicroom/e2e/testdata/xssapp"

	// browserTimeout bounds everything one test does in its browser. It is
	// generous because CI machines have two cores shared by Chromium, the
	// app and the race-instrumented test binary.
	browserTimeout = 60 * time.Second
	startTimeout   = 30 * time.Second
)

// results are what make reliability publishes from this package (the
// XSS test), written to PANICROOM_RELIABILITY_RESULTS when it is set.
var results relreport.Results

func TestMain(m *testing.M) {
	code := m.Run()
	testapp.Cleanup()
	if err := results.WriteRequested(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: writing results:", err)
		code = 1
	}
	os.Exit(code)
}

// binary builds pkg once per test binary (see testapp.Build).
func binary(t *testing.T, pkg string) string {
	t.Helper()
	path, err := testapp.Build(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// An app is a running build of a package, with its standard error kept for
// assertions on what it logged.
type app struct {
	*testapp.Process
}

// startApp runs pkg on a free loopback port (the apps listen on port 0 and
// print the address they got) until the test ends. Each test gets its own
// process, so that the panics one test causes never show in another's
// index page.
func startApp(t *testing.T, pkg string) *app {
	t.Helper()
	return startExe(t, binary(t, pkg))
}

// startExe is startApp for an executable built some other way.
func startExe(t *testing.T, exe string) *app {
	t.Helper()
	// The app keeps its PIN under the user's config directory; a test's
	// PIN files belong in the test's own.
	p, err := testapp.Start(exe, []string{"-addr", "127.0.0.1:0"}, []string{"XDG_CONFIG_HOME=" + t.TempDir()}, startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s standard error:\n%s", filepath.Base(exe), p.Log())
		}
	})
	return &app{p}
}

// chromium returns the browser to drive, or skips (fails, in CI) the test.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PANICROOM_CHROMIUM")
	var err error
	switch {
	case path != "":
		path, err = exec.LookPath(path)
	case isExecutable("/usr/bin/chromium"):
		path = "/usr/bin/chromium"
	default:
		path, err = exec.LookPath("chromium")
	}
	if err != nil && os.Getenv("PANICROOM_CHROMIUM") != "" {
		t.Fatalf("PANICROOM_CHROMIUM: %v", err)
	}
	if err != nil || path == "" {
		msg := fmt.Sprintf("no Chromium (looked at $PANICROOM_CHROMIUM, /usr/bin/chromium and chromium in PATH: %v); install it with apt-get install chromium", err)
		if os.Getenv("PANICROOM_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// A session is one test's browser tab on one app.
type session struct {
	t      *testing.T
	ctx    context.Context
	app    *app
	events *pageEvents
}

// newSession starts pkg and a fresh Chromium (its own profile, so that
// localStorage starts empty) with a tab open on nothing yet.
func newSession(t *testing.T, pkg string) *session {
	t.Helper()
	return newSessionFor(t, pkg, browserTimeout)
}

// newSessionFor is newSession with a longer life, for tests that wait on
// the debugger or on the PIN's delays.
func newSessionFor(t *testing.T, pkg string, timeout time.Duration) *session {
	t.Helper()
	exe := chromium(t) // first, so that a missing browser skips before a build
	return newBrowser(t, exe, startApp(t, pkg), timeout)
}

// newBrowser starts Chromium exe on app a, which something else started.
func newBrowser(t *testing.T, exe string, a *app, timeout time.Duration) *session {
	t.Helper()
	profile := t.TempDir()
	// The flags the project asks for are listed even where chromedp's
	// defaults already have them, so that the list can be checked at a glance.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where the sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	// One deadline covers the browser's start and every action: past it,
	// chromedp stops the browser and the next action fails with the
	// context's error, instead of the test hanging until go test's timeout.
	deadline, cancelDeadline := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancelDeadline)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	// Registered after t.TempDir, so it runs first: cancelAlloc waits for
	// the browser to exit, which must happen before its profile is removed.
	t.Cleanup(cancelAlloc)

	ev := &pageEvents{}
	// Neither panicroom's pages nor the demo's declare an icon, so Chromium
	// asks the app for /favicon.ico and logs its 404. Known, and not what
	// these tests are about.
	ev.allow(`status of 404 .* http://[^ ]*/favicon\.ico `)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(ev.listen))
	t.Cleanup(cancelTab)
	s := &session{t: t, ctx: ctx, app: a, events: ev}
	ev.dismiss = func() {
		go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
	}

	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium %s: %v", exe, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: watchScript}); err != nil {
		t.Fatalf("installing the page watcher: %v", err)
	}
	t.Cleanup(func() {
		for _, p := range ev.unexpected() {
			t.Errorf("browser reported: %s", p)
		}
	})
	return s
}

// watchScript runs before any script of every page. It turns what must never
// happen on our pages into console errors, which pageEvents collects: a CSP
// violation (inline script or style, another origin) and a dialog (the XSS
// payloads call alert).
const watchScript = `(function () {
  function report(what) { console.error("[e2e] " + what); }
  document.addEventListener("securitypolicyviolation", function (e) {
    report("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
      " at " + e.sourceFile + ":" + e.lineNumber + " sample=" + e.sample);
  }, true);
  ["alert", "confirm", "prompt"].forEach(function (name) {
    window[name] = function (msg) { report("dialog: " + name + "(" + msg + ")"); };
  });
})();`

// pageEvents collects what a clean page must not produce: uncaught
// exceptions, console errors (including the watcher's reports) and errors in
// the browser's own log, each with the page it happened on.
type pageEvents struct {
	dismiss func()

	mu       sync.Mutex
	page     string
	problems []string
	allowed  []*regexp.Regexp
}

// listen runs in chromedp's event loop: it must return fast and send no
// command.
func (p *pageEvents) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			p.mu.Lock()
			p.page = ev.Frame.URL
			p.mu.Unlock()
		}
		return
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		// A panic page is a 500 by design; Chromium logs that for the
		// document itself.
		p.mu.Lock()
		doc := ev.Entry.URL == p.page
		p.mu.Unlock()
		if doc && ev.Entry.Source == log.EntrySourceNetwork && strings.Contains(ev.Entry.Text, "status of 500") {
			return
		}
		msg = fmt.Sprintf("%s error: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	case *page.EventJavascriptDialogOpening:
		// Only if the watcher's override was bypassed; a dialog left open
		// would stall the page until the test times out.
		msg = "dialog opened: " + ev.Message
		p.dismiss()
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, msg+" on "+p.page)
}

// allow marks problems matching re as expected by the test.
func (p *pageEvents) allow(re string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allowed = append(p.allowed, regexp.MustCompile(re))
}

func (p *pageEvents) unexpected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
next:
	for _, msg := range p.problems {
		for _, re := range p.allowed {
			if re.MatchString(msg) {
				continue next
			}
		}
		out = append(out, msg)
	}
	return out
}

// do runs steps in the tab, failing the test with what was being done.
func (s *session) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, steps...); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// open loads path from the app and waits until the page's deferred script
// has run (Navigate returns after the load event).
func (s *session) open(path string) {
	s.t.Helper()
	s.do("opening "+path, chromedp.Navigate(s.app.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// follow clicks the link matching the CSS selector sel and waits for the
// page it leads to to load.
func (s *session) follow(what, sel string) {
	s.t.Helper()
	loaded := func(page.EventLoadEventFired) bool { return true }
	if _, err := chromedp.Run(s.ctx, chromedp.WaitEvent(page.LoadEventFired, loaded, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		s.t.Fatalf("following %s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](s *session, expr string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		s.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// await returns the value a JavaScript promise resolves to.
func await[T any](s *session, expr string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("awaiting %s: %v", expr, err)
	}
	return v
}

// colorScheme makes the page match prefers-color-scheme: scheme.
func (s *session) colorScheme(scheme string) {
	s.t.Helper()
	_, err := chromedp.Call(s.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		s.t.Fatalf("emulating prefers-color-scheme: %s: %v", scheme, err)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves a full-page PNG named after the test and label, for a
// person to judge; it is logged, never compared.
func (s *session) screenshot(label string) {
	s.t.Helper()
	s.saveScreenshot(label, chromedp.FullScreenshot(100))
}

// screenshotViewport saves what fits in the window.
func (s *session) screenshotViewport(label string) {
	s.t.Helper()
	s.saveScreenshot(label, chromedp.CaptureScreenshot())
}

func (s *session) saveScreenshot(label string, capture chromedp.Action[[]byte]) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, capture)
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", label, err)
	}
	dir := os.Getenv("PANICROOM_E2E_OUT")
	if dir == "" {
		dir = "output"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	name := unsafeName.ReplaceAllString(s.t.Name()+"-"+label, "_") + ".png"
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", path)
}
