package pin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EnvVar is the environment variable that sets the PIN ("123-456-789") or
// turns it off ("off").
const EnvVar = "PANICROOM_PIN"

// SecretHeader and SecretProtocol carry the page secret; see
// [Guard.Secret].
const (
	// SecretHeader is the request header that carries the secret.
	SecretHeader = "X-Panicroom-Secret"
	// SecretProtocol, followed by the secret, is the WebSocket subprotocol
	// that carries it in a handshake, to which a page cannot add headers.
	SecretProtocol = "panicroom.secret."
)

// reprintInterval bounds how often a browser can make the PIN reappear in
// the terminal, so that a page cannot flood it.
const reprintInterval = 10 * time.Second

// Config configures a [Guard]. The zero value is ready for an app that
// listens on a loopback address and serves the debugger at "/".
type Config struct {
	// Dir holds the PIN and cookie-key files. Empty means
	// os.UserConfigDir()/panicroom. It is created with mode 0700.
	Dir string

	// App identifies the app the PIN belongs to. Empty means the main
	// package's import path, so that go build, go run and a reloader give
	// the same app the same PIN; a binary built from a list of files, or
	// without build information, is keyed by its directory or path.
	App string

	// Path scopes the cookie, for example "/__panicroom__/". Empty means "/".
	Path string

	// Output receives the lines that show the PIN. Nil means os.Stderr.
	Output io.Writer

	// TrustedHosts extends the Host header values accepted besides the
	// loopback names. Each entry is a host name ("devbox.test"), a
	// wildcard that matches its subdomains ("*.devbox.test"), or an IP
	// address ("192.168.1.20", "fe80::1"), without a port. Names are
	// compared as ASCII; write internationalized names in their xn-- form.
	TrustedHosts []string

	// AllowRemote accepts requests from every address. The PIN, Host,
	// Origin and secret checks still apply.
	AllowRemote bool

	// Allow lists the remote addresses accepted besides loopback ones, as
	// prefixes (an address is a /32 or /128): for a browser that reaches
	// the app from another machine, a VM's host, or a container's host
	// through a network whose gateway is not trusted. [ParseAllow] and
	// [AllowFromEnv] read them; zero prefixes are ignored.
	Allow []netip.Prefix

	// Container is where the app runs, from [DetectContainer]; its
	// Gateways are accepted like Allow entries, and refusals name it. The
	// zero value, no container, trusts no gateway: New does not detect
	// containers by itself, so that a Config says everything it allows.
	Container Container

	// Now and Sleep stand in for the clock in tests. Sleep must return
	// early, with ctx.Err(), when ctx is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// A Guard holds one process's PIN, cookie key and page secret, and the
// count of wrong PINs. It is safe for concurrent use.
type Guard struct {
	pin     string // nine digits; empty when the PIN is off
	fromEnv bool
	key     []byte // signs cookies; nil when the PIN is off
	secret  string

	cookieName   string
	path         string
	trustedHosts []hostPattern
	remote       remoteRule
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error

	// turn admits one PIN attempt at a time, so that the delays of
	// concurrent guesses add up instead of overlapping.
	turn chan struct{}

	mu        sync.Mutex // guards the fields below and writes to out
	failures  int
	out       io.Writer
	lastPrint time.Time
}

// New returns a Guard for the app described by c, reading its PIN and
// cookie key from c.Dir or creating them there. The environment variable
// [EnvVar] takes precedence over the PIN file; when it is "off", New touches
// no file at all.
func New(c Config) (*Guard, error) {
	g := &Guard{
		path:   c.Path,
		remote: newRemoteRule(c),
		now:    c.Now,
		sleep:  c.Sleep,
		out:    c.Output,
		secret: rand.Text(),
		turn:   make(chan struct{}, 1),
	}
	if g.path == "" {
		g.path = "/"
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.sleep == nil {
		g.sleep = sleep
	}
	if g.out == nil {
		g.out = os.Stderr
	}
	for _, h := range c.TrustedHosts {
		p, err := parsePattern(h)
		if err != nil {
			return nil, fmt.Errorf("pin: trusted host %q: %w", h, err)
		}
		g.trustedHosts = append(g.trustedHosts, p)
	}

	env := strings.TrimSpace(os.Getenv(EnvVar))
	if strings.EqualFold(env, "off") {
		return g, nil
	}
	if env != "" {
		p, ok := normalize(env)
		if !ok {
			return nil, fmt.Errorf("pin: %s must be 9 digits (dashes and spaces allowed) or \"off\"", EnvVar)
		}
		g.pin, g.fromEnv = p, true
	}

	app := c.App
	if app == "" {
		var err error
		if app, err = appIdentity(); err != nil {
			return nil, err
		}
	}
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = defaultDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pin: creating the PIN directory: %w", err)
	}
	stem := fileStem(app)
	// Cookies do not separate ports: apps on localhost:8080 and :8081 share
	// a cookie jar, and with one cookie name each sign-in would evict the
	// other app's cookie.
	g.cookieName = "panicroom_pin_" + stem[len(stem)-16:]

	if g.pin == "" {
		data, err := loadOrCreate(filepath.Join(dir, stem+".pin"), func() ([]byte, error) {
			p, err := newPIN()
			return []byte(p + "\n"), err
		}, checkPINFile)
		if err != nil {
			return nil, err
		}
		g.pin, _ = normalize(strings.TrimSpace(string(data)))
	}
	key, err := loadOrCreate(filepath.Join(dir, stem+".key"), func() ([]byte, error) {
		k := make([]byte, keySize)
		rand.Read(k)
		return k, nil
	}, checkKeyFile)
	if err != nil {
		return nil, err
	}
	g.key = key
	return g, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Off reports whether the PIN is turned off, in which case the console needs
// no PIN at all, only the other checks of [Authorize].
func (g *Guard) Off() bool { return g.pin == "" }

// Locked reports whether too many wrong PINs have been entered; only a
// restart unlocks the PIN.
func (g *Guard) Locked() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failures >= maxFailures
}

// Print writes the PIN line to the Output:
//
//	panicroom: debugger PIN 123-456-789 (enter it in the browser to open a console)
//
// Call it at start-up, and when a browser asks for the PIN. Beyond the first
// call it prints at most once every ten seconds, and reports whether it did.
func (g *Guard) Print() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.lastPrint.IsZero() && now.Sub(g.lastPrint) < reprintInterval {
		return false
	}
	g.lastPrint = now
	g.printLocked()
	return true
}

// Announce prints the PIN line at start-up. Unlike Print it is not limited
// and does not count against the limit: a browser that asks for the PIN a
// second after the app started must still see it printed where the
// developer is looking now.
func (g *Guard) Announce() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.printLocked()
}

func (g *Guard) printLocked() {
	var line string
	switch {
	case g.Off():
		line = "panicroom: debugger PIN off (" + EnvVar + "=off): every browser that passes the host and address checks can run code in this process"
	case g.failures >= maxFailures:
		line = lockedLine
	case g.fromEnv:
		line = "panicroom: debugger PIN " + format(g.pin) + " (from " + EnvVar + "; enter it in the browser to open a console)"
	default:
		line = "panicroom: debugger PIN " + format(g.pin) + " (enter it in the browser to open a console)"
	}
	fmt.Fprintln(g.out, line)
}

const lockedLine = "panicroom: debugger PIN locked after 10 wrong attempts; restart the app to unlock it"

// Secret returns this process's page secret: a random string, new at every
// start, for the page to send back with every console request. A fetch
// sends it in the [SecretHeader] header. A browser's WebSocket cannot send
// headers, so its handshake offers two subprotocols, "panicroom" (the one the
// server selects, so that the answer does not repeat the secret) and
// [SecretProtocol] followed by the secret. The secret is base32, so it is a
// valid subprotocol name as it is.
//
// It is never taken from the URL: a URL is what access logs, proxies and
// browser history record, and a logged secret is one fewer check between a
// local process and the console. Only a page served by this process knows
// it, which is what keeps other sites' pages from driving the console
// through the developer's browser.
func (g *Guard) Secret() string { return g.secret }

var (
	errNoSecret    = errors.New("the request carries no page secret (" + SecretHeader + " header, or the WebSocket subprotocol " + SecretProtocol + "<secret>); reload the traceback page")
	errSecretInURL = errors.New("the page secret was sent in the URL, where logs record it, and is not accepted there: send it in the " + SecretHeader + " header, or for a WebSocket as the subprotocol " + SecretProtocol + "<secret>; reload the traceback page")
	errBadSecret   = errors.New("the page secret does not match this process; reload the traceback page")
)

// CheckSecret reports whether r carries the page secret: in the
// [SecretHeader] header, or, for a WebSocket handshake, in a subprotocol
// named [SecretProtocol] followed by the secret. A secret in the query
// string is refused with an error that says where to send it instead.
func (g *Guard) CheckSecret(r *http.Request) error {
	got := r.Header.Get(SecretHeader)
	if got == "" && isWebSocket(r) {
		got = secretProtocol(r)
	}
	if got == "" {
		if r.URL != nil && r.URL.Query().Has("secret") {
			return errSecretInURL
		}
		return errNoSecret
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(g.secret)) != 1 {
		return errBadSecret
	}
	return nil
}

// secretProtocol returns the secret offered as a subprotocol, or "".
func secretProtocol(r *http.Request) string {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(p), SecretProtocol); ok {
				return s
			}
		}
	}
	return ""
}

// String hides the PIN from accidental logging of a Guard with %v.
func (g *Guard) String() string {
	if g.Off() {
		return "pin.Guard(off)"
	}
	return fmt.Sprintf("pin.Guard(%s)", g.cookieName)
}
