package pin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// A Decision answers whether a request may use the console.
type Decision struct {
	// Status is http.StatusOK to allow. A refusal is
	// http.StatusForbidden, or http.StatusUnauthorized when the only thing
	// missing is a valid PIN cookie (the page then asks for the PIN).
	Status int
	// Reason says, for the page and the log, why the request was refused.
	// It quotes request headers, so escape it like any request data.
	Reason string
}

// Allowed reports whether d allows the request. The zero Decision refuses.
func (d Decision) Allowed() bool { return d.Status == http.StatusOK }

// An AuthorizeFunc decides whether r may use the console of the app that g
// guards: open it, read locals, evaluate. [Authorize] is the default; a
// replacement usually calls it and then narrows or widens its answer.
//
// A replacement must keep the meaning of http.StatusUnauthorized: every
// check except the PIN passed. The PIN endpoint relies on it to let a
// request try a PIN.
type AuthorizeFunc func(g *Guard, r *http.Request) Decision

var _ AuthorizeFunc = Authorize

// Authorize is the default [AuthorizeFunc]. It allows r when all of these
// hold, checked in this order:
//
//  1. The remote address is a loopback one (127.0.0.0/8, ::1,
//     ::ffff:127.0.0.0/104), is in Config.Allow, or is one of the
//     Config.Container's trusted Gateways; any address passes with
//     Config.AllowRemote. A refusal names the address and the fix:
//     PANICROOM_ALLOW=<address>, or panicroom.WithAllow.
//  2. The Host header is trusted: see [TrustedHost] and
//     Config.TrustedHosts.
//  3. The request comes from the page's own origin. A WebSocket handshake
//     must carry an Origin header equal to the request's own
//     scheme://host; other requests may omit Origin, but one they send
//     must match, and a Sec-Fetch-Site header, if sent, must say
//     "same-origin" (or "none", for an address typed by the user).
//  4. It carries the page secret ([Guard.CheckSecret]): in the
//     [SecretHeader] header, or a WebSocket handshake's subprotocol, never
//     in the query string.
//  5. The PIN is not locked ([Guard.Locked]).
//  6. It carries a valid PIN cookie ([Guard.CheckCookie]).
//
// Checks 5 and 6 are skipped when the PIN is off. Failing any of 1 to 5
// gives 403 Forbidden; failing only 6 gives 401 Unauthorized.
//
// The lock refuses every browser, even one whose cookie is valid, until a
// restart: ten wrong PINs mean someone who does not know the PIN is at the
// console's door, and the safe answer for a tool that runs code on request
// is to run none until the developer restarts the app (and so sees the lock
// in the terminal). Retrying cannot help before then, which is why it is 403
// and not 429.
//
// The decision depends on the time (a cookie expires) and on the lock, so
// a WebSocket must be decided again, with its handshake's request, before
// each message it carries.
func Authorize(g *Guard, r *http.Request) Decision {
	if err := g.CheckPage(r); err != nil {
		return forbidden(err.Error())
	}
	if reason := checkOrigin(r); reason != "" {
		return forbidden(reason)
	}
	if err := g.CheckSecret(r); err != nil {
		return forbidden(err.Error())
	}
	if g.Locked() {
		return forbidden(ErrLocked.Error())
	}
	if err := g.CheckCookie(r); err != nil {
		return Decision{Status: http.StatusUnauthorized, Reason: err.Error()}
	}
	return Decision{Status: http.StatusOK}
}

func forbidden(reason string) Decision {
	return Decision{Status: http.StatusForbidden, Reason: reason}
}

// CheckPage reports whether r may see a traceback page: checks 1 and 2 of
// [Authorize], the remote address and the Host header. The page shows
// source, the request's headers and the page secret, so a request failing
// this, even the one that panicked, should get a plain error page instead.
func (g *Guard) CheckPage(r *http.Request) error {
	return checkPage(r, g.remote, g.trustedHosts)
}

// CheckPageRequest is [Guard.CheckPage] for an app that has no Guard (its
// console is off, or the Guard could not be made): the same rule, from the
// fields of c it depends on (AllowRemote, Allow, Container and
// TrustedHosts). Invalid entries of c.TrustedHosts match nothing, as in
// [TrustedHost].
func CheckPageRequest(r *http.Request, c Config) error {
	return checkPage(r, newRemoteRule(c), validPatterns(c.TrustedHosts))
}

// ErrRemote is what [Guard.CheckPage] and [CheckPageRequest] return, to
// errors.Is, when the remote address is refused. The error's own message
// names the address and how to allow it.
var ErrRemote = errors.New("the remote address is not allowed")

func checkPage(r *http.Request, remote remoteRule, patterns []hostPattern) error {
	if err := remote.check(r.RemoteAddr); err != nil {
		return err
	}
	if !trusted(r.Host, patterns) {
		return fmt.Errorf("the Host header %q is not a trusted host: open the debugger through localhost or 127.0.0.1, or add the name to the trusted hosts", r.Host)
	}
	return nil
}

// checkOrigin implements check 3 of Authorize; it returns a reason to
// refuse, or "".
func checkOrigin(r *http.Request) string {
	ws := isWebSocket(r)
	if site := r.Header.Values("Sec-Fetch-Site"); len(site) > 0 {
		if len(site) > 1 || (site[0] != "same-origin" && site[0] != "none") {
			return fmt.Sprintf("the request was made by another site (Sec-Fetch-Site: %q)", strings.Join(site, ", "))
		}
	}
	origins := r.Header.Values("Origin")
	switch {
	case len(origins) == 0 && ws:
		return "the WebSocket request has no Origin header"
	case len(origins) == 0:
		return ""
	case len(origins) > 1:
		return "the request has more than one Origin header"
	}
	want := "http"
	if r.TLS != nil {
		want = "https"
	}
	if !sameOrigin(origins[0], want, r.Host) {
		return fmt.Sprintf("the Origin %q is not this page's origin %q", origins[0], want+"://"+r.Host)
	}
	return ""
}

// sameOrigin compares an Origin header with scheme://host, host being the
// request's Host; case and a default port do not matter. "null", sent by
// sandboxed frames and file: pages, never matches.
func sameOrigin(origin, scheme, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != scheme || u.Opaque != "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return false
	}
	return strings.EqualFold(stripDefaultPort(u.Host, scheme), stripDefaultPort(host, scheme))
}

func stripDefaultPort(host, scheme string) string {
	port := ":80"
	if scheme == "https" {
		port = ":443"
	}
	return strings.TrimSuffix(host, port)
}

// isWebSocket recognizes a WebSocket handshake over HTTP/1.1 (Upgrade:
// websocket) and over HTTP/2 (extended CONNECT, RFC 8441). It errs towards
// yes: a false yes only demands an Origin header.
func isWebSocket(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return true
	}
	for _, v := range r.Header.Values("Upgrade") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}
