package pin

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSetCookie(t *testing.T) {
	f := newFixture(t, Config{Path: "/__panicroom__/"})
	for _, overTLS := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/__panicroom__/pin", nil)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		f.g.SetCookie(rec, r)
		header := rec.Header().Values("Set-Cookie")
		if len(header) != 1 {
			t.Fatalf("Set-Cookie: %q", header)
		}
		c, err := http.ParseSetCookie(header[0])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Name, "panicroom_pin_") || c.Path != "/__panicroom__/" ||
			!c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != overTLS ||
			c.MaxAge != 7*24*60*60 || !c.Expires.Equal(testNow.Add(CookieLifetime).Truncate(time.Second)) {
			t.Errorf("TLS %t: Set-Cookie: %s", overTLS, header[0])
		}
		if strings.Contains(c.Value, f.g.pin) {
			t.Error("the cookie carries the PIN")
		}
		r = httptest.NewRequest("GET", "/__panicroom__/eval", nil)
		r.AddCookie(c)
		if err := f.g.CheckCookie(r); err != nil {
			t.Errorf("CheckCookie of a fresh cookie: %v", err)
		}
	}
}

func TestCookieDefaultPath(t *testing.T) {
	g, err := New(Config{Dir: t.TempDir(), App: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if c := signIn(t, g); c.Path != "/" {
		t.Errorf("Path %q; want /", c.Path)
	}
}

func TestCookieLifetime(t *testing.T) {
	f := newFixture(t, Config{})
	c := signIn(t, f.g)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	for _, tt := range []struct {
		advance time.Duration
		ok      bool
	}{
		{0, true},
		{CookieLifetime - time.Second, true},
		{time.Second, true}, // exactly CookieLifetime
		{time.Second, false},
	} {
		f.clock.Advance(tt.advance)
		if err := f.g.CheckCookie(r); (err == nil) != tt.ok {
			t.Errorf("at %v: CheckCookie = %v", f.clock.Now().Sub(testNow), err)
		}
	}
}

func TestCookieMalformed(t *testing.T) {
	g := newFixture(t, Config{}).g
	valid := g.cookieValue(testNow)
	parts := strings.Split(valid, ".")
	for _, v := range []string{
		"",
		".",
		"..",
		"1..",
		"1." + parts[1],
		"1." + parts[1] + ".",
		"1." + parts[1] + "." + parts[2] + ".",
		"1.+" + parts[1][1:] + "." + parts[2],
		"1.-1." + parts[2],
		"1. " + parts[1][1:] + "." + parts[2],
		"1." + parts[1] + "." + parts[2] + "=",
		"1." + parts[1] + ".+" + parts[2][1:],
		"1." + parts[1] + "./" + parts[2][1:],
		"1." + strings.Repeat("9", 20) + "." + parts[2],
		"01." + parts[1] + "." + parts[2],
	} {
		if err := g.checkCookieValue(v); err == nil {
			t.Errorf("accepted %q", v)
		}
	}
	if err := g.checkCookieValue(valid); err != nil {
		t.Errorf("refused the valid %q: %v", valid, err)
	}
}

// The last base64 character of a 32-byte MAC carries two unused bits; a
// lenient decoder would accept four spellings of one signature.
func TestCookieSignatureIsCanonical(t *testing.T) {
	g := newFixture(t, Config{}).g
	valid := g.cookieValue(testNow)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	accepted := 0
	for _, c := range alphabet {
		if g.checkCookieValue(valid[:len(valid)-1]+string(c)) == nil {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d spellings of the signature accepted", accepted)
	}
}
