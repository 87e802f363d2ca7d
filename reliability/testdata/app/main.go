// Command app is the fixture of the reliability suite: a small server
// wrapped by panicroom, as a developer would wrap theirs, whose panicking
// handler keeps locals and functions for the console to read and call —
// including functions that block on a mutex, loop forever, panic, or exit
// the process — and whose /stats route reports the process's own figures.
//
// Build it as its users are told to, with -gcflags=all="-N -l".
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/panicroom/panicroom"
)

// Payload is in the fixture's values and in its source, for the browser
// test: it sets window.__pwned and calls alert if it ever runs.
const Payload = `<img src=x onerror="window.__pwned=1;alert('xss')"><script>window.__pwned=1</script>`

// Order is what the panicking handler works on.
type Order struct {
	ID    string
	Items []int
	Note  string
}

// Total is a method to call from the console.
func (o *Order) Total() int {
	t := 0
	for _, v := range o.Items {
		t += v
	}
	return t
}

var (
	held   sync.Mutex // locked for ever at start: blockOnMutex waits on it
	exited = make(chan struct{})
)

func add(a, b int) int { return a + b }

// slow sleeps ms milliseconds and returns ms, so that a kill can land in
// the middle of a call.
func slow(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
}

func blockOnMutex() int {
	held.Lock()
	defer held.Unlock()
	return 1
}

func loopForever() int {
	for i := 0; ; i++ {
		if i < 0 {
			return i
		}
	}
}

func panicky() int { panic("boom from a call: " + Payload) }

func exitNow() int {
	os.Exit(3)
	return 0
}

func payload() string { return Payload }

// never is false at run time but not provably so: the calls under it keep
// the console's functions in the binary.
var never = os.Getenv("RELIABILITY_FIXTURE_NEVER") == "yes"

// handle is the frame the suite evaluates in: its locals are known values.
func handle(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	order := &Order{ID: "ord-" + strconv.Itoa(n), Items: []int{3, 4, 5}, Note: Payload}
	total := 7
	label := r.URL.Query().Get("label")
	if never {
		fmt.Println(add(1, 2), slow(0), blockOnMutex(), loopForever(), panicky(), exitNow(), payload(), order.Total())
	}
	check(order, total, label)
}

//go:noinline
func check(order *Order, total int, label string) {
	// <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1">
	if total > 0 {
		panic(fmt.Errorf("order %s failed %s: %w", order.ID, label, errors.New(Payload)))
	}
}

// form panics with a posted form value.
func form(w http.ResponseWriter, r *http.Request) {
	v := r.PostFormValue("comment")
	panic("comment rejected: " + v)
}

// stats reports what the suite watches for leaks.
func stats(w http.ResponseWriter, r *http.Request) {
	runtime.GC()
	if r.URL.Query().Has("free") {
		debug.FreeOSMemory()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"goroutines": runtime.NumGoroutine(),
		"heapInuse":  m.HeapInuse,
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	maxParked := flag.Int("max-parked", 16, "panicroom.WithMaxParked")
	unix := flag.String("unix", "", "also serve on this Unix socket, as behind a local proxy")
	idle := flag.Duration("idle", 30*time.Minute, "panicroom.WithIdleTimeout")
	flag.Parse()
	held.Lock()

	d := panicroom.New(panicroom.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))), panicroom.WithMaxParked(*maxParked), panicroom.WithIdleTimeout(*idle))
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/panic", handle)
	mux.HandleFunc("POST /form", form)
	mux.HandleFunc("/stats", stats)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: d.Wrap(mux)}
	srv.RegisterOnShutdown(func() { d.Close() })
	if *unix != "" {
		uln, err := net.Listen("unix", *unix)
		if err != nil {
			fmt.Fprintln(os.Stderr, "app:", err)
			os.Exit(1)
		}
		go srv.Serve(uln)
	}
	fmt.Fprintf(os.Stderr, "app: listening on http://%s/\n", ln.Addr())

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		s := <-sig
		fmt.Fprintf(os.Stderr, "app: %v, shutting down\n", s)
		d.Close()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	// Close detached the agent; say so, for the shutdown test.
	fmt.Fprintln(os.Stderr, "app: stopped")
}
