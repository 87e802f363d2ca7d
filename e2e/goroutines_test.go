package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestGoroutinesSection: /stuck panics while 50 workers wait on one
// channel. The page's Goroutines section starts collapsed, expands on a
// click, and shows the workers as one group of 50 whose innermost app
// frame is highlighted, with its source line and an editor link.
func TestGoroutinesSection(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/stuck")
	// Closed, and without its groups: they are fetched when it opens.
	if eval[bool](s, `document.getElementById("goroutines").open || document.querySelector(".ggroup") !== null`) {
		t.Fatal("the Goroutines section starts open, or with its groups in the page")
	}
	s.do("opening the Goroutines section", chromedp.Click(chromedp.CSS("#goroutines > summary")), chromedp.WaitVisible(chromedp.CSS(".ggroup")))
	type group struct {
		Count, State, Top string
		App, Panicking    bool
	}
	groups := eval[[]group](s, `Array.from(document.querySelectorAll(".ggroup"), g => ({
		Count: g.querySelector(".gcount").textContent, State: g.querySelector(".gstate").textContent,
		Top: g.querySelector(".gtop")?.textContent || "",
		App: g.classList.contains("ggroup-app"), Panicking: g.classList.contains("ggroup-panicking"),
	}))`)
	if len(groups) < 2 || !groups[0].Panicking {
		t.Fatalf("groups %+v: want the panicking goroutine first", groups)
	}
	w := groups[1]
	if w.Count != "50" || w.State != "chan receive" || !w.App || !strings.Contains(w.Top, "main.worker") {
		t.Errorf("the largest group is %+v, want the 50 workers in chan receive at main.worker", w)
	}
	for _, g := range groups[2:] {
		if strings.Contains(g.Top, "main.worker") {
			t.Errorf("a second group of workers: %+v", g)
		}
	}
	s.do("opening the workers' group", chromedp.Click(chromedp.CSS(".ggroup:nth-child(2) > summary")),
		chromedp.WaitVisible(chromedp.CSS(".ggroup:nth-child(2) .gframe-app")))
	type frame struct{ Current, Href string }
	f := eval[frame](s, `(() => { const f = document.querySelector(".ggroup:nth-child(2) .gframe-app");
		return { Current: f.querySelector(".src tr.current")?.textContent || "", Href: f.querySelector("a").getAttribute("href") }; })()`)
	if !strings.Contains(f.Current, "<-start") || !strings.HasPrefix(f.Href, "vscode://file/") || !strings.Contains(f.Href, "stuck.go:") {
		t.Errorf("the workers' app frame: line %q, link %q", f.Current, f.Href)
	}
	s.screenshot("open")
}

// TestIndexUpdatesLive: the index stays open while an API client's
// request panics; its answer names the page, and the index shows the new
// row and a badge without a reload.
func TestIndexUpdatesLive(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	s.open("/__panicroom__/")
	waitTrue(s, "the stream to open", `!document.getElementById("live-state").hidden`, 10*time.Second)
	eval[bool](s, `(window.sameDocument = true)`)

	req, _ := http.NewRequest("GET", s.app.URL+"/api/orders", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := resp.Header.Get("X-Panicroom-Page")
	var p struct{ URL string }
	json.Unmarshal(body, &p)
	if resp.StatusCode != 500 || !strings.HasPrefix(page, s.app.URL+"/__panicroom__/panic/") || p.URL != page {
		t.Fatalf("the API answer: %d, header %q, body url %q", resp.StatusCode, page, p.URL)
	}

	waitTrue(s, "the new row", `document.querySelectorAll("table.recent tbody tr").length === 1`, 10*time.Second)
	type row struct{ Request, Href, Badge, Title string }
	r := eval[row](s, `(() => { const tr = document.querySelector("table.recent tbody tr");
		return { Request: tr.cells[1].textContent, Href: tr.querySelector("a").href,
			Badge: document.getElementById("new-badge").hidden ? "" : document.getElementById("new-badge").textContent,
			Title: document.title }; })()`)
	if r.Request != "GET /api/orders" || r.Href != page || r.Badge != "1 new" || !strings.HasPrefix(r.Title, "(1) ") {
		t.Errorf("after the panic: %+v; want its row linking %s, a badge and the count in the title", r, page)
	}
	if !eval[bool](s, `window.sameDocument === true`) {
		t.Error("the index reloaded")
	}
	if eval[bool](s, `document.getElementById("empty") !== null`) {
		t.Error("the index still says there is no panic")
	}
	s.screenshot("new")
}

// TestCopyAsMarkdown: the button copies the Markdown view, in which the
// request's secrets are masked as on the page.
func TestCopyAsMarkdown(t *testing.T) {
	t.Parallel()
	s := newSession(t, demoPkg)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(s.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name},
			Setting:    browser.PermissionSettingGranted,
			Origin:     s.app.URL,
		}); err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
	s.open("/")
	eval[string](s, `document.cookie = "session=cookie-s3cr3t; path=/"`)
	s.open("/nil-pointer?api_key=query-s3cr3t&page=2")
	s.do("clicking Copy as Markdown", chromedp.Click(chromedp.ID("copy-markdown")),
		chromedp.WaitVisible(chromedp.CSS(".toast.visible")))
	if toast := eval[string](s, `document.querySelector(".toast").textContent`); !strings.HasPrefix(toast, "Copied as Markdown") {
		t.Fatalf("toast %q", toast)
	}
	copied := await[string](s, `navigator.clipboard.readText()`)
	md := await[string](s, `fetch(document.getElementById("copy-markdown").dataset.url).then(r => r.text())`)
	if copied != md {
		t.Errorf("the clipboard holds %q, want the Markdown view %q", copied, md)
	}
	for _, want := range []string{
		"### `panic: runtime error: invalid memory address or nil pointer dereference`",
		"`main.describe` at `cmd/debugdemo/panics.go:",
		"```go\n",
		"**Request** `GET /nil-pointer?api_key=••••••••&page=2`",
		"- `Cookie`: •••••••• (masked)",
		"**Build** `go1.",
	} {
		if !strings.Contains(copied, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, copied)
		}
	}
	if strings.Contains(copied, "s3cr3t") {
		t.Errorf("the Markdown leaks a secret:\n%s", copied)
	}
	if !strings.Contains(copied, "page=2") {
		t.Errorf("the Markdown masks more than the page does:\n%s", copied)
	}
}
