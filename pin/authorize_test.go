package pin

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Request fields in the table: "" means the default of a request that
// passes every check, "-" means absent.
const absent = "-"

func TestAuthorize(t *testing.T) {
	dir := t.TempDir()

	// A cookie signed before the key file was replaced: the rotation that
	// signs every browser out.
	before := newFixture(t, Config{Dir: dir})
	oldKeyCookie := before.g.cookieValue(testNow)
	keyFiles, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	if len(keyFiles) != 1 {
		t.Fatalf("key files: %v", keyFiles)
	}
	if err := os.Remove(keyFiles[0]); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, Config{Dir: dir})
	g := f.g
	if g.pin != before.g.pin {
		t.Fatal("the PIN changed with the key")
	}

	// Same key file, different PIN: what PANICROOM_PIN changing does.
	t.Setenv(EnvVar, otherPIN(g.pin))
	otherPINCookie := newFixture(t, Config{Dir: dir}).g.cookieValue(testNow)
	t.Setenv(EnvVar, "off")
	off := newFixture(t, Config{}).g
	os.Unsetenv(EnvVar)

	locked := newFixture(t, Config{}).g
	lockedCookie := locked.cookieValue(testNow)
	lock(t, locked)

	remote := newFixture(t, Config{
		AllowRemote:  true,
		TrustedHosts: []string{"devbox.test", "*.devbox.test", "192.168.1.20", "fe80::1"},
	}).g

	valid := g.cookieValue(testNow)
	issued := strings.Split(valid, ".")[1]
	forged := "1." + issued + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

	tests := []struct {
		name string
		g    *Guard // nil means g

		remote, host, origin, fetchSite string
		ws, tls                         bool
		secret                          string // "query" sends the right one in the query, "protocol" as a subprotocol
		cookie                          string

		status int
		reason string // a substring of the refusal's Reason
	}{
		{name: "all checks pass", status: 200},
		{name: "localhost without port", host: "localhost", status: 200},
		{name: "upper-case localhost", host: "LOCALHOST:8080", status: 200},
		{name: "subdomain of localhost", host: "app.localhost:8080", status: 200},
		{name: "127.0.0.1", host: "127.0.0.1:8080", status: 200},
		{name: "other 127/8 address", host: "127.0.0.2", remote: "127.0.0.2:41000", status: 200},
		{name: "IPv6 loopback host with port", host: "[::1]:8080", remote: "[::1]:41000", status: 200},
		{name: "IPv6 loopback host without port", host: "[::1]", status: 200},
		{name: "bare IPv6 loopback host", host: "::1", status: 200},
		{name: "IPv4-mapped loopback remote", remote: "[::ffff:127.0.0.1]:41000", status: 200},
		{name: "remote without port", remote: "127.0.0.1", status: 200},
		{name: "IPv6 remote without port", remote: "::1", status: 200},
		{name: "remote with zone", remote: "[::1%lo]:41000", status: 200},
		{name: "websocket, same origin, secret as subprotocol", ws: true, origin: "http://localhost:8080", secret: "protocol", status: 200},
		{name: "websocket over TLS", ws: true, tls: true, host: "localhost:8443", origin: "https://localhost:8443", status: 200},
		{name: "origin with default port spelled out", host: "localhost", origin: "http://localhost:80", status: 200},
		{name: "origin in other case", origin: "http://LocalHost:8080", status: 200},
		{name: "same-origin fetch", origin: "http://localhost:8080", fetchSite: "same-origin", status: 200},

		// DNS rebinding and other untrusted Host headers.
		{name: "rebinding host", host: "evil.example", status: 403, reason: `Host header "evil.example" is not a trusted host`},
		{name: "rebinding host with port", host: "evil.example:8080", status: 403, reason: "not a trusted host"},
		{name: "localhost as a subdomain", host: "localhost.evil.com", status: 403, reason: "not a trusted host"},
		{name: "loopback IP as a subdomain", host: "127.0.0.1.nip.io", status: 403, reason: "not a trusted host"},
		{name: "suffix without dot", host: "evillocalhost", status: 403, reason: "not a trusted host"},
		{name: "empty host", host: absent, status: 403, reason: `Host header "" is not`},
		{name: "trailing dot", host: "localhost.", status: 403, reason: "not a trusted host"},
		{name: "empty port", host: "localhost:", status: 403, reason: "not a trusted host"},
		{name: "port out of range", host: "localhost:65536", status: 403, reason: "not a trusted host"},
		{name: "port zero", host: "localhost:0", status: 403, reason: "not a trusted host"},
		{name: "non-numeric port", host: "localhost:http", status: 403, reason: "not a trusted host"},
		{name: "two ports", host: "localhost:80:80", status: 403, reason: "not a trusted host"},
		{name: "unclosed bracket", host: "[::1", status: 403, reason: "not a trusted host"},
		{name: "junk after bracket", host: "[::1]x", status: 403, reason: "not a trusted host"},
		{name: "IPv4 in brackets", host: "[127.0.0.1]", status: 403, reason: "not a trusted host"},
		{name: "IPv6 zone", host: "[::1%25lo]", status: 403, reason: "not a trusted host"},
		{name: "decimal IPv4", host: "2130706433", status: 403, reason: "not a trusted host"},
		{name: "short IPv4", host: "127.1", status: 403, reason: "not a trusted host"},
		{name: "octal IPv4", host: "0177.0.0.1", status: 403, reason: "not a trusted host"},
		{name: "hex IPv4", host: "0x7f.0.0.1", status: 403, reason: "not a trusted host"},
		{name: "Cyrillic o", host: "l\u043ecalhost", status: 403, reason: "not a trusted host"},
		{name: "fullwidth dot", host: "app\uff0elocalhost", status: 403, reason: "not a trusted host"},
		{name: "percent-encoded dot", host: "evil%2elocalhost", status: 403, reason: "not a trusted host"},
		{name: "userinfo", host: "localhost@evil.example", status: 403, reason: "not a trusted host"},
		{name: "NUL", host: "evil.example\x00.localhost", status: 403, reason: `"evil.example\x00.localhost"`},
		{name: "empty label", host: "a..localhost", status: 403, reason: "not a trusted host"},
		{name: "unspecified address", host: "0.0.0.0:8080", status: 403, reason: "not a trusted host"},

		// Cross-site requests.
		{name: "websocket without origin", ws: true, status: 403, reason: "WebSocket request has no Origin header"},
		{name: "websocket from null origin", ws: true, origin: "null", status: 403, reason: `Origin "null" is not this page's origin "http://localhost:8080"`},
		{name: "websocket from another site", ws: true, origin: "http://evil.example", status: 403, reason: "is not this page's origin"},
		{name: "websocket from another port", ws: true, origin: "http://localhost:9090", status: 403, reason: "is not this page's origin"},
		{name: "websocket from another scheme", ws: true, origin: "https://localhost:8080", status: 403, reason: "is not this page's origin"},
		{name: "websocket over TLS from http", ws: true, tls: true, origin: "http://localhost:8080", status: 403, reason: `this page's origin "https://localhost:8080"`},
		{name: "websocket from a rebinding name", ws: true, origin: "http://evil.example:8080", status: 403, reason: "is not this page's origin"},
		{name: "origin with a path", origin: "http://localhost:8080/x", status: 403, reason: "is not this page's origin"},
		{name: "origin with userinfo", origin: "http://a@localhost:8080", status: 403, reason: "is not this page's origin"},
		{name: "origin not a URL", origin: "localhost:8080", status: 403, reason: "is not this page's origin"},
		{name: "fetch from another site", origin: "http://evil.example", status: 403, reason: "is not this page's origin"},
		{name: "cross-site fetch without origin", fetchSite: "cross-site", status: 403, reason: `another site (Sec-Fetch-Site: "cross-site")`},
		{name: "same-site fetch from another port", fetchSite: "same-site", status: 403, reason: "another site"},

		// The page secret.
		{name: "no secret", secret: absent, status: 403, reason: "no page secret"},
		{name: "wrong secret", secret: "AAAAAAAAAAAAAAAAAAAAAAAAAA", status: 403, reason: "page secret does not match"},
		{name: "secret of another length", secret: "x", status: 403, reason: "page secret does not match"},
		{name: "websocket without secret", ws: true, origin: "http://localhost:8080", secret: absent, status: 403, reason: "no page secret"},
		{name: "secret in the query", secret: "query", status: 403, reason: "sent in the URL, where logs record it"},
		{name: "websocket, secret in the query", ws: true, origin: "http://localhost:8080", secret: "query", status: 403, reason: "sent in the URL"},
		{name: "websocket, wrong secret as subprotocol", ws: true, origin: "http://localhost:8080", secret: "wrong protocol", status: 403, reason: "page secret does not match"},
		{name: "secret as subprotocol of a plain request", secret: "protocol", status: 403, reason: "no page secret"},

		// Remote addresses.
		{name: "LAN client", remote: "192.168.1.5:41000", status: 403, reason: "remote address 192.168.1.5 is not a loopback address"},
		{name: "IPv6 client", remote: "[2001:db8::1]:41000", status: 403, reason: "2001:db8::1 is not a loopback address"},
		{name: "IPv4-mapped LAN client", remote: "[::ffff:10.0.0.1]:41000", status: 403, reason: "not a loopback address"},
		{name: "unspecified remote", remote: "0.0.0.0:41000", status: 403, reason: "not a loopback address"},
		{name: "malformed remote", remote: "malformed remote addr", status: 403, reason: `remote address "malformed remote addr" is not an IP address`},
		{name: "remote name", remote: "localhost:41000", status: 403, reason: "is not an IP address"},
		{name: "Unix socket", remote: "@", status: 403, reason: "is not an IP address"},
		{name: "no remote address", remote: absent, status: 403, reason: "is not an IP address"},
		{name: "remote in brackets without port", remote: "[::1]", status: 403, reason: "is not an IP address"},

		// The PIN cookie.
		{name: "no cookie", cookie: absent, status: 401, reason: "no PIN cookie"},
		{name: "forged cookie", cookie: forged, status: 401, reason: "signature does not match"},
		{name: "old-key cookie", cookie: oldKeyCookie, status: 401, reason: "signature does not match"},
		{name: "cookie for another PIN", cookie: otherPINCookie, status: 401, reason: "signature does not match"},
		{name: "another guard's cookie", cookie: lockedCookie, status: 401, reason: "signature does not match"},
		{name: "malformed cookie", cookie: "garbage", status: 401, reason: "malformed"},
		{name: "cookie of another version", cookie: "2" + valid[1:], status: 401, reason: "malformed"},
		{name: "expired cookie", cookie: g.cookieValue(testNow.Add(-CookieLifetime - time.Second)), status: 401, reason: "expired"},
		{name: "cookie at the end of its life", cookie: g.cookieValue(testNow.Add(-CookieLifetime)), status: 200},
		{name: "future-dated cookie", cookie: g.cookieValue(testNow.Add(2 * time.Minute)), status: 401, reason: "in the future"},
		{name: "cookie from a clock stepped back", cookie: g.cookieValue(testNow.Add(30 * time.Second)), status: 200},

		// Lockout.
		{name: "locked, no cookie", g: locked, cookie: absent, status: 403, reason: "locked after 10 wrong attempts"},
		{name: "locked, cookie from before", g: locked, cookie: lockedCookie, status: 403, reason: "locked after 10 wrong attempts"},
		{name: "locked, host still checked first", g: locked, host: "evil.example", status: 403, reason: "not a trusted host"},

		// PIN off.
		{name: "off, no cookie", g: off, cookie: absent, status: 200},
		{name: "off, host still checked", g: off, cookie: absent, host: "evil.example", status: 403, reason: "not a trusted host"},
		{name: "off, secret still checked", g: off, cookie: absent, secret: absent, status: 403, reason: "no page secret"},
		{name: "off, remote still checked", g: off, cookie: absent, remote: "192.168.1.5:1", status: 403, reason: "not a loopback address"},

		// Remote clients allowed, extra trusted hosts.
		{name: "remote allowed, LAN client", g: remote, remote: "192.168.1.5:41000", host: "devbox.test:8080", status: 200},
		{name: "remote allowed, LAN client without cookie", g: remote, remote: "192.168.1.5:41000", host: "devbox.test:8080", cookie: absent, status: 401, reason: "no PIN cookie"},
		{name: "trusted wildcard", g: remote, host: "a.b.devbox.test", cookie: absent, status: 401},
		{name: "trusted name in other case", g: remote, host: "DevBox.Test", cookie: absent, status: 401},
		{name: "trusted IP", g: remote, host: "192.168.1.20:8080", cookie: absent, status: 401},
		{name: "trusted IPv6", g: remote, host: "[fe80::1]:8080", cookie: absent, status: 401},
		{name: "wildcard does not match its domain", g: remote, host: "xdevbox.test", cookie: absent, status: 403, reason: "not a trusted host"},
		{name: "trusted name as a subdomain", g: remote, host: "devbox.test.evil.com", cookie: absent, status: 403, reason: "not a trusted host"},
		{name: "untrusted IP", g: remote, host: "192.168.1.21", cookie: absent, status: 403, reason: "not a trusted host"},
		{name: "remote allowed, malformed remote", g: remote, remote: "garbage", host: "devbox.test", cookie: absent, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard := tt.g
			if guard == nil {
				guard = g
			}
			r := httptest.NewRequest("GET", "/__panicroom__/eval", nil)
			r.RemoteAddr = orDefault(tt.remote, "127.0.0.1:41000")
			r.Host = orDefault(tt.host, "localhost:8080")
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.ws {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", "websocket")
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			switch tt.secret {
			case "":
				r.Header.Set(SecretHeader, guard.Secret())
			case "query":
				r.URL.RawQuery = url.Values{"secret": {guard.Secret()}}.Encode()
			case "protocol":
				r.Header.Add("Sec-WebSocket-Protocol", "panicroom, "+SecretProtocol+guard.Secret())
			case "wrong protocol":
				r.Header.Add("Sec-WebSocket-Protocol", "panicroom, "+SecretProtocol+"AAAAAAAAAAAAAAAAAAAAAAAAAA")
			case absent:
			default:
				r.Header.Set(SecretHeader, tt.secret)
			}
			switch tt.cookie {
			case "":
				r.AddCookie(&http.Cookie{Name: guard.cookieName, Value: guard.cookieValue(testNow)})
			case absent:
			default:
				r.AddCookie(&http.Cookie{Name: guard.cookieName, Value: tt.cookie})
			}

			d := Authorize(guard, r)
			if d.Status != tt.status || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Authorize = %d %q; want %d with %q", d.Status, d.Reason, tt.status, tt.reason)
			}
			if d.Allowed() != (tt.status == 200) {
				t.Errorf("Allowed() = %t with status %d", d.Allowed(), d.Status)
			}
			if d.Allowed() && d.Reason != "" {
				t.Errorf("allowed with a reason: %q", d.Reason)
			}
		})
	}
}

func orDefault(v, def string) string {
	switch v {
	case "":
		return def
	case absent:
		return ""
	}
	return v
}

func otherPIN(p string) string {
	if p == "111111111" {
		return "222222222"
	}
	return "111111111"
}

func TestZeroDecisionRefuses(t *testing.T) {
	if (Decision{}).Allowed() {
		t.Error("the zero Decision allows")
	}
}

func TestCheckPage(t *testing.T) {
	g := newFixture(t, Config{}).g
	for _, tt := range []struct {
		remote, host string
		ok           bool
	}{
		{"127.0.0.1:1", "localhost:8080", true},
		{"[::1]:1", "[::1]:8080", true},
		{"127.0.0.1:1", "evil.example:8080", false},
		{"192.168.1.5:1", "localhost:8080", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = tt.remote, tt.host
		if err := g.CheckPage(r); (err == nil) != tt.ok {
			t.Errorf("CheckPage(remote %s, Host %s) = %v; want ok %t", tt.remote, tt.host, err, tt.ok)
		}
	}
}

func TestCookieWithOtherCookies(t *testing.T) {
	g := newFixture(t, Config{}).g
	r := httptest.NewRequest("GET", "/__panicroom__/eval", nil)
	r.AddCookie(&http.Cookie{Name: g.cookieName, Value: "planted"})
	r.AddCookie(&http.Cookie{Name: "panicroom_pin_0000000000000000", Value: g.cookieValue(testNow)})
	if err := g.CheckCookie(r); err == nil {
		t.Fatal("accepted a cookie under another app's name")
	}
	r.AddCookie(&http.Cookie{Name: g.cookieName, Value: g.cookieValue(testNow)})
	if err := g.CheckCookie(r); err != nil {
		t.Fatalf("a planted cookie hid the valid one: %v", err)
	}
}

func TestTrustedHostPatterns(t *testing.T) {
	extra := []string{"*.devbox.test", "not a pattern", "10.0.0.7"}
	for host, want := range map[string]bool{
		"localhost:1":        true,
		"a.devbox.test":      true,
		"A.DEVBOX.TEST:8080": true,
		"devbox.test":        false,
		"10.0.0.7:80":        true,
		"[::ffff:10.0.0.7]":  true,
		"not a pattern":      false,
		"10.0.0.8":           false,
	} {
		if got := TrustedHost(host, extra...); got != want {
			t.Errorf("TrustedHost(%q) = %t", host, got)
		}
	}
}

// Over HTTP/2 a WebSocket handshake is an extended CONNECT (RFC 8441)
// with no Upgrade header; it must not slip past the Origin requirement.
func TestWebSocketOverHTTP2NeedsOrigin(t *testing.T) {
	g := newFixture(t, Config{}).g
	r := httptest.NewRequest("CONNECT", "/__panicroom__/console", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8080"
	r.Header.Set(SecretHeader, g.Secret())
	r.AddCookie(&http.Cookie{Name: g.cookieName, Value: g.cookieValue(testNow)})
	if d := Authorize(g, r); d.Status != http.StatusForbidden || !strings.Contains(d.Reason, "no Origin") {
		t.Errorf("Authorize = %+v", d)
	}
	r.Header.Set("Origin", "http://localhost:8080")
	if d := Authorize(g, r); !d.Allowed() {
		t.Errorf("Authorize with Origin = %+v", d)
	}
}
