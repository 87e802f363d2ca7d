//go:build !panicroom_off

package panicroom

import (
	"log/slog"
	"time"

	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/pin"
)

// An Option configures a Debugger.
type Option func(*config)

type config struct {
	logger       *slog.Logger
	contextLines int
	editor       traceback.Editor
	trustedHosts []string
	maxParked    int
	history      int
	idle         time.Duration
	lightStyle   string
	darkStyle    string
	console      bool
	goroutines   bool
	allowRemote  bool
	allow        []string
	editorPaths  []string
	authorize    pin.AuthorizeFunc
}

func defaults() config {
	return config{
		logger:       slog.Default(),
		contextLines: traceback.DefaultContext,
		editor:       "vscode",
		maxParked:    16,
		history:      100,
		idle:         30 * time.Minute,
		lightStyle:   "github",
		darkStyle:    "github-dark",
		console:      true,
		goroutines:   true,
		authorize:    pin.Authorize,
	}
}

// WithLogger sets where panicroom logs: one line per panic, with the page's
// URL. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithContextLines sets how many lines of source are shown above and below
// each frame's line (default 7).
func WithContextLines(n int) Option {
	return func(c *config) { c.contextLines = max(0, n) }
}

// WithEditor sets how file:line links open: "vscode" (default), "goland",
// "cursor", "zed", "none", or a URL template with {file} and {line}, such as
// "idea://open?file={file}&line={line}". New panics on a template whose
// scheme could run script in the page.
func WithEditor(editor string) Option {
	return func(c *config) { c.editor = traceback.Editor(editor) }
}

// WithTrustedHosts adds Host header values that may reach panicroom's pages,
// beyond the loopback names (localhost, *.localhost, 127.0.0.1, [::1]).
// A leading "*." matches any subdomain; an entry has no port, and every port
// of a trusted host is trusted. Requests for other hosts are refused, which
// defeats DNS rebinding. New panics on an entry that is not a host name,
// *.domain wildcard or IP address ("*", "host:8080", "dev box").
func WithTrustedHosts(hosts ...string) Option {
	return func(c *config) { c.trustedHosts = append(c.trustedHosts, hosts...) }
}

// WithMaxParked bounds how many panicking goroutines are kept alive for
// inspection (default 16); the oldest is released first. Zero parks none.
func WithMaxParked(n int) Option {
	return func(c *config) { c.maxParked = max(0, n) }
}

// WithHistory bounds how many panic pages are kept (default 100).
func WithHistory(n int) Option {
	return func(c *config) { c.history = max(1, n) }
}

// WithIdleTimeout releases a parked goroutine after this long without use
// (default 30 minutes).
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.idle = d
		}
	}
}

// WithStyles names the chroma styles for source code in light and dark mode
// (defaults "github" and "github-dark"); the browser's prefers-color-scheme
// chooses. Unknown names fall back to the defaults. Go source is
// highlighted; a frame in another language (the runtime's assembly) shows
// its source as plain text.
func WithStyles(light, dark string) Option {
	return func(c *config) { c.lightStyle, c.darkStyle = light, dark }
}

// WithConsole turns the in-page consoles on (the default) or off. Off, no
// helper process is started, no PIN is printed and no goroutine is parked:
// panicroom is a traceback page and nothing more. PANICROOM_AGENT=off in
// the environment does the same without a code change.
func WithConsole(on bool) Option {
	return func(c *config) { c.console = on }
}

// WithGoroutines turns the page's Goroutines section on (the default) or
// off. Taking every goroutine's stack stops the world for as long as
// runtime.Stack takes, on every panic (BenchmarkGoroutines10000 in package
// traceback: tens of milliseconds for 10,000 goroutines waiting on one
// channel, over a second for 10,000 deep, varied stacks). An app with that
// many may prefer its panics without it. A panic that comes while 8 others
// are being answered leaves the section out and says why on its page.
func WithGoroutines(on bool) Option {
	return func(c *config) { c.goroutines = on }
}

// WithAllowRemote lets pages and console requests come from every
// address, not only loopback ones and those of WithAllow. The PIN, Host,
// Origin and page-secret checks still apply; only use this on a network
// you trust, and prefer WithAllow, which names the one address you mean.
func WithAllowRemote(allow bool) Option {
	return func(c *config) { c.allowRemote = allow }
}

// WithAllow lets pages and console requests come from these addresses
// besides loopback ones: IP addresses ("192.168.1.20", "fd00::5") and
// CIDR prefixes ("10.0.0.0/8"), IPv4 or IPv6, never names. It adds to the
// PANICROOM_ALLOW environment variable (same syntax, separated by commas)
// and, in a container, to its default gateway, which panicroom trusts by
// itself (see the pin package). The PIN, Host, Origin and page-secret
// checks still apply. New panics on an entry that is not an address or
// prefix ("*", "host.docker.internal", "10.0.0.1:8080").
func WithAllow(addrs ...string) Option {
	return func(c *config) { c.allow = append(c.allow, addrs...) }
}

// WithEditorPaths maps the app's file paths to the editor's in
// file:line links, for an app that runs where its source has another path
// (a container's /app, edited on the host): each pair is "from=to", such
// as "/app=/Users/me/src/shop". The longest matching from wins, whole path
// elements at a time; the page still shows the app's own path. The
// PANICROOM_EDITOR_PATHS environment variable (pairs separated by commas)
// adds to them and wins over an equal from, as it belongs to the machine
// the editor runs on. New panics on an invalid pair.
func WithEditorPaths(pairs ...string) Option {
	return func(c *config) { c.editorPaths = append(c.editorPaths, pairs...) }
}

// WithAuthorize replaces the decision, made for every console request,
// whether it may reveal or change program state. The default is
// pin.Authorize: trusted Host, same Origin, the page's secret, the PIN
// cookie and an allowed address (loopback, WithAllow, PANICROOM_ALLOW or
// the container's gateway). A replacement must keep 401 meaning "only
// the PIN is missing", which is what makes the page ask for it.
func WithAuthorize(f pin.AuthorizeFunc) Option {
	return func(c *config) {
		if f != nil {
			c.authorize = f
		}
	}
}
