package devrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/panicroom/panicroom/pin"
)

// Phase is where the app is in its cycle.
type Phase string

const (
	// Building: the app is down and being built. The runner holds the
	// app's address; requests wait.
	Building Phase = "building"
	// Starting: the new binary runs but does not listen yet. The runner
	// has let the address go so that the app can take it; requests that
	// were held keep waiting.
	Starting Phase = "starting"
	// Up: the app listens. Held requests are passed to it.
	Up Phase = "up"
	// Failed: the build failed or the app exited. The runner holds the
	// address and answers every request with the page that says why.
	Failed Phase = "failed"
)

// Status is what the runner's pages and events report.
type Status struct {
	Seq   int   `json:"seq"` // increases at every change
	Phase Phase `json:"phase"`
	Run   int   `json:"run"` // the number of the build this is about
	// ID names the run across runner sessions: what the app finds in
	// runenv.Var and its pages compare with.
	ID      string   `json:"id"`
	Failure *Failure `json:"failure,omitempty"`
}

// HoldFor bounds how long a request waits for a build that is not done.
const HoldFor = 30 * time.Second

// Prefix is where the runner's own pages live on the app's address.
const Prefix = "/__panicroom__/run/"

// Front is the runner's server on the app's address, while the app is
// down.
type Front struct {
	Log     *slog.Logger
	Pages   *Pages
	HoldFor time.Duration

	mu      sync.Mutex
	st      Status
	changed chan struct{} // closed and replaced at every change of st
	target  []netip.AddrPort
	srv     *http.Server
	bound   []netip.AddrPort
	lns     []net.Listener
	allow   []netip.Prefix
	cont    pin.Container
	session string
	tr      *http.Transport
}

// NewFront returns a Front in phase Building.
func NewFront(log *slog.Logger, pages *Pages) *Front {
	allow, _ := pin.AllowFromEnv()
	var b [4]byte
	rand.Read(b[:])
	return &Front{Log: log, Pages: pages, HoldFor: HoldFor, st: Status{Phase: Building}, changed: make(chan struct{}), allow: allow, cont: pin.DetectContainer(),
		session: hex.EncodeToString(b[:])}
}

// RunID names the run of one build: the runner's session, so that
// a page of an earlier "panicroom run" is not taken for the current one,
// and the build's number.
func (f *Front) RunID(run int) string { return fmt.Sprintf("%s.%d", f.session, run) }

// Set moves to phase p and wakes every waiting request and event stream.
// target is where the app listens, for Up.
func (f *Front) Set(p Phase, run int, fail *Failure, target []netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = Status{Seq: f.st.Seq + 1, Phase: p, Run: run, ID: f.RunID(run), Failure: fail}
	if target != nil {
		f.target = target
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// Status returns the current status and a channel closed at its next
// change.
func (f *Front) Status() (Status, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, f.changed
}

// Bound reports whether the runner holds the app's address.
func (f *Front) Bound() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.srv != nil
}

// Bind takes the app's addresses. The app has just exited, so its
// sockets may take a moment to go; Bind retries for a few seconds.
func (f *Front) Bind(addrs []netip.AddrPort) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil || len(addrs) == 0 {
		return nil
	}
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := listenRetry(a, 3*time.Second)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(f.Log.Handler(), slog.LevelDebug)}
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	f.srv, f.bound, f.lns = srv, addrs, lns
	return nil
}

func listenRetry(a netip.AddrPort, within time.Duration) (net.Listener, error) {
	network := "tcp4"
	switch {
	case a.Addr().Is6() && a.Addr().IsUnspecified():
		// What Go's Listen("tcp", ":8080") made: one socket for both
		// families.
		network = "tcp"
	case a.Addr().Is6():
		network = "tcp6"
	}
	deadline := time.Now().Add(within)
	for {
		ln, err := net.Listen(network, a.String())
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return nil, fmt.Errorf("taking over the app's address %s while it is down: %w", a, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Release closes the runner's listeners so that the new app can bind the
// address. Requests already accepted stay: they are answered (passed to the
// app once it is up) on their connections, which then close, so that the
// browser's next request reaches the app itself.
func (f *Front) Release() {
	f.mu.Lock()
	srv, lns := f.srv, f.lns
	f.srv, f.bound, f.lns = nil, nil, nil
	f.mu.Unlock()
	if srv == nil {
		return
	}
	// The app is about to bind the address: the listeners must be closed
	// when Release returns, and Shutdown closes them in its own goroutine.
	for _, ln := range lns {
		ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.HoldFor+10*time.Second)
	go func() {
		defer cancel()
		// Waits for the held requests, and closes idle connections so that
		// a browser's next request goes to the app.
		srv.Shutdown(ctx)
	}()
}

// ServeHTTP answers on the app's address while the app is down.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, Prefix); ok {
		if err := pin.CheckPageRequest(r, pin.Config{Allow: f.allow, Container: f.cont}); err != nil {
			http.Error(w, "403 forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
		switch {
		case rest == "events":
			f.serveEvents(w, r)
		case rest == "status":
			st, _ := f.Status()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			json.NewEncoder(w).Encode(st)
		case strings.HasPrefix(rest, "static/"):
			f.Pages.ServeStatic(w, r, strings.TrimPrefix(rest, "static/"))
		default:
			http.Error(w, "404 not found: panicroom run has no page at "+r.URL.Path, http.StatusNotFound)
		}
		return
	}
	timer := time.NewTimer(f.HoldFor)
	defer timer.Stop()
	for {
		st, changed := f.Status()
		switch st.Phase {
		case Up:
			f.proxy(w, r)
			return
		case Failed:
			if err := pin.CheckPageRequest(r, pin.Config{Allow: f.allow, Container: f.cont}); err != nil {
				// The page shows source and the app's stderr: only to whom
				// the app's own traceback pages would be shown.
				http.Error(w, "503 service unavailable: the app is down (panicroom run); "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			f.Pages.ServeFailure(w, r, st)
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			f.Pages.ServeTimeout(w, r, st, f.HoldFor)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// proxy passes a held request to the app, on the port of the connection
// it came on (an app may listen on several).
func (f *Front) proxy(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	targets := f.target
	f.mu.Unlock()
	if len(targets) == 0 {
		http.Error(w, "502 bad gateway: panicroom run does not know where the app listens", http.StatusBadGateway)
		return
	}
	t := targets[0]
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			for _, c := range targets {
				if c.Port() == ap.Port() {
					t = c
				}
			}
		}
	}
	host := t.Addr()
	if host.IsUnspecified() {
		// A wildcard IPv6 socket from Go is dual-stack: it answers on
		// 127.0.0.1 too.
		host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	u := &url.URL{Scheme: "http", Host: netip.AddrPortFrom(host, t.Port()).String()}
	rp := &httputil.ReverseProxy{
		Transport: f.transport(),
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// The app checks the Host (panicroom's pages trust loopback
			// names only) and may route by it: it must see the browser's.
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "502 bad gateway: panicroom run held this request during a rebuild, and passing it to the app failed: "+err.Error(), http.StatusBadGateway)
		},
	}
	w.Header().Set("Connection", "close")
	rp.ServeHTTP(w, r)
}

// transport is the proxy's: one per Front, so that held requests share
// connections to the app, with a dial that retries while the app refuses.
func (f *Front) transport() http.RoundTripper {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tr == nil {
		f.tr = &http.Transport{DialContext: dialRetry, MaxIdleConnsPerHost: 8, IdleConnTimeout: 10 * time.Second}
	}
	return f.tr
}

// dialRetry dials the app, again while its port refuses, for a moment: Up
// is set when the app's socket listens, but an app that listens on several
// addresses may not have opened the one this request needs yet, and one
// that restarts its server in-process closes its listener for a moment.
// Only a refusal is retried: the request has not reached the app.
func dialRetry(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	deadline := time.Now().Add(dialRetryFor)
	for {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// dialRetryFor bounds dialRetry.
const dialRetryFor = 3 * time.Second

// serveEvents streams the status to open pages (server-sent events): a
// page reloads when the app is up again or fails anew. A stream ends at
// Up, since the runner's server is going away then. The app serves the
// same path while it is up (the root package's serveRunEvents), so that
// one EventSource hears both, in turn.
func (f *Front) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// A reconnect after the app came up reaches the app, which has no such
	// endpoint: the page has reloaded by then. Reconnect fast while the
	// runner restarts.
	fmt.Fprint(w, "retry: 300\n\n")
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		st, changed := f.Status()
		ev := struct {
			Seq   int    `json:"seq"`
			Phase Phase  `json:"phase"`
			Run   int    `json:"run"`
			ID    string `json:"id"`
			Title string `json:"title,omitempty"`
		}{Seq: st.Seq, Phase: st.Phase, Run: st.Run, ID: st.ID}
		if st.Failure != nil {
			ev.Title = st.Failure.Title
		}
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "event: state\ndata: %s\n\n", b)
		fl.Flush()
		if st.Phase == Up {
			return
		}
	wait:
		select {
		case <-changed:
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
			goto wait
		case <-r.Context().Done():
			return
		}
	}
}
