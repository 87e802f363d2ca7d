package e2e

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/panicroom/panicroom/internal/relreport"
	"github.com/panicroom/panicroom/internal/traceback"
)

// The payloads that testdata/xssapp puts in its panic value and source; the
// test adds its own to the URL, headers, cookies, form, console expressions
// and file paths.
const (
	fixtureScript  = `<script>window.__pwned=1;alert(1)</script>`
	fixtureImg     = `<img src=x onerror="window.__pwned=1;alert(2)">`
	fixtureAttr    = `"'><svg onload="window.__pwned=1">`
	fixtureComment = `// <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> </textarea></title></pre>`

	queryPayload  = `<script>window.__pwned=1;alert(3)</script><img src=x onerror="window.__pwned=1;alert(4)">`
	headerPayload = `</code><script>window.__pwned=1;alert(5)</script><img src=x onerror="window.__pwned=1;alert(6)">`

	formPayload     = `</code><img src=x onerror="window.__pwned=1;alert(7)">`
	formNamePayload = `"><svg onload="window.__pwned=1;alert(8)">`
	// net/http drops a cookie whose value holds '"', ';' or a backslash,
	// hence the assignment inside the call.
	cookiePayload = `<img src=x onerror=alert(window.__pwned=9)>`
	callPayload   = `</span><script>window.__pwned=1;alert(10)</script>`

	// The directory and file the path fixture is built from. A file name
	// must start with a letter or digit (cmd/go's SafeArg), and neither can
	// hold a slash.
	pathDir  = `<svg onload="window.__pwned=1;alert(11)">`
	pathFile = `x"'><img src=x onerror="window.__pwned=1;alert(12)">.go`
)

// allPayloads are counted in RELIABILITY.md.
var allPayloads = []string{fixtureScript, fixtureImg, fixtureAttr, fixtureComment, queryPayload, headerPayload,
	formPayload, formNamePayload, cookiePayload, callPayload, pathDir, pathFile}

// injected finds what escaping must have prevented: elements or handler
// attributes that only a payload could have put in the page. Chromium's CSP
// would block them from running, so their presence is the failure the CSP
// hides.
const injected = `Array.from(document.querySelectorAll("script:not([src]), img, svg, [onerror], [onload]"), e => e.outerHTML.slice(0, 120))`

// assertInert checks that nothing ran and nothing was injected; the
// session's watcher separately fails the test on any CSP violation or
// dialog.
func assertInert(t *testing.T, s *session, view string) {
	t.Helper()
	inert := true
	if got := eval[string](s, `typeof window.__pwned`); got != "undefined" {
		t.Errorf("%s: window.__pwned is set: a payload ran", view)
		inert = false
	}
	if got := eval[[]string](s, injected); len(got) > 0 {
		t.Errorf("%s: payload elements in the DOM: %q", view, got)
		inert = false
	}
	xssChecks.Add(1)
	if inert {
		xssInert.Add(1)
	}
}

// xssChecks counts the views and console steps assertInert checked, and
// xssInert those it found inert, for RELIABILITY.md.
var xssChecks, xssInert atomic.Int64

// TestPayloadsStayText puts script payloads wherever panicroom shows text
// that a request or the app controls, on its pages and in its console, and
// checks that Chromium shows them as characters and runs none.
func TestPayloadsStayText(t *testing.T) {
	t.Parallel()
	start := time.Now()
	defer func() {
		results.Add(relreport.Result{
			Area:       "Attacks",
			Test:       "XSS in headless Chromium: panic values, error chains, URLs, headers, cookies, form values, file paths, source lines, console answers and errors",
			Iterations: int(xssChecks.Load()), Survived: int(xssInert.Load()),
			Outcome: "views and console steps with no script run, no injected element, no CSP violation or dialog",
			Figures: []string{fmt.Sprintf("%d payloads, on the panic pages, the index, the text and JSON views and in the console; %v", len(allPayloads), time.Since(start).Round(time.Second))},
			Failed:  t.Failed(),
		})
	}()
	// The copy under a payload path builds while the browser works.
	var paths pathFixture
	built := make(chan struct{})
	root := t.TempDir()
	go func() {
		defer close(built)
		paths = buildAtPayloadPath(root)
	}()
	// Registered after TempDir, so that a test that stops early lets the
	// build finish before its directory is removed.
	t.Cleanup(func() { <-built })
	// Two apps, five pages and a console in one browser: more than the
	// default deadline on a loaded machine (seen in CI runs).
	s := newSessionFor(t, xssPkg, 3*time.Minute)

	if _, err := chromedp.Call(s.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{
			"X-Payload": headerPayload,
			// A secret-looking name: its value must be masked, payload or not.
			"X-Api-Token": "tok-" + headerPayload,
		},
	}); err != nil {
		t.Fatalf("setting request headers: %v", err)
	}
	s.open("/boom?" + url.Values{"q": {queryPayload}}.Encode())
	if eval[string](s, `document.body.dataset.panic || ""`) == "" {
		t.Fatalf("no panic page: %s", eval[string](s, `document.body.innerText.slice(0, 500)`))
	}
	assertInert(t, s, "panic page")

	// Each payload must be on screen as the characters it is made of.
	message := eval[string](s, `document.querySelector("h1.message").textContent`)
	for _, p := range []string{queryPayload, fixtureAttr, fixtureScript, fixtureImg} {
		if !strings.Contains(message, p) {
			t.Errorf("h1.message %q does not show %q as text", message, p)
		}
	}
	// The title is cut short, but what it keeps is text too.
	if title := eval[string](s, `document.title`); !strings.Contains(title, "search <script>window.__pwned=1;alert(3)</script>") {
		t.Errorf("title %q does not show the query payload", title)
	}
	if chain := eval[string](s, `document.querySelector(".chain")?.innerText || ""`); !strings.Contains(chain, fixtureImg) {
		t.Errorf("the error chain %q does not show the payload of *main.payloadError", chain)
	}
	source := eval[string](s, `document.querySelector("#frame-0 .src")?.innerText || ""`)
	if !strings.Contains(source, fixtureComment) {
		t.Errorf("frame 0's source does not show the payload comment as text:\n%s", source)
	}

	if q := requestFields(s, "Query")["q"]; q != queryPayload {
		t.Errorf("query field q shows %q, want %q", q, queryPayload)
	}
	headers := requestFields(s, "Headers")
	if headers["X-Payload"] != headerPayload {
		t.Errorf("header X-Payload shows %q, want %q", headers["X-Payload"], headerPayload)
	}
	if v, ok := headers["X-Api-Token"]; !ok || strings.Contains(v, "tok-") {
		t.Errorf("header X-Api-Token shows %q (present %v), want it masked", v, ok)
	}
	s.screenshot("panic")

	s.open("/__panicroom__/")
	assertInert(t, s, "index")
	if row := eval[string](s, `document.querySelector("table.recent tbody tr")?.innerText || ""`); !strings.Contains(row, queryPayload) {
		t.Errorf("the index row %q does not show the payload as text", row)
	}
	s.screenshot("index")

	s.follow("the panic's link", "table.recent tbody tr a")
	text := eval[string](s, `document.querySelector('.tools a[href*="format=text"]').href`)
	jsonURL := eval[string](s, `document.querySelector('.tools a[href*="format=json"]').href`)
	for _, v := range []struct{ name, url, contentType string }{
		{"text view", text, "text/plain"},
		{"JSON view", jsonURL, "application/json"},
	} {
		s.do("opening the "+v.name, chromedp.Navigate(v.url))
		// A payload can only run in a document the browser parses as HTML.
		if ct := eval[string](s, `document.contentType`); ct != v.contentType {
			t.Errorf("%s: content type %q, want %q", v.name, ct, v.contentType)
		}
		assertInert(t, s, v.name)
	}

	// A collection that ends before the debugger's snapshot releases the
	// form panic's goroutine by design (its page says so), and its console
	// then answers nothing: take a new panic.
	for attempt := 1; ; attempt++ {
		checkFormAndCookies(t, s)
		if checkConsole(t, s, attempt) {
			break
		}
		t.Logf("the form panic %d was released before its snapshot; again", attempt)
	}
	<-built
	checkFilePaths(t, s, paths)
}

// requestFields returns the rows of the Request section's table under the
// heading named section ("Query", "Form", "Headers"), as the browser shows
// them.
func requestFields(s *session, section string) map[string]string {
	s.t.Helper()
	return eval[map[string]string](s, `Object.fromEntries(Array.from(
		[...document.querySelectorAll(".request h3")].find(h => h.textContent === `+strconv.Quote(section)+`)?.nextElementSibling?.querySelectorAll("tr") || [],
		tr => [tr.cells[0]?.textContent || "", tr.cells[1]?.textContent || ""]))`)
}

// checkFormAndCookies posts the app's own form, with payloads in field
// values, in a field name and in cookies, and reads the panic page the
// browser got back.
func checkFormAndCookies(t *testing.T, s *session) {
	for name, value := range map[string]string{
		"theme": cookiePayload,
		// A secret-looking name: panicroom masks the whole Cookie header,
		// and this value must not reach the page in any form.
		"session_token": "cookie-secret-" + cookiePayload,
	} {
		if _, err := chromedp.Call(s.ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: s.app.URL}); err != nil {
			t.Fatalf("setting cookie %s: %v", name, err)
		}
	}
	s.open("/form")
	s.do("filling in the form",
		chromedp.SetValue(`input[name="comment"]`, formPayload),
		chromedp.SetValue(`input[name="password"]`, "form-secret-"+formPayload))
	// A field whose name is a payload, which the page shows as a row title.
	eval[bool](s, `(document.forms[0].append(Object.assign(document.createElement("input"),
		{type: "hidden", name: `+strconv.Quote(formNamePayload)+`, value: "named"})), true)`)
	s.follow("submitting the form", `button[type="submit"]`)
	if eval[string](s, `document.body.dataset.panic || ""`) == "" {
		t.Fatalf("no panic page for the form: %s", eval[string](s, `document.body.innerText.slice(0, 500)`))
	}
	assertInert(t, s, "form panic page")

	form := requestFields(s, "Form")
	if form["comment"] != formPayload {
		t.Errorf("form field comment shows %q, want %q", form["comment"], formPayload)
	}
	if form[formNamePayload] != "named" {
		t.Errorf("the field named with a payload is not shown as text: %q", form)
	}
	if v, ok := form["password"]; !ok || v != traceback.Mask {
		t.Errorf("form field password shows %q (present %v), want it masked", v, ok)
	}
	if v := requestFields(s, "Headers")["Cookie"]; v != traceback.Mask {
		t.Errorf("the Cookie header shows %q, want it masked", v)
	}
	html := eval[string](s, `document.documentElement.outerHTML`)
	for _, secret := range []string{"cookie-secret-", "form-secret-"} {
		if strings.Contains(html, secret) {
			t.Errorf("the page holds the secret marked %q", secret)
		}
	}
	// The cookie reaches the page only through the app, in its panic value.
	message := eval[string](s, `document.querySelector("h1.message").textContent`)
	for _, p := range []string{formPayload, cookiePayload} {
		if !strings.Contains(message, p) {
			t.Errorf("h1.message %q does not show %q as text", message, p)
		}
	}
	s.screenshot("form")
}

// checkConsole evaluates, in the form panic's handler frame, locals that
// hold payloads, expands their trees, and runs expressions whose errors
// carry payloads: the console builds its DOM in script, away from
// html/template. Before the third attempt, it reports false, having
// checked nothing, when the panic's goroutine was released before its
// snapshot. The first attempt enters the PIN; later ones hold its cookie.
func checkConsole(t *testing.T, s *session, attempt int) bool {
	// The page asks /session whether it holds a PIN cookie before the PIN.
	s.events.allow(`status of 401 .*/__panicroom__/session `)
	pin := waitLog(s, pinLine, 10*time.Second)[1]
	waitLog(s, regexp.MustCompile(`debugger attached`), 30*time.Second)

	frame := eval[string](s, `[...document.querySelectorAll(".frame")].find(f => f.querySelector(".name")?.textContent === "submit")?.id.replace("frame-", "") || ""`)
	if frame == "" {
		t.Fatal("no frame for main.submit")
	}
	sel := "#frame-" + frame
	if attempt == 1 {
		s.do("opening the console", chromedp.Click(sel+" .console-open"), chromedp.WaitVisible(".pin-dialog input"))
		s.do("entering the PIN", chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"))
	} else {
		s.do("opening the console", chromedp.Click(sel+" .console-open"))
	}
	s.do("waiting for the console", chromedp.WaitVisible(sel+" .console textarea"))

	// Strings come back quoted as Go does, so a payload shows as its
	// strconv.Quote.
	waitTrue(s, "the locals", `document.querySelector("`+sel+` .locals-body").textContent.includes("labels")`, 20*time.Second)
	// The locals come from the snapshot, whose delivery decides the
	// release: by now the log says whether it happened.
	if id := eval[string](s, `document.body.dataset.panic`); attempt < 3 && regexp.MustCompile(`was released: its frames cannot be trusted" page=\S*`+id).MatchString(s.app.Log()) {
		return false
	}
	assertInert(t, s, "locals panel")
	locals := treeLines(s, sel+" .locals-body")
	for name, want := range map[string]string{"comment": formPayload, "theme": cookiePayload} {
		if got := locals[name]; got != strconv.Quote(want) {
			t.Errorf("locals panel: %s shows %s, want %s", name, got, strconv.Quote(want))
		}
	}

	last := sel + " .con-entry:last-child"
	ask := func(expr string) {
		t.Helper()
		run(s, frame, expr)
		assertInert(t, s, "console answer to "+expr)
		if echo := eval[string](s, `document.querySelector("`+last+` .con-echo code").textContent`); echo != expr {
			t.Errorf("the console echoes %q as %q", expr, echo)
		}
	}
	expand := func(what, summary, want string) map[string]string {
		t.Helper()
		s.do("expanding "+what, chromedp.Click(last+" "+summary))
		waitTrue(s, what+" expanded", `document.querySelector("`+last+` .vt-children")?.textContent.includes(`+strconv.Quote(want)+`)`, 20*time.Second)
		assertInert(t, s, what+" expanded")
		return treeLines(s, last+" .vt-children")
	}

	for name, want := range map[string]string{"comment": formPayload, "theme": cookiePayload, "n.Title": fixtureScript} {
		ask(name)
		if got := treeLines(s, last+" .con-result")[name]; got != strconv.Quote(want) {
			t.Errorf("%s answered %s, want %s", name, got, strconv.Quote(want))
		}
	}

	ask("n")
	fields := expand("the struct", ".con-result details > summary", "Title")
	if fields["Title"] != strconv.Quote(fixtureScript) || fields["Body"] != strconv.Quote(formPayload) {
		t.Errorf("the struct's fields show %q", fields)
	}
	ask("labels")
	if entries := expand("the map", ".con-result details > summary", "string"); entries[strconv.Quote(fixtureAttr)] != strconv.Quote(fixtureImg) {
		t.Errorf("the map's entries show %q, want the key %s", entries, strconv.Quote(fixtureAttr))
	}

	// A call that panics answers with an error that holds its panic value.
	call := "shout(" + strconv.Quote(callPayload) + ")"
	ask(call)
	panicked := "rejected " + callPayload
	if msg := eval[string](s, `document.querySelector("`+last+` .con-error-msg")?.textContent || ""`); !strings.Contains(msg, strconv.Quote(panicked)) {
		t.Errorf("%s: the error says %q, want it to show %s", call, msg, strconv.Quote(panicked))
	}
	if values := expand("the panic value", ".con-error details > summary", "rejected"); !slices.Contains(slices.Collect(maps.Values(values)), strconv.Quote(panicked)) {
		t.Errorf("%s: the panic value's tree shows %q", call, values)
	}

	// Error messages that repeat what was typed, unquoted: one from the
	// parser, one from the evaluator.
	for _, expr := range []string{
		"n.Title.(" + strconv.Quote(callPayload) + ")",
		strconv.Quote(callPayload) + ".x",
	} {
		ask(expr)
		if msg := eval[string](s, `document.querySelector("`+last+` .con-error-msg")?.textContent || ""`); !strings.Contains(msg, callPayload) {
			t.Errorf("%s: the error says %q, want it to repeat the payload", expr, msg)
		}
	}
	s.screenshot("console")
	return true
}

// treeLines returns, for the value tree lines under the CSS selector root,
// each line's name and value as the browser shows them.
func treeLines(s *session, root string) map[string]string {
	s.t.Helper()
	return eval[map[string]string](s, `Object.fromEntries(Array.from(
		document.querySelectorAll(`+strconv.Quote(root+" .vt-line")+`),
		l => [l.querySelector(".vt-name")?.textContent || "", l.querySelector(".vt-value")?.textContent || ""]))`)
}

// A pathFixture is the xssapp built from a copy whose directory and file
// names are payloads.
type pathFixture struct {
	exe, src string
	err      error
}

// buildAtPayloadPath copies xssapp to root/app/pathDir/pathFile and builds
// it there. A package directory's import path cannot hold '<' or '"' (go
// build ./DIR says: malformed import path "xsspath/<svg...": invalid char
// '<'), but a package given as a list of files has no import path from its
// directory, and cmd/go checks only the first character of a file's name.
// A workspace lends the copy this repository's module, so that panicroom
// comes from here and from the build cache.
func buildAtPayloadPath(root string) pathFixture {
	fail := func(err error) pathFixture { return pathFixture{err: err} }
	repo, err := filepath.Abs("..")
	if err != nil {
		return fail(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return fail(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(gomod)
	code, err := os.ReadFile(filepath.Join("testdata", "xssapp", "main.go"))
	if err != nil {
		return fail(err)
	}
	mod := filepath.Join(root, "app")
	src := filepath.Join(mod, pathDir, pathFile)
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return fail(err)
	}
	for name, text := range map[string]string{
		src:                            string(code),
		filepath.Join(mod, "go.mod"):   fmt.Sprintf("module xsspath\n\n%s\n", goLine),
		filepath.Join(root, "go.work"): fmt.Sprintf("%s\n\nuse (\n\t./app\n\t%q\n)\n", goLine, repo),
	} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			return fail(err)
		}
	}
	exe := filepath.Join(root, "xsspath")
	// -mod=readonly overrides a -mod=mod in GOFLAGS, which workspace mode
	// refuses.
	cmd := exec.Command("go", "build", "-mod=readonly", "-gcflags=all=-N -l", "-o", exe, "./"+pathDir+"/"+pathFile)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build under a payload path: %w\n%s", err, out))
	}
	return pathFixture{exe: exe, src: src}
}

// checkFilePaths opens a panic of the copy built under a payload path,
// where the frame's header, its editor link and the origin line show the
// path, and again once the source is gone, where the error about it names
// the path.
func checkFilePaths(t *testing.T, s *session, fx pathFixture) {
	if fx.err != nil {
		t.Fatal(fx.err)
	}
	a := startExe(t, fx.exe)
	short := pathDir + "/" + pathFile // relative to the module root
	boom := `[...document.querySelectorAll(".frame")].find(f => f.querySelector(".name")?.textContent === "boom")`
	load := func(step string) {
		t.Helper()
		s.do("opening /boom of the path fixture "+step, chromedp.Navigate(a.URL+"/boom"), chromedp.WaitReady(chromedp.CSS("body")))
		if !eval[bool](s, `!!`+boom) {
			t.Fatalf("no frame for main.boom %s: %s", step, eval[string](s, `document.body.innerText.slice(0, 500)`))
		}
		assertInert(t, s, "path fixture "+step)
	}

	load("with source")
	link := eval[map[string]string](s, `(a => ({text: a.textContent, title: a.getAttribute("title"), href: a.getAttribute("href"), protocol: a.protocol}))(`+boom+`.querySelector(".loc a"))`)
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(short) + `:(\d+)$`).FindStringSubmatch(link["text"])
	if m == nil {
		t.Fatalf("the frame's link shows %q, want %s:LINE", link["text"], short)
	}
	at := fx.src + ":" + m[1]
	if want := "Open " + at + " in your editor"; link["title"] != want {
		t.Errorf("the frame's link has title %q, want %q", link["title"], want)
	}
	// The path is escaped into the URL, and the URL keeps the editor's
	// scheme.
	if file, err := url.PathUnescape(strings.TrimPrefix(link["href"], "vscode://file")); link["protocol"] != "vscode:" || err != nil || file != at {
		t.Errorf("the frame's link goes to %q (scheme %q), want vscode://file%s escaped", link["href"], link["protocol"], at)
	}
	if origin := eval[string](s, `document.querySelector(".origin")?.textContent || ""`); !strings.Contains(origin, " at "+short+":"+m[1]) {
		t.Errorf("the origin line %q does not show %s", origin, short)
	}
	if source := eval[string](s, boom+`.querySelector(".src")?.innerText || ""`); !strings.Contains(source, fixtureComment) {
		t.Errorf("the source was not read from the payload path:\n%s", source)
	}
	s.screenshot("path")

	if err := os.Remove(fx.src); err != nil {
		t.Fatal(err)
	}
	load("without source")
	if msg := eval[string](s, boom+`.querySelector(".nosrc")?.textContent || ""`); !strings.Contains(msg, fx.src) {
		t.Errorf("the missing source's message %q does not name %s", msg, fx.src)
	}
}
