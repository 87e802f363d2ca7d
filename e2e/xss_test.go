package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The payloads that testdata/xssapp puts in its panic value and source; the
// test adds its own to the URL and headers.
const (
	fixtureScript  = `<script>window.__pwned=1;alert(1)</script>`
	fixtureImg     = `<img src=x onerror="window.__pwned=1;alert(2)">`
	fixtureAttr    = `"'><svg onload="window.__pwned=1">`
	fixtureComment = `// <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> </textarea></title></pre>`

	queryPayload  = `<script>window.__pwned=1;alert(3)</script><img src=x onerror="window.__pwned=1;alert(4)">`
	headerPayload = `</code><script>window.__pwned=1;alert(5)</script><img src=x onerror="window.__pwned=1;alert(6)">`
)

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
	if got := eval[string](s, `typeof window.__pwned`); got != "undefined" {
		t.Errorf("%s: window.__pwned is set: a payload ran", view)
	}
	if got := eval[[]string](s, injected); len(got) > 0 {
		t.Errorf("%s: payload elements in the DOM: %q", view, got)
	}
}

func TestPayloadsStayText(t *testing.T) {
	t.Parallel()
	s := newSession(t, xssPkg)

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

	fields := eval[map[string]string](s, `Object.fromEntries(Array.from(
		document.querySelectorAll(".request .fields tr"),
		tr => [tr.cells[0]?.textContent || "", tr.cells[1]?.textContent || ""]))`)
	if fields["q"] != queryPayload {
		t.Errorf("query field q shows %q, want %q", fields["q"], queryPayload)
	}
	if fields["X-Payload"] != headerPayload {
		t.Errorf("header X-Payload shows %q, want %q", fields["X-Payload"], headerPayload)
	}
	if v, ok := fields["X-Api-Token"]; !ok || strings.Contains(v, "tok-") {
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
}
