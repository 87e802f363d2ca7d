// Command app is the fixture for the debugger's integration tests: it
// panics inside a handler-like call chain, recovers in a deferred function,
// parks the goroutine, registers the panic, and then obeys one JSON command
// per line on stdin, answering one JSON line on stdout.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	pth "path"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panicroom/panicroom/internal/agent"
	"github.com/panicroom/panicroom/internal/debugapi"
	"github.com/panicroom/panicroom/internal/gcpause"
	"github.com/panicroom/panicroom/internal/park"
)

type User struct {
	Name  string
	Email string
	age   int
	Tags  []string
	Meta  map[string]int
	Next  *User
	Any   any
}

func (u *User) Greeting(prefix string) string { return prefix + ", " + u.Name }

// Self lets a call be made on a call's result.
func (u *User) Self() *User { return u }

// Admin's methods are User's, promoted: calls of them are Delve's.
type Admin struct{ *User }

func (u User) Age() int { return u.age }

func add(a, b int) int { return a + b }

func concat(a, b string) string { return a + b }

func sum(xs ...int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

func describe(v any) string { return fmt.Sprint(v) }

func blockForever() int { select {} }

func loopForever() int {
	for i := 0; ; i++ {
		if i < 0 {
			return i
		}
	}
}

func panicky() int { panic("boom from call") }

// slow returns after ms milliseconds: a call long enough to kill the agent
// in the middle of it.
func slow(ms int) int {
	slowStarted++
	if mark := os.Getenv("FIXTURE_SLOW_MARK"); mark != "" {
		os.WriteFile(mark, []byte(fmt.Sprint(slowStarted)), 0o600)
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	slowEnded++
	return ms
}

var slowStarted, slowEnded int

var counter = 42

// directory is a package-level variable with a method: the console must
// find it unqualified, as the code of package main does.
var directory = &Directory{names: map[int]string{42: "Ada"}}

type Directory struct{ names map[int]string }

//go:noinline
func (d *Directory) Lookup(id int) string { return d.names[id] }

// never is false at run time but not provably so: the calls under it keep
// the functions in the binary.
var never = os.Getenv("PANICROOM_FIXTURE_NEVER") == "yes"

type request struct {
	Path  string
	Query map[string]string
}

//go:noinline
func check(n, limit int) {
	if n > limit {
		panic(fmt.Sprintf("n=%d > limit=%d", n, limit))
	}
}

//go:noinline
func validate(u *User, n int) {
	limit := 10
	check(n, limit)
	u.age++
}

//go:noinline
func process(u *User, items []int, total int) {
	label := "processing"
	big := strings.Repeat("x", 3000)
	validate(u, len(items)+total)
	fmt.Println(label, big)
}

//go:noinline
func handle(req *request) {
	user := &User{Name: "Ada", Email: "ada@example.com", age: 36, Tags: []string{"admin", "ops"}, Meta: map[string]int{"logins": 3, "fails": 1}, Any: 7}
	user.Next = user
	items := make([]int, 100)
	for i := range items {
		items[i] = i * i
	}
	total := 7
	// stackUser never escapes: it lives in the parked frames, where a call
	// must not be handed a pointer to it.
	stackUser := User{Name: "Grace", age: 40}
	total += stackUser.Age() - 40
	// cart never escapes either, and points at stackUser: a chain of
	// pointer receivers in the parked frames.
	cart := &Cart{Owner: &stackUser, Items: 2}
	// Nil values of every kind, and a function value, as Go prints them.
	var (
		nilMap   map[string]int
		nilSlice []int
		nilChan  chan int
		nilFunc  func()
		nilIface error
		typedNil error = (*LookupError)(nil)
		adder          = add
		empty          = []int{}
		// For calls: an interface holding a pointer, a closure that
		// captured a local of the parked frames, a named map type.
		someErr error = &LookupError{ID: 3}
		hits          = 0
		bump          = func(by int) int { hits += by; return hits }
		seen          = Seen{"ada": true}
	)
	keepValues(nilMap, nilSlice, nilChan, nilFunc, nilIface, typedNil, adder, empty)
	_, _, _ = someErr.Error(), bump(0), seen.Has("x")
	pt := Point{1.5, -2}
	_, _ = fmt.Sprint(scale(pt, 1)), mix(0, 0, "", false, 0)
	_ = user.Self()
	admin := Admin{user}
	_ = admin.Greeting("")
	total += len(cart.Describe()) - len(cart.Describe())
	total += len(nameOf(&stackUser)) - len(nameOf(cart.Owner))
	process(user, items, total)
}

type parked struct {
	id   string
	spot *park.Spot
}

// keepValues uses its arguments, so that they are not optimized away.
//
//go:noinline
func keepValues(map[string]int, []int, chan int, func(), error, error, func(int, int) int, []int) {}

// Seen is a named map type with a method.
type Seen map[string]bool

func (s Seen) Has(name string) bool { return s[name] }

// LookupError is an error type whose nil pointer can sit in an error.
type LookupError struct{ ID int }

func (e *LookupError) Error() string { return fmt.Sprintf("no user %d", e.ID) }

// lookup has two unnamed results, the most common shape.
//
//go:noinline
func lookup(id int) (*User, error) {
	if id < 0 {
		return nil, &LookupError{ID: id}
	}
	return &User{Name: "found"}, nil
}

// split has named results.
//
//go:noinline
func split(n int) (quotient, remainder int) { return n / 3, n % 3 }

// Cart is an ordinary handler value, with a pointer receiver.
type Cart struct {
	Owner *User
	Items int
}

//go:noinline
func (c *Cart) Describe() string { return fmt.Sprintf("%s's cart, %d items", c.Owner.Name, c.Items) }

// nameOf takes a pointer argument.
//
//go:noinline
func nameOf(u *User) string { return u.Name }

// Point and the two functions below pass values of every register class:
// a struct of floats in float registers, integers of each size, a string
// in two registers, a bool.
type Point struct{ X, Y float64 }

func scale(p Point, by float64) Point { return Point{p.X * by, p.Y * by} }

func mix(a int8, b float32, s string, ok bool, u uint64) string {
	return fmt.Sprint(a, " ", b, " ", s, " ", ok, " ", u)
}

// Store and its users are built by deadLocals and referenced only by its
// frame, which is dead to the runtime once the panic is under way.
type Store struct {
	users map[int]*User
	notes []string
	blob  []byte
}

type holder struct {
	data []int
	name *string
}

//go:noinline
func newStore(seed int) *Store {
	s := &Store{users: map[int]*User{}, blob: make([]byte, 2000)}
	for i := 1; i <= 5; i++ {
		s.users[i] = &User{Name: fmt.Sprintf("user-%d-%d", seed, i), age: 20 + i, Tags: []string{fmt.Sprintf("tag-%d-%d", seed, i)}}
	}
	for i := range s.blob {
		s.blob[i] = byte(i*7 + seed)
	}
	s.notes = []string{fmt.Sprintf("note-%d", seed)}
	return s
}

//go:noinline
func explode(seed int) {
	if seed >= 0 {
		panic(fmt.Sprintf("explode %d", seed))
	}
}

// deadLocals builds heap objects that nothing but its own frame refers
// to, and none of its variables is used after the panicking call: at that
// call they are all dead, so no stack map names them.
//
//go:noinline
func deadLocals(seed int) {
	store := newStore(seed)
	counts := map[string]int{"alpha": seed, "beta": seed * 2}
	name := fmt.Sprintf("dead-%d", seed)
	var onStack [4]int
	onStack[1] = seed
	sp := &onStack
	// h does not escape: it is a stack object the debugger reaches
	// through the pointer h, and its fields point into the heap.
	h := &holder{data: make([]int, 300+seed%2), name: &name}
	for i := range h.data {
		h.data[i] = i * seed
	}
	var iface any = &User{Name: fmt.Sprintf("boxed-%d", seed)}
	if store.users == nil || len(counts) == 0 || sp[1] != seed || iface == nil {
		return
	}
	explode(seed)
}

var ev *agent.Client

// churnHold keeps the churn's garbage allocated, on top of freed memory.
var churnHold []any

// grow runs f on a stack already grown well past what the recover path
// needs, so the panic frames are never copied (trap 1).
//
//go:noinline
func grow(f func()) {
	var pad [64 << 10]byte
	pad[0] = 1
	f()
	runtime.KeepAlive(&pad)
}

// Keep-alive as the root package does it: the collector is off from the
// panic until the frames' heap pointers are stored in the parked record.
var (
	gcMu    sync.Mutex
	gcHolds int
	gcSaved int
	keepMu  sync.Mutex
	// parkedByID holds each panic's Parked, which keeps what the agent
	// listed; noKeepCalls counts the snapshots of panics registered
	// without one (noKeepAlive).
	parkedByID  = map[string]*park.Parked{}
	noKeepCalls = map[string]int{}
	// retained counts the commitments of Panic.Retain per panic; refuse
	// makes Retain refuse, as an app at its RetainLimit does.
	retained     = map[string]int{}
	refuseRetain = os.Getenv("PANICROOM_FIXTURE_RETAIN") == "refuse"
	// noKeepAlive registers panics without a Parked, so nothing is kept
	// (the collector is still held until the snapshot): for showing that
	// the test fails without it.
	noKeepAlive = os.Getenv("PANICROOM_FIXTURE_NO_KEEPALIVE") == "1"
)

func holdGC() (release func()) {
	gcMu.Lock()
	if gcHolds == 0 {
		gcSaved = debug.SetGCPercent(-1)
	}
	gcHolds++
	gcMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gcMu.Lock()
			defer gcMu.Unlock()
			gcHolds--
			if gcHolds == 0 {
				debug.SetGCPercent(gcSaved)
			}
		})
	}
}

// parkedFor makes the Parked of a fixture panic. cycles is noted after
// any collection the test ran on purpose: the fixture tests the agent's
// heap check, not the root's rule that such a collection loses the frames.
func parkedFor(id string, spot *park.Spot, release func()) *park.Parked {
	pk := park.Dead(spot, release, gcpause.Cycles(), "", func(why string) {
		fmt.Fprintf(os.Stderr, "fixture: panic %s lost its frames: %s\n", id, why)
	})
	keepMu.Lock()
	parkedByID[id] = pk
	keepMu.Unlock()
	return pk
}

// serve runs handler, parks its panic and registers it. freeFirst runs
// two collections before the registration, which free what only the dead
// frames refer to: the snapshot must then keep none of it.
func serve(id string, req *request, parkedCh chan<- parked, handler func(), freeFirst bool) {
	grow(func() {
		defer func() {
			release := holdGC()
			r := recover()
			if r == nil {
				release()
				return
			}
			spot, err := park.New()
			if err != nil {
				panic(err)
			}
			pcs := make([]uintptr, 64)
			n := runtime.Callers(1, pcs)
			frames := runtime.CallersFrames(pcs[:n])
			var all []debugapi.Frame
			for {
				f, more := frames.Next()
				all = append(all, debugapi.Frame{Function: f.Function, File: f.File, Line: f.Line, PC: f.PC, App: strings.HasPrefix(f.Function, "main.")})
				if !more {
					break
				}
			}
			// The page starts at the frame that panicked: after gopanic and
			// any runtime frames above the user's code.
			i := 0
			for i < len(all) && all[i].Function != "runtime.gopanic" {
				i++
			}
			for i < len(all) && strings.HasPrefix(all[i].Function, "runtime.") {
				i++
			}
			if freeFirst {
				runtime.GC()
				runtime.GC()
			}
			var pk *park.Parked
			if noKeepAlive {
				// No Parked, so nothing is kept: the hold ends with the
				// snapshot, and calls are refused.
				go func() {
					ev.Snapshot(context.Background(), id)
					keepMu.Lock()
					noKeepCalls[id]++
					keepMu.Unlock()
					release()
				}()
			} else {
				pk = parkedFor(id, spot, release)
			}
			ev.Register(debugapi.Panic{ID: id, GoroutineID: goid(), Frames: all[i:], Parked: pk,
				Retain: func(peek bool) bool {
					if peek {
						return !refuseRetain
					}
					keepMu.Lock()
					retained[id]++
					keepMu.Unlock()
					if pk != nil {
						pk.Retain()
					}
					return true
				}})
			parkedCh <- parked{id: id, spot: spot}
			spot.Wait()
		}()
		handler()
	})
}

func goid() int64 {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	var id int64
	fmt.Sscan(s, &id)
	return id
}

type command struct {
	Op     string
	Panic  string
	Frame  int
	Expr   string
	Handle *debugapi.Handle
	N      int
}

type reply struct {
	Value    *debugapi.Value     `json:",omitempty"`
	Snapshot *debugapi.Snapshot  `json:",omitempty"`
	Vars     *debugapi.FrameVars `json:",omitempty"`
	Status   *debugapi.Status    `json:",omitempty"`
	Err      *debugapi.Error     `json:",omitempty"`
	Other    string              `json:",omitempty"`
	Took     time.Duration
}

func main() {
	if never {
		fmt.Println(counter, add(1, 2), concat("a", "b"), sum(1, 2), describe(1), blockForever(), loopForever(), panicky(), slow(1), (&User{}).Greeting("x"), User{}.Age(), directory.Lookup(1), pth.Base("/a/b"))
		fmt.Println(lookup(1))
		fmt.Println(split(7))
	}
	opts := agent.Options{Timeout: scaled(3 * time.Second), MaxRestarts: 50, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	// With FIXTURE_START_AFTER set, the agent's first start waits for the
	// command start-agent (TestStartAfter).
	startAgent := make(chan struct{})
	if os.Getenv("FIXTURE_START_AFTER") != "" {
		opts.StartAfter = startAgent
	}
	ev = agent.Start(opts)
	defer ev.Close()

	// A heartbeat measures how long the app is frozen (attach, stops).
	var maxGap atomic.Int64
	var beats atomic.Int64
	go func() {
		last := time.Now()
		for {
			time.Sleep(time.Millisecond)
			now := time.Now()
			if g := int64(now.Sub(last)); g > maxGap.Load() {
				maxGap.Store(g)
			}
			last = now
			beats.Add(1)
		}
	}()

	var mu sync.Mutex
	spots := map[string]*park.Spot{}
	requests := map[string]*request{}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			out.Encode(reply{Other: "bad command: " + err.Error()})
			continue
		}
		ctx := context.Background()
		start := time.Now()
		var rep reply
		var err error
		switch c.Op {
		case "status":
			st := ev.Status()
			rep.Status = &st
		case "start-agent":
			close(startAgent)
		case "panic":
			ch := make(chan parked, 1)
			// The parked record keeps the request, as the middleware
			// does for its page: the dead frames alone would not keep it
			// from the collector (trap 1).
			req := &request{Path: "/boom", Query: map[string]string{"q": "1"}}
			go serve(c.Panic, req, ch, func() { handle(req) }, false)
			p := <-ch
			mu.Lock()
			spots[p.id] = p.spot
			requests[p.id] = req
			mu.Unlock()
		case "panic-dead":
			ch := make(chan parked, 1)
			seed := c.N
			go serve(c.Panic, nil, ch, func() { deadLocals(seed) }, c.Expr == "free-first")
			p := <-ch
			mu.Lock()
			spots[p.id] = p.spot
			mu.Unlock()
		case "retained":
			keepMu.Lock()
			rep.Other = fmt.Sprint(retained[c.Panic])
			keepMu.Unlock()
		case "kept":
			keepMu.Lock()
			var b strings.Builder
			if pk := parkedByID[c.Panic]; pk != nil {
				addrs, answered := pk.Kept()
				n := 0
				if answered {
					n = 1
				}
				fmt.Fprintf(&b, "%d", n)
				for _, p := range addrs {
					fmt.Fprintf(&b, " %#x", p)
				}
			} else {
				fmt.Fprintf(&b, "%d", noKeepCalls[c.Panic])
			}
			keepMu.Unlock()
			rep.Other = b.String()
		case "churn":
			// Free what nothing keeps, then fill the freed memory with
			// look-alike garbage that stays allocated until the next churn.
			runtime.GC()
			runtime.GC()
			churnHold = nil
			for i := 0; i < 4000; i++ {
				m := map[int]*User{}
				for j := 1; j <= 5; j++ {
					m[j] = &User{Name: "junk-junk-junk", age: -1, Tags: []string{"junk"}}
				}
				b := make([]byte, 2000)
				for k := range b {
					b[k] = 0xAA
				}
				d := make([]int, 300+i%2)
				for k := range d {
					d[k] = -7
				}
				churnHold = append(churnHold, m, b, d, &Store{}, fmt.Sprintf("junk-%d", i), map[string]int{"alpha": -1, "beta": -1}, &holder{})
			}
			runtime.GC()
		case "snapshot":
			rep.Snapshot, err = ev.Snapshot(ctx, c.Panic)
		case "eval":
			rep.Value, err = ev.Eval(ctx, debugapi.Request{Panic: c.Panic, Frame: c.Frame, Expr: c.Expr})
		case "locals":
			rep.Vars, err = ev.Locals(ctx, c.Panic, c.Frame)
		case "expand":
			rep.Value, err = ev.Expand(ctx, *c.Handle)
		case "release":
			mu.Lock()
			s := spots[c.Panic]
			mu.Unlock()
			s.Release()
			<-s.Left()
			ev.Forget(c.Panic)
		case "pressure":
			// Garbage and deep stacks on other goroutines, and GCs, while
			// the panic is parked: its frames must not move or be freed.
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					deep(200)
					_ = make([]byte, 1<<20)
				}()
			}
			wg.Wait()
			for i := 0; i < 5; i++ {
				runtime.GC()
			}
		case "moved":
			mu.Lock()
			s := spots[c.Panic]
			mu.Unlock()
			rep.Other = fmt.Sprint(s.Moved())
		case "heartbeat":
			rep.Other = fmt.Sprintf("%d %d", beats.Load(), maxGap.Swap(0))
		case "pid":
			rep.Other = fmt.Sprint(os.Getpid())
		default:
			rep.Other = "unknown op " + c.Op
		}
		rep.Took = time.Since(start)
		if err != nil {
			if e, ok := err.(*debugapi.Error); ok {
				rep.Err = e
			} else {
				rep.Err = &debugapi.Error{Code: "other", Msg: err.Error()}
			}
		}
		out.Encode(rep)
	}
}

//go:noinline
func deep(n int) int {
	var pad [512]byte
	pad[n%512] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%512])
}

// scaled is d times $PANICROOM_TEST_TIMESCALE, as the tests scale their
// waits (internal/testapp.Scaled) on a slow machine.
func scaled(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("PANICROOM_TEST_TIMESCALE"), 64); err == nil && f > 1 {
		return time.Duration(float64(d) * f)
	}
	return d
}
