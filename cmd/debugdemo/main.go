// Command debugdemo is a small web app that panics in many ways, to show
// what panicroom does with each. Build it with optimizations off, as a
// debugger needs, and open the printed URL:
//
//	go run -gcflags=all="-N -l -dwarf=true" -ldflags="-s=false -w=false" ./cmd/debugdemo
//
// Every link on its index page panics differently: nil pointers and maps,
// index errors, wrapped and joined errors, a struct value, deep recursion,
// generics and closures, a panic after a streamed write, the deliberate
// http.ErrAbortHandler, and a JSON endpoint. The panicking frames hold locals
// of many types for the console to inspect.
package main

import (
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/panicroom/panicroom"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d := panicroom.New(panicroom.WithLogger(logger))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", index)
	for _, c := range cases {
		mux.HandleFunc("/"+c.Path, c.Handler)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "debugdemo:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: d.Wrap(mux)}
	srv.RegisterOnShutdown(func() { d.Close() })
	settings.Addr = ln.Addr().String()
	fmt.Fprintf(os.Stderr, "debugdemo: listening on http://%s/\n", ln.Addr())

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		d.Close()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "debugdemo:", err)
		os.Exit(1)
	}
}

// demoCase is one link of the index; its fields are exported because the
// index template reads them.
type demoCase struct {
	Path, Title, About string
	Handler            http.HandlerFunc
}

var cases = []demoCase{
	{"nil-pointer", "Nil pointer dereference", "a method reads a field through a nil *User", nilPointer},
	{"nil-map", "Nil map write", "an uninitialised map in a struct is written to", nilMap},
	{"index", "Index out of range", "a slice is indexed past its end", indexOutOfRange},
	{"wrapped", "Wrapped error chain", "an error wrapped three times with %w", wrappedError},
	{"joined", "errors.Join", "several validation errors joined", joinedErrors},
	{"struct", "Panic with a struct value", "panic(Order{...}), not an error", structValue},
	{"recursion", "Deep recursion", "a recursive walk panics 240 frames down", deepRecursion},
	{"generic", "Generic function and closure", "a closure inside a generic Map panics", genericClosure},
	{"streamed", "Panic after a streamed write", "half the response is flushed, then a panic", streamed},
	{"abort", "http.ErrAbortHandler", "the deliberate abort, re-panicked untouched", abort},
	{"api/orders", "JSON endpoint", "an API handler panics; fetch it with Accept: application/json", jsonEndpoint},
	{"bad-error", "An error whose Error() panics", "the panic value's own method panics", badError},
	{"panic-nil", "panic(nil)", "arrives as *runtime.PanicNilError", panicNil},
	{"break", "A breakpoint", "the handler stops at panicroom.Break; Continue answers with what the console assigned", breakpoint},
	{"background", "A background goroutine's panic", "a goroutine started with panicroom.Go panics; the server goes on", background},
	{"stuck", "Goroutines piled up", "50 workers wait for jobs that never come; see the Goroutines section", stuck},
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>panicroom demo</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:40px auto;padding:0 20px;color:#1c2128}
h1{font-size:22px} li{margin:6px 0} a{color:#0969da} span{color:#656d76}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}a{color:#4493f8}span{color:#8d96a0}}
</style></head><body>
<h1>panicroom demo</h1>
<p>Each link panics in a different way. Recent panics: <a href="/__panicroom__/">/__panicroom__/</a>.
The console for the running app, without a panic: <a href="/__panicroom__/console">/__panicroom__/console</a>.</p>
<ul>{{range .Cases}}<li><a href="/{{.Path}}">{{.Title}}</a> <span>— {{.About}}</span></li>{{end}}</ul>
<p><span>{{.Greeting}}</span></p>
</body></html>`))

// Settings are the demo's package-level state, for the top-level console
// (/__panicroom__/console): main.settings, main.settings.Greeting().
type Settings struct {
	Addr     string
	Started  time.Time
	Visits   int
	Features map[string]bool
}

// Greeting is a method to call from the top-level console.
func (s *Settings) Greeting() string {
	return fmt.Sprintf("demo on %s, up since %s, %d visits", s.Addr, s.Started.Format(time.Kitchen), s.Visits)
}

var settings = &Settings{Started: time.Now(), Features: map[string]bool{"console": true, "dark-mode": true}}

func index(w http.ResponseWriter, r *http.Request) {
	settings.Visits++
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := struct {
		Cases    []demoCase
		Greeting string
	}{cases, settings.Greeting()}
	if err := indexPage.Execute(w, data); err != nil {
		panic(err) // the demo's own page is broken: panicroom will show where
	}
}
