// Command xssapp is a fixture for the browser XSS test: its one handler
// panics with a value, and next to source lines, that carry script
// payloads, so that every place where panicroom shows attacker-controlled
// text (panic value, error chain, URL, query, headers, source) is exercised
// in a real browser.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/panicroom/panicroom"
)

// The payloads set window.__pwned and call alert, so that the test can see
// an execution whichever way it happens.
const (
	scriptPayload = `<script>window.__pwned=1;alert(1)</script>`
	imgPayload    = `<img src=x onerror="window.__pwned=1;alert(2)">`
	attrPayload   = `"'><svg onload="window.__pwned=1">`
)

// payloadError is a typed error in the chain, so that the chain's rendering
// (message and type of each link) gets the payload too.
type payloadError struct{ field string }

func (e *payloadError) Error() string {
	return "invalid field " + e.field + " " + imgPayload
}

func boom(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	cause := &payloadError{field: scriptPayload}
	// <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> </textarea></title></pre>
	panic(fmt.Errorf("search %s %s: %w", q, attrPayload, cause)) // <img src=x onerror="window.__pwned=1">
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()

	d := panicroom.New(panicroom.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", boom)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xssapp:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: d.Wrap(mux)}
	srv.RegisterOnShutdown(func() { d.Close() })
	fmt.Fprintf(os.Stderr, "xssapp: listening on http://%s/\n", ln.Addr())

	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "xssapp:", err)
		os.Exit(1)
	}
}
