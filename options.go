package panicroom

import (
	"log/slog"
	"time"

	"github.com/panicroom/panicroom/pin"
	"github.com/panicroom/panicroom/traceback"
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
	allowRemote  bool
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
// chooses. Unknown names fall back to the defaults.
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

// WithAllowRemote lets pages and console requests come from addresses
// other than loopback ones (a VM or container host, say, whose requests
// arrive from the bridge's gateway). The PIN, Host, Origin and page-secret
// checks still apply; only use this on a network you trust.
func WithAllowRemote(allow bool) Option {
	return func(c *config) { c.allowRemote = allow }
}

// WithAuthorize replaces the decision, made for every console request,
// whether it may reveal or change program state. The default is
// pin.Authorize: trusted Host, same Origin, the page's secret, the PIN
// cookie and a loopback address. A replacement must keep 401 meaning "only
// the PIN is missing", which is what makes the page ask for it.
func WithAuthorize(f pin.AuthorizeFunc) Option {
	return func(c *config) {
		if f != nil {
			c.authorize = f
		}
	}
}
