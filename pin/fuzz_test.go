package pin

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCookie checks that no cookie value crashes the parser and that the
// only values accepted are exactly the ones SetCookie would have made:
// nothing malleable, nothing forged.
func FuzzCookie(f *testing.F) {
	g := &Guard{pin: "123456789", key: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return testNow }}
	for _, v := range []string{
		g.cookieValue(testNow),
		g.cookieValue(testNow.Add(-CookieLifetime)),
		g.cookieValue(testNow.Add(time.Minute)),
		g.cookieValue(time.Unix(0, 0)),
		"1.1773500566.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.99999999999999999999." + strings.Repeat("A", 43),
		"2." + g.cookieValue(testNow)[2:],
		"", ".", "1..", "garbage", "1.-5.x", "1.1e9.x",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if g.checkCookieValue(v) != nil {
			return
		}
		issued := strings.Split(v, ".")[1]
		secs, err := strconv.ParseInt(issued, 10, 64)
		if err != nil {
			t.Fatalf("accepted %q with an unreadable time", v)
		}
		if want := g.cookieValue(time.Unix(secs, 0)); v != want {
			t.Fatalf("accepted %q; SetCookie would have made %q", v, want)
		}
	})
}

// FuzzTrustedHost checks TrustedHost against a slow, obvious restatement of
// the default rule: whatever it accepts must be, once the port is removed
// and the case folded, localhost, a name under .localhost, or a loopback IP.
func FuzzTrustedHost(f *testing.F) {
	for _, h := range []string{
		"localhost", "localhost:8080", "LOCALHOST", "a.localhost:1", "127.0.0.1", "127.0.0.1:65535",
		"[::1]", "[::1]:8080", "::1", "[::ffff:127.0.0.1]:80",
		"", "localhost.", "localhost:", "localhost:0", "localhost.evil.com", "127.0.0.1.nip.io",
		"evil.com", "[::1", "[::1%25lo]", "l\u043ecalhost", "\u212alocalhost", "2130706433", "0x7f.1",
		"a..localhost", "-a.localhost", "localhost\x00", strings.Repeat("a.", 130) + "localhost",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !TrustedHost(host) {
			return
		}
		for i := 0; i < len(host); i++ {
			if host[i] >= 0x80 || host[i] < 0x20 {
				t.Fatalf("accepted %q, which is not printable ASCII", host)
			}
		}
		name := host
		if strings.HasPrefix(name, "[") {
			name = name[1:strings.IndexByte(name, ']')]
		} else if strings.Count(name, ":") == 1 {
			name = name[:strings.IndexByte(name, ':')]
		}
		name = strings.ToLower(name)
		if ip, err := netip.ParseAddr(name); err == nil {
			if !ip.Unmap().IsLoopback() {
				t.Fatalf("accepted %q, a non-loopback IP", host)
			}
			return
		}
		if name != "localhost" && !strings.HasSuffix(name, ".localhost") {
			t.Fatalf("accepted %q, which names %q", host, name)
		}
	})
}
