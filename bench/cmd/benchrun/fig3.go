package main

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
)

var assetRef = regexp.MustCompile(`<(?:link[^>]*\bhref|script[^>]*\bsrc)="([^"]+)"`)

// weigh fetches a panic page of 20 frames and every stylesheet and script
// it references, and returns their bytes.
func weigh(base string) (htmlBytes, assets int, err error) {
	c := newClient(false)
	_, _, body, err := get(c, base+"/panic?depth=20", "Accept", "text/html")
	if err != nil {
		return 0, 0, err
	}
	page, _ := url.Parse(base + "/panic?depth=20")
	for _, m := range assetRef.FindAllStringSubmatch(string(body), -1) {
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil || ref.Scheme == "data" { // inline, already counted in the HTML
			continue
		}
		_, resp, b, err := get(c, page.ResolveReference(ref).String())
		if err != nil || resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("fetching %s: %v %v", m[1], err, resp)
		}
		assets += len(b)
	}
	return len(body), assets, nil
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("PANICROOM_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// pageWeight is figure 3: the bytes of a 20-frame page and its first
// contentful paint in headless Chromium, against Werkzeug's.
func pageWeight(r *report, bin string) {
	step("figure 3: page weight and first paint")
	a, wz, stop := startWithWerkzeug(bin)
	defer stop()

	ph, pa, err := weigh(a.URL())
	must(err, "weighing panicroom's page")
	base, rat := "—", "—"
	if wz != nil {
		wh, wa, err := weigh(wz.URL())
		must(err, "weighing Werkzeug's page")
		base = fmt.Sprintf("Werkzeug %s (HTML %s + assets %s)", kib(float64(wh+wa)), kib(float64(wh)), kib(float64(wa)))
		rat = ratio(float64(ph+pa), float64(wh+wa))
	}
	r.add(row{"3. Page weight, 20 frames: HTML + CSS + JS, uncompressed",
		fmt.Sprintf("%s (HTML %s + assets %s)", kib(float64(ph+pa)), kib(float64(ph)), kib(float64(pa))),
		base, rat, "≤ 40 KiB", verdict(float64(ph+pa), 40*1024, bytesUnit)})
	if ph+pa > 40*1024 {
		r.missed("Figure 3: page weight",
			fmt.Sprintf("The 20-frame page weighs %s against a goal of 40 KiB: %s of HTML (the highlighted source of the frames that start open and the summary of every frame; closed frames and the goroutine groups fetch theirs when opened) and %s of the stylesheets and script it links (console.js and console.css, the consoles, are loaded by the page's script after its first paint and not counted). Bytes are counted uncompressed.", kib(float64(ph+pa)), kib(float64(ph)), kib(float64(pa))), "")
	}

	exe := chromiumPath()
	if exe == "" {
		r.note("Figure 3: no Chromium, so no paint figure (make bench installs it as root through scripts/ensure-chromium).")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tmpDir+"/chromium"),
	)
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	must(chromedp.Do(bctx, chromedp.Navigate("about:blank")), "starting Chromium")

	// The first navigation of each server fills the cache with its
	// stylesheet and script, as a developer's second panic finds them.
	const n = 11
	// Besides the paint, where its time went: the HTML's last byte and
	// the end of parsing (responseEnd, domInteractive).
	var respEnd, parsed dist
	paint := func(u string) (time.Duration, []float64, error) {
		if err := chromedp.Do(bctx, chromedp.Navigate(u)); err != nil {
			return 0, nil, err
		}
		fcp, err := chromedp.Run(bctx, chromedp.Poll[float64](
			`(() => { const e = performance.getEntriesByName("first-contentful-paint")[0]; return e ? e.startTime : 0 })()`,
			chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			return 0, nil, err
		}
		t, _ := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
			`(() => { const n = performance.getEntriesByType("navigation")[0]; return [n.responseEnd, n.domInteractive] })()`))
		return time.Duration(fcp * float64(time.Millisecond)), t, nil
	}
	msOf := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	var prd, wzd dist
	for i := range n {
		d, t, err := paint(a.URL() + "/panic?depth=20")
		must(err, "panicroom's page in Chromium")
		if i > 0 {
			prd = append(prd, d)
			if len(t) == 2 {
				respEnd, parsed = append(respEnd, msOf(t[0])), append(parsed, msOf(t[1]))
			}
		}
		if wz != nil {
			d, _, err := paint(wz.URL() + "/panic?depth=20")
			must(err, "Werkzeug's page in Chromium")
			if i > 0 {
				wzd = append(wzd, d)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	base, rat = "—", "—"
	if wz != nil {
		base = "Werkzeug " + wzd.medP99()
		rat = ratio(float64(prd.med()), float64(wzd.med()))
	}
	r.add(row{fmt.Sprintf("3. First contentful paint, 20 frames, headless Chromium, from navigation start (n=%d; p99 is the max)", len(prd)),
		prd.medP99(), base, rat, "≤ 100 ms", verdict(float64(prd.med()), float64(100*time.Millisecond), durUnit)})
	if prd.med() > 100*time.Millisecond {
		r.missed("Figure 3: first paint", fmt.Sprintf("The median first contentful paint was %s (goal 100 ms). Medians of the same navigations: the HTML's last byte at %s, parsing done at %s; the stylesheets and script come from the browser's cache (named by version, immutable), so the rest is Chromium's style, layout and paint of the page, on cores shared with the servers.", ms(prd.med()), ms(respEnd.med()), ms(parsed.med())), "")
	}
}
