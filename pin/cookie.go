package pin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// CookieLifetime is how long a browser stays signed in after the PIN.
	CookieLifetime = 7 * 24 * time.Hour

	// clockSkew tolerates a clock stepped back (by NTP, say) since the
	// cookie was issued; anything dated further ahead was not made here.
	clockSkew = time.Minute

	cookieVersion = "1"
)

var (
	errNoCookie      = errors.New("no PIN cookie: enter the PIN")
	errMalformed     = errors.New("the PIN cookie is malformed: enter the PIN again")
	errForged        = errors.New("the PIN cookie's signature does not match (forged, or signed with a key or PIN since replaced): enter the PIN again")
	errExpiredCookie = errors.New("the PIN cookie has expired: enter the PIN again")
	errFutureCookie  = errors.New("the PIN cookie is dated in the future: enter the PIN again")
)

// The cookie value is "1.<issue time, Unix seconds>.<MAC>", the MAC being
// HMAC-SHA256 under the key file's key of the version, the time and the PIN,
// in unpadded base64url. Signing the PIN too means that changing the PIN
// (through PANICROOM_PIN or by deleting the PIN file) also signs every
// browser out, as deleting the key file does.
func (g *Guard) mac(issued string) []byte {
	h := hmac.New(sha256.New, g.key)
	h.Write([]byte("panicroom pin cookie\x00" + cookieVersion + "\x00" + issued + "\x00" + g.pin))
	return h.Sum(nil)
}

func (g *Guard) cookieValue(issued time.Time) string {
	t := strconv.FormatInt(issued.Unix(), 10)
	return cookieVersion + "." + t + "." + base64.RawURLEncoding.EncodeToString(g.mac(t))
}

// checkCookieValue verifies the signature before it believes the time, so
// that nothing about a forged value is acted upon.
func (g *Guard) checkCookieValue(v string) error {
	version, rest, ok := strings.Cut(v, ".")
	if !ok || version != cookieVersion {
		return errMalformed
	}
	issued, sig, ok := strings.Cut(rest, ".")
	if !ok || len(issued) == 0 || len(issued) > 19 || len(sig) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return errMalformed
	}
	for i := 0; i < len(issued); i++ {
		if issued[i] < '0' || issued[i] > '9' {
			return errMalformed
		}
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return errMalformed
	}
	if !hmac.Equal(got, g.mac(issued)) {
		return errForged
	}
	secs, err := strconv.ParseInt(issued, 10, 64)
	if err != nil {
		return errMalformed
	}
	age := g.now().Sub(time.Unix(secs, 0))
	switch {
	case age < -clockSkew:
		return errFutureCookie
	case age > CookieLifetime:
		return errExpiredCookie
	}
	return nil
}

// SetCookie signs the browser in: it sets the PIN cookie, valid for
// [CookieLifetime], on w. Call it after [Guard.Verify] accepted the PIN.
// The cookie is HttpOnly, SameSite=Strict, scoped to the Config's Path, and
// Secure when r came over TLS. SetCookie does nothing when the PIN is off.
func (g *Guard) SetCookie(w http.ResponseWriter, r *http.Request) {
	if g.Off() {
		return
	}
	now := g.now()
	http.SetCookie(w, &http.Cookie{
		Name:     g.cookieName,
		Value:    g.cookieValue(now),
		Path:     g.path,
		Expires:  now.Add(CookieLifetime),
		MaxAge:   int(CookieLifetime / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// CheckCookie reports whether r carries a PIN cookie that this Guard signed
// less than [CookieLifetime] ago, with its current key and PIN. The error
// says what is wrong in words fit for the page. CheckCookie returns nil when
// the PIN is off.
func (g *Guard) CheckCookie(r *http.Request) error {
	if g.Off() {
		return nil
	}
	cookies := r.CookiesNamed(g.cookieName)
	if len(cookies) == 0 {
		return errNoCookie
	}
	// A stale cookie from another path or a planted one may come first;
	// any valid one will do, but a flood of them is not worth the hashing.
	var err error
	for i, c := range cookies {
		if i == 8 {
			break
		}
		if err = g.checkCookieValue(c.Value); err == nil {
			return nil
		}
	}
	return err
}
