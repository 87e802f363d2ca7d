package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleBoxStaysReadable fills a console with many answers, one of
// them a 3,000-byte string: the string shows three lines and its size
// until opened, then all it loaded and a "load more"; the newest answer is
// whole in view, never cut by the output box.
func TestConsoleBoxStaysReadable(t *testing.T) {
	s := newSessionFor(t, demoPkg, 4*time.Minute)
	s.events.allow(`status of 40[13] .*/__panicroom__/(session|pin) `)
	pin := waitLog(s, pinLine, 10*time.Second)[1]
	waitLog(s, regexp.MustCompile(`debugger attached`), 60*time.Second)
	// A collection that ends before the debugger's snapshot releases the
	// goroutine by design (its page says so): then take a new panic.
	for attempt := 1; ; attempt++ {
		s.open("/nil-pointer")
		if attempt == 1 {
			s.do("opening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible(".pin-dialog input"))
			s.do("entering the PIN", chromedp.SendKeys(".pin-dialog input", pin), chromedp.Click(".pin-dialog button.primary"), chromedp.WaitVisible("#frame-1 .console textarea"))
			// The modal dialog makes the page inert until it has closed.
			waitTrue(s, "the PIN dialog to close", `!document.querySelector(".pin-dialog[open]")`, 10*time.Second)
		} else {
			s.do("opening the console", chromedp.WaitVisible("#frame-1 .console-open"), chromedp.Click("#frame-1 .console-open"), chromedp.WaitVisible("#frame-1 .console textarea"))
		}
		got := run(s, "1", `strings.Repeat("abcdefghij", 300)`)
		if strings.Contains(got, "released") && attempt < 3 {
			t.Logf("panic %d was released before its snapshot; again", attempt)
			continue
		}
		if !strings.Contains(got, "3000 bytes") {
			t.Errorf("a long string's answer does not give its size: %q", got)
		}
		break
	}
	clip := `document.querySelector("#frame-1 .con-entry:last-child .vt-clip")`
	if !eval[bool](s, clip+` && `+clip+`.scrollHeight > `+clip+`.clientHeight + 20`) {
		t.Error("a 3,000-byte string is shown whole in the answer, pushing the others away")
	}
	for i := 0; i < 12; i++ {
		for _, e := range []string{"store", "requested * 1000", "r.URL", "store.users"} {
			run(s, "1", e)
		}
	}
	inView := `(() => { const out = document.querySelector("#frame-1 .console-output"); const last = out.lastElementChild;
		const o = out.getBoundingClientRect(), l = last.getBoundingClientRect(); return l.top >= o.top - 1 && l.bottom <= o.bottom + 1; })()`
	if !eval[bool](s, inView) {
		t.Error("after 49 answers the newest is not whole in view")
	}
	s.screenshotViewport("many-light")
	s.colorScheme("dark")
	s.screenshotViewport("many-dark")

	// Opened, the string shows what was loaded and offers the rest.
	first := `document.querySelector("#frame-1 .con-entry .con-result details")`
	eval[bool](s, `(`+first+`.open = true, true)`)
	waitTrue(s, "the load-more button", first+`.querySelector(".vt-more")`, 10*time.Second)
	if !eval[bool](s, first+`.querySelector(".vt-clip").scrollHeight <= `+first+`.querySelector(".vt-clip").clientHeight + 1`) {
		t.Error("an opened string is still clipped")
	}
}
