package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// panicID is the id of the panic whose page is open.
func panicID(s *session) string {
	s.t.Helper()
	id := eval[string](s, `document.body.dataset.panic || ""`)
	if id == "" {
		s.t.Fatal("the page has no body[data-panic]: not a panic page")
	}
	return id
}

func TestNilPointerPage(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/nil-pointer")

	if got := eval[string](s, `document.querySelector("h1.message").textContent`); got != "runtime error: invalid memory address or nil pointer dereference" {
		t.Errorf("h1.message = %q", got)
	}

	type frame struct {
		ID, Kind, Loc, Href, Current string
		Open                         bool
		Spans                        int
	}
	frames := eval[[]frame](s, `Array.from(document.querySelectorAll("details.frame"), f => ({
		ID: f.id,
		Kind: [...f.classList].find(c => c.startsWith("frame-")) || "",
		Open: f.open,
		Loc: f.querySelector(".loc b")?.textContent || "",
		Href: f.querySelector(".loc a")?.getAttribute("href") || "",
		Current: f.querySelector(".src tr.current th")?.textContent.trim() || "",
		Spans: f.querySelectorAll(".src td span[class]").length,
	}))`)
	if len(frames) < 3 {
		t.Fatalf("%d frames, want the two app frames and the server's", len(frames))
	}
	for i, f := range frames {
		if want := fmt.Sprintf("frame-%d", i); f.ID != want {
			t.Errorf("frame %d has id %q, want %q", i, f.ID, want)
		}
	}
	for i, want := range []string{"panics.go:62", "panics.go:57"} {
		f := frames[i]
		if f.Kind != "frame-app" || !f.Open {
			t.Errorf("%s: kind %q open %v, want an open app frame", f.ID, f.Kind, f.Open)
		}
		if f.Loc != want {
			t.Errorf("%s: location %q, want %q", f.ID, f.Loc, want)
		}
		if f.Spans == 0 {
			t.Errorf("%s: no highlighted spans in its source", f.ID)
		}
		// The marked row must be the line the summary names, or the page
		// points at the wrong code.
		if _, line, _ := strings.Cut(want, ":"); f.Current != line {
			t.Errorf("%s: current line %q, want %s", f.ID, f.Current, line)
		}
		if !strings.HasPrefix(f.Href, "vscode://file/") || !strings.HasSuffix(f.Href, "/cmd/debugdemo/"+want) {
			t.Errorf("%s: editor link %q, want vscode://file/.../cmd/debugdemo/%s", f.ID, f.Href, want)
		}
	}
	for _, f := range frames[2:] {
		if f.Kind == "frame-app" || f.Open {
			t.Errorf("%s: kind %q open %v, want a closed non-app frame", f.ID, f.Kind, f.Open)
		}
		if f.Current != "" {
			t.Errorf("%s: closed, yet its source is in the page", f.ID)
		}
	}
	// A closed frame fetches its source when opened, once.
	closed := frames[2]
	got := await[frame](s, `new Promise((resolve, reject) => {
		const f = document.getElementById(`+jsString(closed.ID)+`);
		f.querySelector("summary").click();
		const deadline = Date.now() + 10000;
		(function poll() {
			const cur = f.querySelector(".src tr.current th");
			if (cur) { return resolve({Current: cur.textContent.trim(), Spans: f.querySelectorAll(".src td span[class]").length, Open: f.open}); }
			const failed = f.querySelector(".nosrc");
			if (failed) { return reject(new Error(failed.textContent)); }
			if (Date.now() > deadline) { return reject(new Error("no source 10 s after opening")); }
			setTimeout(poll, 20);
		})();
	})`)
	if _, line, _ := strings.Cut(closed.Loc, ":"); !got.Open || got.Current != line || got.Spans == 0 {
		t.Errorf("%s opened: %+v, want its highlighted source marked at line %s", closed.ID, got, line)
	}
	s.screenshot("light")
}

// visible reports whether the first element matching the CSS selector sel
// is rendered (not inside a display:none ancestor), as the user would see it.
func visible(s *session, sel string) bool {
	s.t.Helper()
	return eval[bool](s, `document.querySelector(`+jsString(sel)+`).checkVisibility()`)
}

// hiddenFrame selects the first frame that is not the app's: the frames
// that the page hides until asked.
const hiddenFrame = "details.frame:not(.frame-app)"

func jsString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestShowAllFramesIsRemembered(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/nil-pointer")

	if !visible(s, "#frame-0") {
		t.Fatal("the first app frame is hidden")
	}
	if visible(s, hiddenFrame) || eval[bool](s, `document.getElementById("show-all").checked`) {
		t.Fatal("a standard library frame is visible before asking for all frames")
	}
	s.do("checking Show all frames", chromedp.Click(chromedp.ID("show-all")))
	if !visible(s, hiddenFrame) {
		t.Fatal("the standard library frames are still hidden after checking Show all frames")
	}
	s.screenshot("all-frames")

	s.do("reloading", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
	if !eval[bool](s, `document.getElementById("show-all").checked`) || !visible(s, hiddenFrame) {
		t.Fatal("after a reload, Show all frames is off again: the choice was not remembered")
	}
	// The choice is the browser's, not the panic's: another panic's page
	// (here one with runtime frames too) opens with every frame.
	s.open("/index")
	if !eval[bool](s, `Array.from(document.querySelectorAll("details.frame")).every(f => f.checkVisibility())`) {
		t.Error("another panic's page does not show all frames")
	}
	s.screenshot("index-all-frames")

	s.do("unchecking Show all frames", chromedp.Click(chromedp.ID("show-all")))
	if visible(s, hiddenFrame) {
		t.Fatal("a non-app frame is still visible after unchecking Show all frames")
	}
	s.do("reloading", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
	if visible(s, hiddenFrame) {
		t.Error("after a reload, unchecking Show all frames was forgotten")
	}
}

func TestGroupToggleExpandsItsGroup(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/nil-pointer")

	label := eval[string](s, `document.querySelector(".group-toggle").textContent`)
	if !strings.Contains(label, "standard library") {
		t.Errorf("group toggle says %q, want it to name the standard library frames", label)
	}
	if visible(s, ".group .frame") {
		t.Fatal("a grouped frame is visible before its group is expanded")
	}
	s.do("expanding the group", chromedp.Click(chromedp.CSS(".group-toggle")))
	if !eval[bool](s, `Array.from(document.querySelectorAll(".group .frame")).every(f => f.checkVisibility())`) {
		t.Fatal("grouped frames hidden after clicking their group's toggle")
	}
	if visible(s, ".group-toggle") {
		t.Error("the toggle of an expanded group is still shown")
	}
	if got := eval[string](s, `document.querySelector(".group-toggle").getAttribute("aria-expanded")`); got != "true" {
		t.Errorf("aria-expanded = %q after expanding", got)
	}
	// Expanding one group is not "show all": the checkbox stays as it was.
	if eval[bool](s, `document.getElementById("show-all").checked`) {
		t.Error("expanding a group checked Show all frames")
	}
}

func TestKeyboardNavigation(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/nil-pointer")

	focused := func() string {
		return eval[string](s, `document.activeElement?.closest(".frame")?.id || ""`)
	}
	steps := []struct{ key, want string }{
		{"j", "frame-0"},
		{"j", "frame-1"},
		{"j", "frame-1"}, // the last visible frame: hidden ones are skipped
		{"k", "frame-0"},
		{"k", "frame-0"},
	}
	for i, st := range steps {
		s.do("pressing "+st.key, chromedp.KeyEvent(st.key))
		if got := focused(); got != st.want {
			t.Fatalf("step %d: after %q the focus is on %q, want %q", i, st.key, got, st.want)
		}
	}
	if !eval[bool](s, `document.getElementById("frame-0").classList.contains("focused")`) {
		t.Error("the focused frame is not marked .focused")
	}

	s.do("pressing o", chromedp.KeyEvent("o"))
	if eval[bool](s, `document.getElementById("frame-0").open`) {
		t.Error("o did not close the focused frame")
	}
	s.do("pressing a", chromedp.KeyEvent("a"))
	if !eval[bool](s, `document.getElementById("show-all").checked`) || !visible(s, "#frame-2") {
		t.Fatal("a did not show all frames")
	}
	s.do("pressing j", chromedp.KeyEvent("j"))
	if got := focused(); got != "frame-1" {
		t.Fatalf("after j the focus is on %q, want frame-1", got)
	}
	s.do("pressing j", chromedp.KeyEvent("j"))
	if got := focused(); got != "frame-2" {
		t.Errorf("with all frames shown, j moved to %q, want frame-2", got)
	}
	s.screenshot("focused")
}

func TestTextAndJSONViews(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/nil-pointer")
	id := panicID(s)
	frames := eval[int](s, `document.querySelectorAll("details.frame").length`)
	links := eval[map[string]string](s, `({
		text: document.querySelector('.tools a[href*="format=text"]')?.href || "",
		json: document.querySelector('.tools a[href*="format=json"]')?.href || "",
	})`)

	s.follow("the Text link", `.tools a[href*="format=text"]`)
	if got := eval[string](s, `location.href`); got != links["text"] {
		t.Errorf("the Text link led to %s, want %s", got, links["text"])
	}
	if ct := eval[string](s, `document.contentType`); ct != "text/plain" {
		t.Errorf("text view content type %q", ct)
	}
	text := eval[string](s, `document.body.innerText`)
	for _, want := range []string{
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"main.describe(",
		"cmd/debugdemo/panics.go:62",
		"> 62 |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text view lacks %q:\n%s", want, text)
		}
	}

	s.do("opening the JSON view", chromedp.Navigate(links["json"]))
	if ct := eval[string](s, `document.contentType`); ct != "application/json" {
		t.Errorf("JSON view content type %q", ct)
	}
	var doc struct {
		ID    string
		Value struct{ Message string }
		// The kinds are "app", "stdlib" and so on, as the page's classes.
		Frames []struct{ Function, Kind string }
	}
	raw := eval[string](s, `document.body.innerText`)
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("JSON view does not parse: %v\n%s", err, raw)
	}
	if doc.ID != id || doc.Value.Message != "runtime error: invalid memory address or nil pointer dereference" {
		t.Errorf("JSON view: id %q message %q, want id %q", doc.ID, doc.Value.Message, id)
	}
	if len(doc.Frames) != frames || doc.Frames[0].Function != "main.describe" || doc.Frames[0].Kind != "app" {
		t.Errorf("JSON view has %d frames starting %+v; the page has %d starting with app frame main.describe", len(doc.Frames), doc.Frames[:min(1, len(doc.Frames))], frames)
	}
}

func TestCopyAsText(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	// A user clicking the button grants the clipboard by the gesture; a
	// driven headless browser needs the permission given outright.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(s.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name},
			Setting:    browser.PermissionSettingGranted,
			Origin:     s.app.URL,
		}); err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
	s.open("/nil-pointer")
	s.do("clicking Copy as text", chromedp.Click(chromedp.ID("copy-text")),
		chromedp.WaitVisible(chromedp.CSS(".toast.visible")))
	if toast := eval[string](s, `document.querySelector(".toast").textContent`); toast != "Traceback copied as text" {
		t.Fatalf("toast %q", toast)
	}
	copied := await[string](s, `navigator.clipboard.readText()`)
	text := await[string](s, `fetch(document.getElementById("copy-text").dataset.url).then(r => r.text())`)
	if copied != text || !strings.HasPrefix(copied, "panic: runtime error") {
		t.Errorf("the clipboard holds %q, want the text view %q", copied, text)
	}
}

func TestIndexListsPanicsNewestFirst(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/__panicroom__/")
	if got := eval[int](s, `document.querySelectorAll("table.recent tbody tr").length`); got != 0 {
		t.Fatalf("a fresh server lists %d panics", got)
	}
	s.screenshot("empty")

	visits := []string{"/nil-pointer", "/wrapped", "/recursion"}
	ids := map[string]string{}
	for _, p := range visits {
		s.open(p)
		ids[p] = panicID(s)
	}
	// http.ErrAbortHandler is re-panicked untouched: the browser gets no
	// response, and the panic is not listed.
	s.events.allow(`ERR_EMPTY_RESPONSE http://[^ ]*/abort `)
	if err := chromedp.Do(s.ctx, chromedp.Navigate(s.app.URL+"/abort")); !errors.Is(err, chromedp.ErrPageLoad) {
		t.Errorf("opening /abort: %v, want a page load error", err)
	}
	s.open("/__panicroom__/")

	type row struct{ Request, Href, Panic string }
	rows := eval[[]row](s, `Array.from(document.querySelectorAll("table.recent tbody tr"), tr => ({
		Request: tr.cells[1].textContent.trim(),
		Href: tr.cells[2].querySelector("a")?.getAttribute("href") || "",
		Panic: tr.cells[2].textContent.trim(),
	}))`)
	if len(rows) != len(visits) {
		t.Fatalf("index lists %d panics, want %d: %+v", len(rows), len(visits), rows)
	}
	for i, r := range rows {
		p := visits[len(visits)-1-i]
		if r.Request != "GET "+p {
			t.Errorf("row %d: request %q, want %q (newest first)", i, r.Request, "GET "+p)
		}
		if want := "/__panicroom__/panic/" + ids[p]; r.Href != want {
			t.Errorf("row %d: link %q, want %q", i, r.Href, want)
		}
		// The log line is how a developer finds the page from the terminal.
		if want := "page=" + s.app.URL + "/__panicroom__/panic/" + ids[p]; !strings.Contains(s.app.Log(), want) {
			t.Errorf("the demo did not log %q", want)
		}
	}
	if !strings.Contains(rows[1].Panic, "rendering invoice INV-2024-0042") {
		t.Errorf("row 1 shows %q, want the wrapped error's message", rows[1].Panic)
	}
	s.screenshot("light")
	s.colorScheme("dark")
	s.screenshot("dark")

	s.follow("the second panic's link", `table.recent tbody tr:nth-child(2) a`)
	if got := panicID(s); got != ids["/wrapped"] {
		t.Errorf("the link opened panic %q, want %q", got, ids["/wrapped"])
	}
	if !visible(s, "#frame-0") {
		t.Error("the page opened from the index shows no frame")
	}
}

func TestLightAndDark(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)

	type look struct{ Page, Code string }
	colors := func() look {
		return eval[look](s, `({
			Page: getComputedStyle(document.body).backgroundColor,
			Code: getComputedStyle(document.querySelector(".src td span[class]")).color,
		})`)
	}
	for _, p := range []string{"/nil-pointer", "/wrapped", "/generic"} {
		s.open(p)
		s.colorScheme("light")
		light := colors()
		s.screenshot(strings.TrimPrefix(p, "/") + "-light")
		s.colorScheme("dark")
		dark := colors()
		s.screenshot(strings.TrimPrefix(p, "/") + "-dark")
		s.colorScheme("light")
		// Colors, not pixels: the page and chroma's dark style must both
		// follow the preference.
		if light.Page == dark.Page {
			t.Errorf("%s: the page background is %s in light and dark", p, light.Page)
		}
		if light.Code == dark.Code {
			t.Errorf("%s: highlighted code is %s in light and dark", p, light.Code)
		}
	}
}

func TestErrorChains(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)

	s.open("/wrapped")
	links := eval[[]string](s, `Array.from(document.querySelectorAll(".chain li .msg"), e => e.textContent)`)
	types := eval[[]string](s, `Array.from(document.querySelectorAll(".chain li > .vtype"), e => e.textContent)`)
	// The heading holds the outermost error; the chain lists what it wraps.
	wantLinks := []string{
		"loading: query SELECT * FROM invoices WHERE id = $1: record not found",
		"query SELECT * FROM invoices WHERE id = $1: record not found",
		"record not found",
	}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("wrapped chain %q, want %q", links, wantLinks)
	}
	if !slices.Contains(types, "*main.QueryError") {
		t.Errorf("wrapped chain types %q lack *main.QueryError", types)
	}
	if !visible(s, "#panic-message") || !eval[bool](s, `document.querySelector(".chain").checkVisibility()`) {
		t.Error("the chain is not visible")
	}

	s.open("/joined")
	branches := eval[[]string](s, `Array.from(document.querySelectorAll(".chain .branches > li"), e => e.textContent.replace(/\s+/g, " ").trim())`)
	want := []string{`email "not-an-email": missing @`, "age: must be positive", "query INSERT INTO signups: record not found"}
	if len(branches) != len(want) {
		t.Fatalf("joined chain branches %q, want %d", branches, len(want))
	}
	for i, w := range want {
		if !strings.Contains(branches[i], w) {
			t.Errorf("branch %d is %q, want it to contain %q", i, branches[i], w)
		}
	}
	s.screenshot("joined")
}

func TestDeepRecursion(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/recursion")
	n := eval[int](s, `document.querySelectorAll("details.frame").length`)
	walks := eval[int](s, `Array.from(document.querySelectorAll("details.frame .fn .name")).filter(e => e.textContent === "walk").length`)
	if n < 200 || walks < 200 {
		t.Errorf("%d frames, %d of them main.walk; want at least 200", n, walks)
	}
	if last := fmt.Sprintf("frame-%d", n-1); !eval[bool](s, `!!document.getElementById(`+jsString(last)+`)`) {
		t.Errorf("no %s", last)
	}
	// All 240 app frames are open, which makes the page tens of thousands
	// of pixels tall; the top is what a person judges.
	s.screenshotViewport("top")
}

func TestStreamedPanicBreaksTheResponse(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	// These failures are what the test expects the browser to see.
	s.events.allow(`ERR_INCOMPLETE_CHUNKED_ENCODING http://[^ ]*/streamed`)
	s.events.allow(`ERR_EMPTY_RESPONSE http://[^ ]*/abort`)

	err := chromedp.Do(s.ctx, chromedp.Navigate(s.app.URL+"/streamed"))
	if !errors.Is(err, chromedp.ErrPageLoad) || !strings.Contains(err.Error(), "ERR_INCOMPLETE_CHUNKED_ENCODING") {
		t.Errorf("navigating to /streamed: %v; want a load error for the incomplete response", err)
	}

	s.open("/")
	for _, p := range []string{"/streamed", "/abort"} {
		got := await[string](s, `fetch(`+jsString(p)+`).then(r => r.text()).then(t => "complete: " + t, e => "failed: " + e)`)
		if !strings.HasPrefix(got, "failed: ") {
			t.Errorf("fetch(%s) %s; want the body to fail", p, got)
		}
	}
	if !strings.Contains(s.app.Log(), `request="GET /streamed"`) || !strings.Contains(s.app.Log(), "aborted") {
		t.Errorf("the demo's log does not record the aborted /streamed response:\n%s", s.app.Log())
	}
}

func TestJSONEndpoint(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/")
	s.events.allow(`status of 500 .* http://[^ ]*/api/orders `)
	var got struct {
		Status int
		Type   string
		Body   struct {
			Value  struct{ Message string }
			Frames []struct{ Function, Kind string }
		}
	}
	raw := await[string](s, `fetch("/api/orders", {headers: {Accept: "application/json"}}).then(async r => JSON.stringify({
		Status: r.status, Type: r.headers.get("Content-Type"), Body: await r.json(),
	}))`)
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != 500 || !strings.HasPrefix(got.Type, "application/json") {
		t.Errorf("status %d, content type %q; want 500 application/json", got.Status, got.Type)
	}
	if !strings.Contains(got.Body.Value.Message, "index out of range") {
		t.Errorf("message %q", got.Body.Value.Message)
	}
	if !slices.ContainsFunc(got.Body.Frames, func(f struct{ Function, Kind string }) bool {
		return f.Function == "main.jsonEndpoint" && f.Kind == "app"
	}) {
		t.Errorf("frames %+v lack the app frame main.jsonEndpoint", got.Body.Frames)
	}
}

// demoCases are the demo's panicking paths that answer with a page: every
// case the project requires except the two that end in a broken response by
// design (TestStreamedPanicBreaksTheResponse covers those).
var demoCases = []string{
	"/nil-pointer", "/nil-map", "/index", "/wrapped", "/joined", "/struct",
	"/recursion", "/generic", "/api/orders", "/bad-error", "/panic-nil", "/stuck",
}

// TestEveryDemoCase checks that the demo's index links every case, and that
// each case renders without a script error or a CSP violation and with the
// frame that panicked open.
func TestEveryDemoCase(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/")
	links := eval[[]string](s, `Array.from(document.querySelectorAll("ul a"), a => a.getAttribute("href"))`)
	var missing []string
	for _, c := range append(demoCases, "/streamed", "/abort") {
		if !slices.Contains(links, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the demo's index does not link %q (it links %q; the page ends %q)", missing, links,
			eval[string](s, `document.documentElement.outerHTML.slice(-80)`))
	}
	for _, c := range demoCases {
		s.open(c)
		type summary struct {
			ID, Message, Type, Warn string
			AppOpen                 int
		}
		got := eval[summary](s, `({
			ID: document.body.dataset.panic || "",
			Message: document.querySelector("h1.message")?.textContent || "",
			Type: document.querySelector(".summary .vtype")?.textContent || "",
			Warn: document.querySelector(".summary .callout-warn")?.textContent || "",
			AppOpen: Array.from(document.querySelectorAll("details.frame-app")).filter(f => f.open && f.checkVisibility()).length,
		})`)
		if got.ID == "" || got.Message == "" || got.AppOpen == 0 {
			t.Errorf("%s: panic %q, message %q, %d open app frames", c, got.ID, got.Message, got.AppOpen)
		}
		switch c {
		case "/panic-nil":
			if got.Type != "*runtime.PanicNilError" {
				t.Errorf("%s: value type %q", c, got.Type)
			}
		case "/bad-error":
			if !strings.Contains(got.Warn, "panicked") {
				t.Errorf("%s: no warning that the value's Error method panicked (callout %q)", c, got.Warn)
			}
		}
		// The top of each page is enough here: the dedicated tests take
		// whole pages, and /recursion's is tens of thousands of pixels tall.
		s.screenshotViewport(strings.ReplaceAll(strings.TrimPrefix(c, "/"), "/", "-"))
	}
}
