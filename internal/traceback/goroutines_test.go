package traceback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/panicroom/panicroom/internal/gostack"
)

//go:noinline
func waitOn(ch chan struct{}, wg *sync.WaitGroup) {
	wg.Done()
	<-ch
}

// startWaiters starts n goroutines blocked on one channel and returns the
// function that releases them.
func startWaiters(n int) func() {
	ch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		go waitOn(ch, &wg)
	}
	wg.Wait()
	// Done runs before the receive: let the last ones reach it.
	time.Sleep(20 * time.Millisecond)
	return func() { close(ch) }
}

func TestCaptureGoroutinesGroupsWaiters(t *testing.T) {
	release := startWaiters(50)
	defer release()
	self := GoroutineID()
	// As in the middleware: another goroutine takes the dump while the
	// panicking one waits.
	g := onAnother(func() *Goroutines {
		return CaptureGoroutines(self, Classifier{MainModule: "github.com/panicroom/panicroom"})
	})
	if len(g.Groups) == 0 || !g.Groups[0].Panicking || g.Groups[0].IDs[0] != int(self) || g.Groups[0].Frames != nil || g.Groups[0].State != "panicked" {
		t.Fatalf("first group %+v, want the panicking goroutine %d alone and without frames", g.Groups[0], self)
	}
	var waiters *GoroutineGroup
	for i, gg := range g.Groups {
		for _, f := range gg.Frames {
			if strings.HasSuffix(f.Function, "traceback.waitOn") {
				if waiters != nil {
					t.Fatalf("waitOn in two groups: %+v and %+v", *waiters, gg)
				}
				waiters = &g.Groups[i]
			}
			if strings.Contains(f.Function, "CaptureGoroutines") {
				t.Errorf("the capturing goroutine is listed: %+v", gg)
			}
		}
	}
	if waiters == nil {
		t.Fatalf("no group waits in waitOn: %+v", g.Groups)
	}
	if waiters.Count != 50 || len(waiters.IDs) != maxIDs || waiters.State != "chan receive" {
		t.Errorf("waiters: %d goroutines (%d ids) in %q, want 50 (%d ids) in chan receive", waiters.Count, len(waiters.IDs), waiters.State, maxIDs)
	}
	if g.Groups[1].Count != 50 {
		t.Errorf("the largest group comes right after the panicking one; second is %+v", g.Groups[1])
	}
	app := -1
	for i, f := range waiters.Frames {
		if f.Kind == App {
			app = i
			break
		}
	}
	if app < 0 || !strings.HasSuffix(waiters.Frames[app].Function, "waitOn") {
		t.Fatalf("waitOn is not the innermost app frame: %+v", waiters.Frames)
	}
	if waiters.CreatedBy == nil || !strings.Contains(waiters.CreatedBy.Function, "startWaiters") {
		t.Errorf("created by %+v, want startWaiters", waiters.CreatedBy)
	}
	g.AddSource(NewSources(), 2)
	if src := waiters.Frames[app].Source; src == nil || !strings.Contains(src.Lines()[len(src.Lines())/2].Text, "<-ch") {
		t.Errorf("the app frame's source does not show the receive: %+v (%s)", src, waiters.Frames[app].SourceErr)
	}
	if g.Total < 51 {
		t.Errorf("total %d, want at least the 50 waiters and this one", g.Total)
	}
}

func onAnother(f func() *Goroutines) *Goroutines {
	c := make(chan *Goroutines)
	go func() { c <- f() }()
	return <-c
}

// TestGoroutinesAreBounded gives 90 pairs of goroutines each their own
// stack (their recursion depths differ, under the runtime's 100 frames):
// the page keeps MaxGroups groups and counts the rest.
func TestGoroutinesAreBounded(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	var wg sync.WaitGroup
	const n = 90
	wg.Add(2 * n)
	for i := range 2 * n {
		go deep(i%n, ch, &wg)
	}
	wg.Wait()
	time.Sleep(20 * time.Millisecond)
	self := GoroutineID()
	g := onAnother(func() *Goroutines { return CaptureGoroutines(self, Classifier{}) })
	if len(g.Groups) != MaxGroups || g.OmittedGroups < n-MaxGroups {
		t.Fatalf("%d groups kept, %d omitted; want %d kept and at least %d omitted", len(g.Groups), g.OmittedGroups, MaxGroups, n-MaxGroups)
	}
	kept := 0
	for _, gg := range g.Groups {
		kept += gg.Count
		if len(gg.Frames) > maxGroupFrames {
			t.Errorf("a group keeps %d frames, more than %d", len(gg.Frames), maxGroupFrames)
		}
	}
	if kept+g.OmittedGoroutines != g.Total {
		t.Errorf("kept %d + omitted %d != total %d", kept, g.OmittedGoroutines, g.Total)
	}
	var b bytes.Buffer
	Text(&b, &Panic{Goroutines: g})
	if !strings.Contains(b.String(), fmt.Sprintf("%d smaller groups (%d goroutines) not kept", g.OmittedGroups, g.OmittedGoroutines)) {
		t.Errorf("text view does not say what was left out")
	}
}

//go:noinline
func deep(n int, ch chan struct{}, wg *sync.WaitGroup) {
	if n > 0 {
		deep(n-1, ch, wg)
		return
	}
	wg.Done()
	<-ch
}

func TestGoroutinesViews(t *testing.T) {
	p := fixture(t)
	r, _ := NewRenderer("/__panicroom__/", "vscode")
	var b bytes.Buffer
	if err := r.HTML(&b, Page{Panic: p}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	// The page holds the collapsed section; its groups come when opened.
	for _, want := range []string{
		`<details id="goroutines">`, // collapsed: no open attribute
		`<p class="glead">largest: <b>50</b> in chan receive at <span class="fn">main.worker.`,
		`<div class="src-later" data-src="/__panicroom__/panic/0123456789abcdef01/goroutines">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `class="ggroup`) {
		t.Errorf("the page holds the groups of the collapsed section")
	}
	b.Reset()
	if err := r.GoroutineGroups(&b, p); err != nil {
		t.Fatal(err)
	}
	groups := b.String()
	for _, want := range []string{
		`<span class="gcount" title="goroutines with this stack">50</span>`,
		`chan receive, 2–5 minutes`,
		`goroutines 7, 8, 9 and 47 more`,
		`<li class="gframe gframe-app">`,
		`href="vscode://file/app/handler.go:5"`,
		`the goroutine that panicked`,
		`1 smaller groups (2 goroutines) were not kept`,
	} {
		if !strings.Contains(groups, want) {
			t.Errorf("the groups lack %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(groups, bad) {
			t.Errorf("the groups contain unescaped %q", bad)
		}
	}
	if err := r.GoroutineGroups(&b, &Panic{ID: "x"}); err == nil {
		t.Errorf("groups of a panic without goroutines: no error")
	}
	if strings.Contains(page, `id="goroutines" open`) {
		t.Errorf("the goroutines section starts open")
	}
	var j struct {
		URL        string
		Goroutines struct {
			Total  int
			Groups []struct {
				Count     int
				Panicking bool
				MinWait   int
				Frames    []struct{ Kind string }
			}
		}
	}
	b.Reset()
	JSON(&b, p)
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.URL != p.URL || j.Goroutines.Total != 53 || len(j.Goroutines.Groups) != 2 || !j.Goroutines.Groups[0].Panicking ||
		j.Goroutines.Groups[1].Count != 50 || j.Goroutines.Groups[1].MinWait != 2 || j.Goroutines.Groups[1].Frames[1].Kind != "app" {
		t.Errorf("JSON view: %+v", j)
	}
}

// BenchmarkGoroutines10000 takes, groups and renders the goroutines of a
// program with 10,000 of them, and reports the world-stopped time, the
// whole capture, and the HTML page's bytes and render time. "waiters" are
// all blocked on one channel (the case, two hundred times over);
// "varied" has half of them spread over 90 recursion depths, 90 distinct
// stacks of up to 90 frames: more groups than MaxGroups, and a dump ten
// times larger.
func BenchmarkGoroutines10000(b *testing.B) {
	for _, tc := range []struct {
		name   string
		varied bool
	}{{"waiters", false}, {"varied", true}} {
		b.Run(tc.name, func(b *testing.B) {
			ch := make(chan struct{})
			defer close(ch)
			var wg sync.WaitGroup
			wg.Add(10000)
			for i := range 10000 {
				if i%2 == 0 || !tc.varied {
					go waitOn(ch, &wg)
				} else {
					go deep(i%90, ch, &wg)
				}
			}
			wg.Wait()
			time.Sleep(50 * time.Millisecond)
			benchmarkCapture(b)
		})
	}
}

func benchmarkCapture(b *testing.B) {
	r, _ := NewRenderer("/__panicroom__/", "vscode")
	s := NewSources()
	self := GoroutineID()
	var stw, capture, render time.Duration
	var size, dumped int
	truncated := false
	for b.Loop() {
		start := time.Now()
		g := onAnother(func() *Goroutines { return CaptureGoroutines(self, DefaultClassifier()) })
		g.AddSource(s, 3)
		capture += time.Since(start)
		stw += g.Took
		dumped, truncated = g.DumpBytes, g.Truncated
		start = time.Now()
		var buf bytes.Buffer
		if err := r.HTML(&buf, Page{Panic: &Panic{ID: "x", Goroutines: g}}); err != nil {
			b.Fatal(err)
		}
		render += time.Since(start)
		size = buf.Len()
	}
	n := float64(b.N)
	b.ReportMetric(float64(stw.Microseconds())/1000/n, "stw-ms")
	b.ReportMetric(float64(capture.Microseconds())/1000/n, "capture-ms")
	b.ReportMetric(float64(render.Microseconds())/1000/n, "render-ms")
	b.ReportMetric(float64(size), "page-bytes")
	b.ReportMetric(float64(dumped), "dump-bytes")
	if truncated {
		b.Logf("the dump reached maxDump (%d bytes)", maxDump)
	}
}

func TestTrimRecovering(t *testing.T) {
	g := gostack.Goroutine{State: "syscall", Attrs: []string{"2 minutes"}, Frames: []gostack.Frame{
		{Function: "syscall.Syscall"},
		{Function: "github.com/panicroom/panicroom/internal/park.(*Spot).Wait"},
		{Function: "github.com/panicroom/panicroom.(*Debugger).recoverPanic"},
		{Function: "panic"},
		{Function: "runtime.panicmem"},
		{Function: "main.describe"},
		{Function: "github.com/panicroom/panicroom.(*Debugger).serve"},
		{Function: "net/http.(*conn).serve"},
	}}
	got := trimRecovering(g, []string{"github.com/panicroom/panicroom.(*Debugger)."})
	var names []string
	for _, f := range got.Frames {
		names = append(names, f.Function)
	}
	if strings.Join(names, " ") != "main.describe net/http.(*conn).serve" || got.State != "panicked" || got.Attrs != nil {
		t.Errorf("trimmed to %q in %q %q", names, got.State, got.Attrs)
	}
	if len(g.Frames) != 8 || g.Frames[0].Function != "syscall.Syscall" {
		t.Errorf("the shared goroutine was modified: %+v", g.Frames)
	}
	plain := gostack.Goroutine{State: "chan receive", Frames: []gostack.Frame{{Function: "main.worker"}}}
	if got := trimRecovering(plain, nil); got.State != "chan receive" || len(got.Frames) != 1 {
		t.Errorf("a goroutine without a panic changed: %+v", got)
	}
}

// Two panics' goroutine sections share their names: a capture copies the
// strings it keeps out of the dump (a substring would keep the whole dump),
// but the same function's name is copied once, not once per panic
// (internal/intern has the table's own tests).
func TestGoroutineNamesAreShared(t *testing.T) {
	release := startWaiters(3)
	defer release()
	self := GoroutineID()
	find := func() (fn, file string) {
		g := onAnother(func() *Goroutines { return CaptureGoroutines(self, Classifier{}) })
		for _, gg := range g.Groups {
			for _, f := range gg.Frames {
				if strings.HasSuffix(f.Function, "traceback.waitOn") {
					return f.Function, f.File
				}
			}
		}
		t.Fatal("waitOn is in no group")
		return "", ""
	}
	fn1, file1 := find()
	fn2, file2 := find()
	if unsafe.StringData(fn1) != unsafe.StringData(fn2) || unsafe.StringData(file1) != unsafe.StringData(file2) {
		t.Error("two captures keep a copy each of the same function's and file's names")
	}
}
