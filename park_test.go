//go:build !panicroom_off

package panicroom

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/gcpause"
	"github.com/panicroom/panicroom/internal/park"
	"github.com/panicroom/panicroom/internal/traceback"
)

// stacks returns every goroutine's stack.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// rawGet sends one HTTP/1.1 request on its own connection, asking the
// server to close it after the response, and reads until it does: net/http
// closes it only once the request's goroutine has returned, which it must
// do while the panicking one is parked.
func rawGet(t *testing.T, addr, path string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\nConnection: close\r\n\r\n", path)
	// A bound for a request's goroutine that never returns, not a speed
	// test: a burst of 60 pages on two loaded cores (CI beside other
	// builds) took longer than 10 s.
	c.SetReadDeadline(time.Now().Add(time.Minute))
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		t.Fatalf("reading until the server closes: %v (the request's goroutine must return while the panicking one is parked)", err)
	}
	return string(b)
}

func TestParkedGoroutineKeepsItsFrames(t *testing.T) {
	d, logs := newTestDebugger(t)
	srv := serve(t, d, http.HandlerFunc(panicky))
	resp := rawGet(t, srv.Listener.Addr().String(), "/users")
	if !strings.HasPrefix(resp, "HTTP/1.1 500") || !strings.Contains(resp, "Connection: close") || !strings.Contains(resp, "lookupUser") {
		t.Fatalf("response:\n%.500s", resp)
	}
	id := pageID(t, logs.waitLog(t, "page="))
	rec := d.registry.get(id)
	waitFor(t, "the goroutine to park", rec.parked)

	// The panicking frames are still on a live goroutine's stack.
	if st := stacks(); !strings.Contains(st, "panicroom.lookupUser") || !strings.Contains(st, "panicroom.panicky") {
		t.Fatalf("parked frames are not on any stack:\n%.3000s", st)
	}
	// Collections and other goroutines' stack growth must not move the
	// parked stack: its frames' memory is what the debugger reads.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); grow(200) }()
	}
	wg.Wait()
	for i := 0; i < 10; i++ {
		runtime.GC()
	}
	spot := rec.liveSpot()
	if err := spot.Do(func() {}); err != nil {
		t.Fatal(err)
	}
	if spot.Moved() {
		t.Fatal("the parked goroutine's stack moved")
	}

	d.Close()
	<-spot.Left()
	waitFor(t, "the frames to go", func() bool { return !strings.Contains(stacks(), "panicroom.lookupUser") })
	if rec.parked() || d.registry.parkedCount() != 0 {
		t.Fatal("Close left a goroutine parked")
	}
	_, page := get(t, srv.URL+Prefix+"panic/"+id, "text/html")
	if !strings.Contains(page, "lookupUser") || !strings.Contains(page, "was released at") {
		t.Errorf("released panic's page is gone or does not say it was released")
	}
}

//go:noinline
func grow(n int) int {
	var pad [512]byte
	pad[n%512] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return grow(n-1) + int(pad[n%512])
}

func TestParkedBoundReleasesOldest(t *testing.T) {
	// A panic whose frames a collection may have freed is released by
	// design (park.Parked.Keep), which takes it out of the bound's count:
	// the scenario is then run again, up to three times.
	for attempt := 1; ; attempt++ {
		lost := parkedBoundScenario(t)
		if lost == "" {
			return
		}
		if attempt == 3 {
			t.Fatalf("a panic lost its frames to a collection in each of 3 attempts: %s", lost)
		}
		t.Logf("attempt %d: a panic was released by design (%s); again", attempt, lost)
	}
}

// parkedBoundScenario parks three panics under a bound of two and checks
// that the oldest was released; it returns instead, with the reason, when
// one of them lost its frames.
func parkedBoundScenario(t *testing.T) (lost string) {
	d, logs := newTestDebugger(t, WithMaxParked(2))
	defer d.Close()
	srv := serve(t, d, http.HandlerFunc(panicky))
	var ids []string
	for i := 0; i < 3; i++ {
		if i == 2 {
			d.registry.mu.Lock()
			d.registry.recent = nil // as if the window had passed: three panics at once are a storm
			d.registry.mu.Unlock()
		}
		rawGet(t, srv.Listener.Addr().String(), fmt.Sprintf("/n%d", i))
		line := logs.waitLog(t, fmt.Sprintf("GET /n%d", i))
		ids = append(ids, pageID(t, line[strings.Index(line, fmt.Sprintf("GET /n%d", i)):]))
	}
	waitFor(t, "two parked, or one lost", func() bool {
		for _, id := range ids {
			if why := d.registry.get(id).lost(); why != "" {
				lost = why
				return true
			}
		}
		return d.registry.parkedCount() == 2 && !d.registry.get(ids[0]).parked()
	})
	if lost != "" {
		return lost
	}
	if !d.registry.get(ids[1]).parked() || !d.registry.get(ids[2]).parked() {
		t.Fatal("the newest two are not the parked ones")
	}
	return ""
}

func TestIdleTimeoutReleases(t *testing.T) {
	d, logs := newTestDebugger(t, WithIdleTimeout(50*time.Millisecond))
	srv := serve(t, d, http.HandlerFunc(panicky))
	rawGet(t, srv.Listener.Addr().String(), "/idle")
	rec := d.registry.get(pageID(t, logs.waitLog(t, "page=")))
	waitFor(t, "the idle release", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return !rec.released.IsZero() })
}

func TestNoParkingWhenOff(t *testing.T) {
	d, logs := newTestDebugger(t, WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(panicky))
	before := goroutines()
	rawGet(t, srv.Listener.Addr().String(), "/off")
	rec := d.registry.get(pageID(t, logs.waitLog(t, "page=")))
	if rec.parked() || !strings.Contains(rec.parkNote, "WithMaxParked(0)") {
		t.Fatalf("record %+v", rec)
	}
	waitFor(t, "the handler goroutine to return", func() bool { return goroutines() <= before })
}

func TestHistoryIsBounded(t *testing.T) {
	d, _ := newTestDebugger(t, WithHistory(3), WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(panicky))
	for i := 0; i < 5; i++ {
		rawGet(t, srv.Listener.Addr().String(), "/h")
	}
	waitFor(t, "five records", func() bool { return len(d.registry.list()) == 3 })
	_, idx := get(t, srv.URL+Prefix, "application/json")
	if strings.Count(idx, `"id"`) != 3 {
		t.Errorf("index lists %d panics, want 3:\n%s", strings.Count(idx, `"id"`), idx)
	}
}

// TestStormIsNotParked: more panics in a second than the cap are answered,
// the first ones parked and the rest not, so that a burst cannot keep the
// app stopped for snapshots.
func TestStormIsNotParked(t *testing.T) {
	d, logs := newTestDebugger(t, WithMaxParked(2))
	srv := serve(t, d, http.HandlerFunc(panicky))
	for i := 0; i < 4; i++ {
		rawGet(t, srv.Listener.Addr().String(), fmt.Sprintf("/storm%d", i))
		// A panic is parked after its page is sent: until then it does not
		// count towards the storm, and on a loaded machine the next one
		// could come first and be kept too (3 runs in 60 with both cores
		// busy, under the race detector). One by one, as the storm is meant.
		waitFor(t, fmt.Sprintf("panic %d parked or refused", i), func() bool { return settled(d, i+1) })
	}
	waitFor(t, "four pages", func() bool { return strings.Count(logs.String(), "page=") == 4 })
	stormy := 0
	for _, rec := range d.registry.list() {
		if strings.Contains(rec.parkNote, "answered without keeping it") {
			stormy++
		}
	}
	if stormy != 2 || d.registry.parkedCount() != 2 {
		t.Errorf("%d refused as a storm and %d parked; want 2 and 2", stormy, d.registry.parkedCount())
	}
}

// settled reports whether the registry holds n panics, each refused a park
// (its parkNote says why) or parked, even if released since.
func settled(d *Debugger, n int) bool {
	recs := d.registry.list()
	if len(recs) != n {
		return false
	}
	for _, rec := range recs {
		rec.mu.Lock()
		done := rec.parkNote != "" || rec.pk != nil
		rec.mu.Unlock()
		if !done {
			return false
		}
	}
	return true
}

// TestBurstDoesNotTakeAThreadPerPanic: a goroutine waiting in its Spot
// holds an OS thread, so a burst of simultaneous panics must not all wait
// there: beyond twice the parking cap they are answered on the spot.
// Without that bound, 60 simultaneous panics made some 60 threads (and an
// attached debugger has to take on every new thread).
func TestBurstDoesNotTakeAThreadPerPanic(t *testing.T) {
	d, logs := newTestDebugger(t, WithMaxParked(1))
	var barrier sync.WaitGroup
	const n = 60
	barrier.Add(n)
	srv := serve(t, d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		barrier.Done()
		barrier.Wait()
		panic("burst")
	}))
	// Every page waits to be rendered until the whole burst is in answer,
	// its goroutines in their spots or answered on the spot: the panics are
	// then simultaneous however loaded the machine. Unheld, a loaded
	// machine could answer each before the next one came, and none was
	// refused (12 to 28 runs in 100 with both cores busy).
	for range cap(d.renders) {
		d.renders <- struct{}{}
	}
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawGet(t, srv.Listener.Addr().String(), "/burst")
		}()
	}
	waitFor(t, "the whole burst in answer", func() bool { return d.waiting.Load() == n })
	for range cap(d.renders) {
		<-d.renders
	}
	wg.Wait()
	waitFor(t, "every page", func() bool { return strings.Count(logs.String(), "page=") == n })
	if made := threads.Count() - before; made > 20 {
		t.Errorf("%d threads made for %d simultaneous panics", made, n)
	}
	refused := 0
	for _, rec := range d.registry.list() {
		if strings.Contains(rec.parkNote, "already kept or about to be") {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("no panic of the burst was answered without waiting in its spot")
	}
}

// A record is complete before it is published: a page request that comes
// while finish is still at work (here: right after the client has the page,
// while finish logs and decides) reads nothing finish still writes. The race
// detector is the assertion.
func TestRecordIsCompleteWhenPublished(t *testing.T) {
	d, _ := newTestDebugger(t, WithMaxParked(0))
	srv := serve(t, d, http.HandlerFunc(panicky))
	for range 20 {
		get(t, srv.URL+"/", "text/plain")
		_, list := get(t, srv.URL+Prefix, "application/json")
		_, page := get(t, srv.URL+Prefix+"panic/"+pageID(t, list), "text/html")
		if !strings.Contains(page, "not kept for inspection: parking is off") {
			t.Fatalf("the page lacks why the goroutine was not kept:\n%.400s", page)
		}
	}
}

// liveSpot returns the record's Spot while it is parked.
func (r *record) liveSpot() *park.Spot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pk == nil || !r.released.IsZero() {
		return nil
	}
	return r.pk.Spot
}

// heapInt returns an object of the Go heap, what Keep's pointers must
// name. A new(int) whose address leaves only as a uintptr stays on the
// stack (escape analysis cannot see through the uintptr): kept, it outlives
// its frame, and once the stack is freed the collector finds a bad pointer
// in the heap and aborts the whole test binary (CI did so, once).
//
//go:noinline
func heapInt() *int { return new(int) }

// collectingEval stands in for the agent: its snapshot arrives after a
// collection when gc is set, as when an app reaches its memory limit
// between a panic and the snapshot.
type collectingEval struct {
	debugapi.Evaluator
	gc     bool
	called chan struct{}
}

func (e *collectingEval) Register(p debugapi.Panic) {
	go func() {
		if e.gc {
			runtime.GC()
		}
		x := heapInt()
		p.Parked.Keep([]uintptr{uintptr(unsafe.Pointer(x))}, uint32(gcpause.Cycles()))
		runtime.KeepAlive(x)
		close(e.called)
	}()
}

func (e *collectingEval) Forget(string) {}

// A collection between the panic and the snapshot may have freed what only
// the dead frames held: the goroutine is released, and its page says why,
// instead of a console reading through addresses that name other objects.
// So may one that ended between the panic and its recovery, which the count
// noted at the recovery cannot show (a deferred call of the handler's runs
// first, here; in the wild, a goroutine descheduled on the way).
func TestCollectionBeforeSnapshotReleases(t *testing.T) {
	collectsWhilePanicking := func(w http.ResponseWriter, r *http.Request) {
		defer runtime.GC()
		panicky(w, r)
	}
	for _, tc := range []struct {
		name          string
		handler       http.HandlerFunc
		gcAtSnapshot  bool
		want, wantLog string // on the page and in the log, when released
	}{
		{name: "none", handler: panicky},
		{name: "before the snapshot", handler: panicky, gcAtSnapshot: true,
			want: "garbage collection(s) ran between the panic and the debugger", wantLog: "its frames cannot be trusted"},
		{name: "before the recovery", handler: collectsWhilePanicking,
			want: "before this panic was recovered, possibly after the panic itself", wantLog: "its frames cannot be trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, logs := newTestDebugger(t)
			fake := &collectingEval{Evaluator: d.eval, gc: tc.gcAtSnapshot, called: make(chan struct{})}
			d.eval = fake
			srv := serve(t, d, tc.handler)
			// A collection still running at the panic ends inside it too, and
			// rightly loses the frames (its mark may have missed them): start
			// from none. It ends before the handler starts, so it must not
			// count as one near the panic.
			runtime.GC()
			get(t, srv.URL+"/", "text/plain")
			<-fake.called
			rec := d.registry.list()[0]
			if tc.want == "" {
				addrs, _ := rec.pk.Kept()
				kept := len(addrs)
				if kept != 1 || !rec.parked() {
					t.Fatalf("without a collection: kept %d objects, parked %v; want 1, true", kept, rec.parked())
				}
				return
			}
			waitFor(t, "the release", func() bool { return !rec.parked() })
			_, page := get(t, srv.URL+Prefix+"panic/"+rec.panic.ID, "text/html")
			if !strings.Contains(page, tc.want) {
				t.Errorf("the page does not say why the goroutine was released:\n%.2000s", page)
			}
			logs.waitLog(t, tc.wantLog)
		})
	}
}

// TestRetainedPanicKeepsItsGoroutine: once a console call was handed
// pointers into a panic's frames (debugapi.Panic.Retain), releasing the
// panic, by the bound or by Close, must leave its goroutine parked and its
// kept objects held, since the callee may still point into those frames;
// other panics are released as usual, and at debugapi.RetainLimit the
// registry agrees to keep no more.
func TestRetainedPanicKeepsItsGoroutine(t *testing.T) {
	g := newRegistry(debugapi.RetainLimit+2, 100, time.Hour)
	parkOne := func(id string) *record {
		spot, err := park.New()
		if err != nil {
			t.Fatal(err)
		}
		go spot.Wait()
		rec := &record{panic: &traceback.Panic{ID: id}}
		// Held, as at a panic, so that no collection comes between the
		// count and the keep.
		pk := park.Dead(spot, gcpause.Hold(), gcpause.Cycles(), "", nil)
		obj := heapInt()
		pk.Keep([]uintptr{uintptr(unsafe.Pointer(obj))}, uint32(gcpause.Cycles()))
		runtime.KeepAlive(obj)
		g.add(rec)
		g.park(rec, pk)
		return rec
	}
	kept, plain := parkOne("kept"), parkOne("plain")
	keptSpot, plainSpot := kept.liveSpot(), plain.liveSpot()
	if !g.retain(kept, true) {
		t.Fatal("the first panic may not be kept")
	}
	if kept.pk.Retained() {
		t.Fatal("a peek committed the registry")
	}
	g.retain(kept, false)
	g.release(kept)
	g.release(plain)
	select {
	case <-plainSpot.Left():
	case <-time.After(5 * time.Second):
		t.Fatal("an ordinary panic's goroutine did not leave at its release")
	}
	select {
	case <-keptSpot.Left():
		t.Fatal("a retained panic's goroutine left at its release: a pointer a call kept now points into a reused stack")
	case <-time.After(200 * time.Millisecond):
	}
	if kept.parked() || kept.released.IsZero() {
		t.Error("a retained panic is not shown as released")
	}
	keptAddrs, _ := kept.pk.Kept()
	plainAddrs, _ := plain.pk.Kept()
	if len(keptAddrs) != 1 || len(plainAddrs) != 0 {
		t.Errorf("kept objects after release: retained %v, plain %v; want only the retained one's", keptAddrs, plainAddrs)
	}
	for i := 1; i < debugapi.RetainLimit; i++ {
		r := parkOne(fmt.Sprint("more", i))
		if !g.retain(r, true) {
			t.Fatalf("panic %d of %d may not be kept", i+1, debugapi.RetainLimit)
		}
		g.retain(r, false)
	}
	last := parkOne("last")
	if g.retain(last, true) {
		t.Errorf("the registry agrees to keep more than %d panics", debugapi.RetainLimit)
	}
	if !g.retain(kept, true) {
		t.Error("a panic already kept is refused at the limit")
	}
	lastSpot := last.liveSpot()
	g.close()
	select {
	case <-lastSpot.Left():
	case <-time.After(5 * time.Second):
		t.Fatal("close did not release an ordinary panic")
	}
	select {
	case <-keptSpot.Left():
		t.Fatal("close released a retained panic's goroutine")
	case <-time.After(100 * time.Millisecond):
	}
}
