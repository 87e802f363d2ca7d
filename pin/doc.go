// Package pin guards panicroom's console, which runs any Go code a browser
// sends it inside the app: remote code execution, on purpose. Nothing that
// reveals or changes program state may answer a request that has not
// passed [Authorize], and the traceback pages themselves may only be shown
// to requests that pass [Guard.CheckPage] (or [CheckPageRequest], without a
// Guard): an allowed remote address (see "Remote addresses" below), and a
// trusted Host. Both halves matter: the Host check alone lets any client on
// the network that sends "Host: localhost" read the pages of an app bound
// to 0.0.0.0.
//
// A [Guard], made once at start-up by [New], holds the PIN, the key that
// signs the cookie a browser gets for entering it, the page secret, and the
// count of wrong PINs.
//
// # The PIN
//
// The PIN is nine random digits from crypto/rand, shown as 123-456-789. It
// is not derived from facts about the machine, which someone who can read
// a traceback could learn. It is kept in a file so that it survives
// restarts and the developer types it into a browser once a week rather
// than once a run:
//
//	<config>/panicroom/<name>-<hash>.pin   the PIN
//	<config>/panicroom/<name>-<hash>.key   32 random bytes that sign the cookie
//
// where <config> is os.UserConfigDir(): $XDG_CONFIG_HOME or ~/.config on
// Linux, ~/Library/Application Support on macOS, %AppData% on Windows.
//
// The directory is made with mode 0700 and the files with mode 0600; a file
// others can read is refused, with an error that says to delete it. <name>
// and <hash> come from the app's identity: the executable's path, or, for a
// binary built by "go run" or "go test", the main package's import path,
// because those binaries change path from run to run. Deleting the .pin file
// makes a new PIN at the next start, and deleting either file signs every
// browser out. Either can be done while the app runs, and takes effect when
// it restarts.
//
// The environment variable PANICROOM_PIN overrides the file:
//
//	PANICROOM_PIN=123-456-789   use this PIN (dashes and spaces are ignored)
//	PANICROOM_PIN=off           no PIN
//
// With the PIN off, any browser that passes the other checks of [Authorize]
// gets a console, and so can any local process, and any user of a shared
// machine, that can reach the port. Use it only on a single-user machine,
// with the app listening on a loopback address, and never with
// Config.AllowRemote, Config.Allow or in a container whose gateway is
// trusted.
//
// [Guard.Print] writes the PIN to standard error (or Config.Output):
//
//	panicroom: debugger PIN 123-456-789 (enter it in the browser to open a console)
//
// Call it at start-up and whenever the page's PIN dialog asks for it;
// repeated calls print at most once every ten seconds.
//
// # Entering the PIN
//
// [Guard.Verify] compares in constant time. Five wrong PINs are free; after
// them each attempt waits 1s, 2s, 4s, 8s, then 10s before it is checked,
// and the tenth wrong PIN locks the PIN until the process restarts. The
// right PIN before that resets the count. A guesser gets ten tries per run
// of the app at a billion possible PINs. The lock also signs out every
// browser, those with a valid cookie too: [Authorize] refuses them all, and
// an open console closes at its next request.
//
// # The cookie
//
// After the right PIN, [Guard.SetCookie] gives the browser a cookie that
// carries its issue time and an HMAC-SHA256 signature of that time and the
// PIN, under the key from the .key file. It is HttpOnly, SameSite=Strict,
// Secure on TLS, scoped to Config.Path, and valid for seven days
// ([CookieLifetime]). [Guard.CheckCookie] refuses a cookie that is
// malformed, forged, signed with another key or for another PIN, expired,
// or dated in the future. The cookie's name includes a hash of the app's
// identity, since browsers share cookies between ports of one host.
//
// # Authorization
//
// [Authorize] is the one place that decides whether a request may use the
// console; its documentation lists the checks and the HTTP status each
// failure gets. Its inputs are:
//
//   - the remote address, which must be a loopback one, an allowed one
//     or the container's gateway (see "Remote addresses");
//   - the Host header, which must name localhost, a *.localhost name, a
//     loopback IP address or one of Config.TrustedHosts, against DNS
//     rebinding ([TrustedHost]);
//   - the Origin header, which a WebSocket handshake must send and which
//     must then equal the request's own scheme://host, against other
//     sites' pages opening the console's socket;
//   - the page secret from [Guard.Secret], which the traceback page embeds
//     and sends back in the X-Panicroom-Secret header, or, for a
//     WebSocket, whose handshake a page cannot add headers to, as the
//     subprotocol "panicroom.secret.<secret>" ([SecretProtocol]) beside
//     "panicroom", the one the server selects. It is never accepted in the
//     URL, which access logs, proxies and browser history record;
//   - the PIN cookie, and whether the PIN is locked.
//
// An app that needs another rule supplies its own [AuthorizeFunc], usually
// one that calls Authorize first.
//
// Behind a reverse proxy on the same machine every request comes from a
// loopback address, so the remote-address check protects nothing there;
// the PIN still does. A proxy that terminates TLS makes the browser's Origin
// https while the request reaching the app is plain http, which the Origin
// check refuses: replace the AuthorizeFunc if that is the setup.
//
// # Remote addresses
//
// A request is let in by its remote address when that address is
//
//   - a loopback one (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104);
//   - in Config.Allow: the entries of the environment variable
//     PANICROOM_ALLOW ([AllowEnvVar], [AllowFromEnv]) and of
//     panicroom.WithAllow, IPv4 or IPv6 addresses and CIDR prefixes
//     ([ParseAllow]), never names;
//   - one of Config.Container's Gateways: in a container, the default
//     gateway, through which the host's published ports connect
//     ([DetectContainer] says which signals and routes it trusts, and why
//     not in Kubernetes or with the host's network);
//   - anything, with Config.AllowRemote.
//
// Everything else is refused with [ErrRemote], whose message names the
// address and the fix: PANICROOM_ALLOW=<address>, or
// panicroom.WithAllow("<address>"), and in a container which one and what
// it trusts. The Host, Origin, secret and PIN checks apply to every
// address alike: trusting the gateway lets the host's browser reach the
// PIN prompt, not the console. On Docker's bridge on Linux a machine on the
// LAN keeps its own address through a published port and stays refused;
// the gateway stands for the host itself, and, with Docker Desktop or a
// rootless runtime, possibly for whoever the host forwards, which is why
// the app's port is best published on the host's loopback only.
//
// An invalid PANICROOM_ALLOW entry is left out, which can only refuse a
// client, and [AllowFromEnv] returns an error naming it for the log; an
// invalid panicroom.WithAllow entry makes panicroom.New panic.
//
// # Wiring
//
// At start-up:
//
//	guard, err := pin.New(pin.Config{Path: "/__panicroom__/"})
//	if err != nil {
//		// The traceback works without a console; say why it is off.
//	}
//	guard.Print()
//
// A traceback page, before it renders (it embeds guard.Secret()):
//
//	if err := guard.CheckPage(r); err != nil {
//		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
//		return
//	}
//
// The PIN endpoint, a POST from the PIN dialog:
//
//	d := authorize(guard, r) // pin.Authorize unless replaced
//	if !d.Allowed() && d.Status != http.StatusUnauthorized {
//		http.Error(w, d.Reason, d.Status)
//		return
//	}
//	switch err := guard.Verify(r.Context(), r.PostFormValue("pin")); {
//	case errors.Is(err, pin.ErrLocked):
//		http.Error(w, err.Error(), http.StatusForbidden)
//	case err != nil:
//		http.Error(w, err.Error(), http.StatusUnauthorized)
//	default:
//		guard.SetCookie(w, r)
//	}
//
// Every console, locals and eval request, before anything else (and for
// the WebSocket, before the upgrade, so that a refusal is a plain status):
//
//	if d := authorize(guard, r); !d.Allowed() {
//		http.Error(w, d.Reason, d.Status)
//		return
//	}
//
// A WebSocket outlives its handshake: decide again, with the handshake's
// request, before each message it carries, and close it (status 1008) with
// the Reason when the answer has changed. Nothing in a Decision is cached,
// so the same request can be refused later, when its cookie has expired.
package pin
