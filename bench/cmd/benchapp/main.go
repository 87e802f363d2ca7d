// Command benchapp is the app the benchmarks measure: the same two routes
// (/ok answers five bytes, /panic?depth=N panics N app frames down) behind
// one of three wrappers chosen by -mode: bare (none), panicroom
// (panicroom.Wrap) or chi (chi's middleware.Recoverer).
//
// Build it with -gcflags=all="-N -l", as panicroom's users are told to. It
// prints "listening on http://ADDR/" on standard error; with -pprof it also
// serves net/http/pprof and runtime memory figures on a second loopback
// listener, outside the wrapper.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"syscall"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/panicroom/panicroom"
	"github.com/panicroom/panicroom/bench"
	_ "github.com/panicroom/panicroom/bench/internal/agentprof" // before the debugger's init
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	mode := flag.String("mode", "panicroom", "bare, panicroom or chi")
	pprofAddr := flag.String("pprof", "", "address for net/http/pprof and /mem (off when empty)")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/ok", bench.OK)
	mux.HandleFunc("/panic", bench.Panic)

	var h http.Handler
	var d *panicroom.Debugger
	switch *mode {
	case "bare":
		h = mux
	case "panicroom":
		d = panicroom.New(panicroom.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
		h = d.Wrap(mux)
	case "chi":
		h = middleware.Recoverer(mux)
	default:
		fmt.Fprintln(os.Stderr, "benchapp: unknown -mode", *mode)
		os.Exit(2)
	}

	if *pprofAddr != "" {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/mem", serveMem)
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchapp:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "benchapp: pprof on http://%s/\n", pl.Addr())
		go http.Serve(pl, pm)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchapp:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: h}
	fmt.Fprintf(os.Stderr, "benchapp: listening on http://%s/\n", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		if d != nil {
			d.Close()
		}
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "benchapp:", err)
		os.Exit(1)
	}
}

// serveMem answers the Go runtime's own memory figures, after a collection
// when ?gc=1.
func serveMem(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
		debug.FreeOSMemory()
	}
	names := []string{
		"/memory/classes/total:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/os-stacks:bytes",
		"/sched/goroutines:goroutines",
		"/sched/threads/total:threads",
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	out := map[string]uint64{}
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			out[s.Name] = s.Value.Uint64()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
