package traceback

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestRequestOfMasksSecrets(t *testing.T) {
	r := httptest.NewRequest("POST", "http://user:hunter2@example.com/login?next=/home&api_key=abc123&Token=t0k", strings.NewReader("password=body-secret"))
	r.Header.Set("Authorization", "Bearer xyz")
	r.Header.Set("Cookie", "session=s3cr3t")
	r.Header.Set("X-Api-Key", "k3y")
	r.Header.Set("X-Request-Id", "req-1")
	r.Header.Set("Proxy-Authorization", "Basic p")
	r.Form = url.Values{"password": {"pw"}, "username": {"ada"}, "csrf_token": {"c"}}

	got := RequestOf(r)
	all := strings.Join([]string{got.URL, fieldsString(got.Header), fieldsString(got.Query), fieldsString(got.Form)}, "\n")
	for _, secret := range []string{"hunter2", "abc123", "t0k", "xyz", "s3cr3t", "k3y", "Basic p", "pw", "=c"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q leaked:\n%s", secret, all)
		}
	}
	for _, visible := range []string{"req-1", "next=/home", "ada", "X-Request-Id", "api_key=" + Mask} {
		if !strings.Contains(all, visible) {
			t.Errorf("%q should be visible:\n%s", visible, all)
		}
	}
	// The body was not read: the handler still owns it.
	if b := make([]byte, 8); func() int { n, _ := r.Body.Read(b); return n }() == 0 {
		t.Error("RequestOf consumed the body")
	}
}

func TestRequestOfLeavesUnparsedFormAlone(t *testing.T) {
	r := httptest.NewRequest("POST", "/x", strings.NewReader("a=b"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := RequestOf(r); got.Form != nil || r.Form != nil {
		t.Errorf("form parsed by RequestOf: %+v", got.Form)
	}
}

func fieldsString(fs []Field) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Name + "=" + f.Value + "\n")
	}
	return b.String()
}
