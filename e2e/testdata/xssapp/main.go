// Command xssapp is a fixture for the browser XSS test: its handlers panic
// with values, and next to source lines, that carry script payloads, so
// that every place where panicroom shows attacker-controlled text (panic
// value, error chain, URL, query, headers, cookies, form values, source,
// console answers and errors) is exercised in a real browser. The test also
// builds a copy of it under a file path made of payloads.
package main

import (
	"flag"
	"fmt"
	"io"
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

// formPage is the app's own page with a form, so that the browser gets the
// panic page as the answer to a real form submission.
const formPage = `<!doctype html>
<title>xssapp form</title>
<form method="post" action="/submit">
<input name="comment"> <input name="password"> <button type="submit">Send</button>
</form>
`

func form(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, formPage)
}

// note gives the console a payload in a struct field to expand.
type note struct {
	Title string
	Body  string
}

// submit keeps what the browser sent (a form value, a cookie) in locals,
// next to payloads of its own in a struct and a map, for the console to
// evaluate; the page shows the cookie only through the panic message, as
// panicroom masks the Cookie header.
func submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	comment := r.PostForm.Get("comment")
	theme := ""
	if c, err := r.Cookie("theme"); err == nil {
		theme = c.Value
	}
	n := &note{Title: scriptPayload, Body: comment}
	labels := map[string]string{attrPayload: imgPayload}
	shout(fmt.Sprintf("comment %s, theme %s, %d labels", n.Body, theme, len(labels)))
}

// shout panics with s. The console calls it with payloads: the panic is
// the call's answer, an error that carries them.
func shout(s string) { panic("rejected " + s) }

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()

	d := panicroom.New(panicroom.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", boom)
	mux.HandleFunc("GET /form", form)
	mux.HandleFunc("POST /submit", submit)

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
