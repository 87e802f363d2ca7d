package pin_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/panicroom/panicroom/pin"
)

// A console endpoint behind the PIN, driven as the page would drive it:
// without the PIN, with the PIN, then with the cookie the PIN earned.
func Example() {
	dir, err := os.MkdirTemp("", "panicroom-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var terminal strings.Builder // os.Stderr in a real app
	guard, err := pin.New(pin.Config{
		Dir:    dir, // the default is os.UserConfigDir()/panicroom
		App:    "example",
		Path:   "/__panicroom__/",
		Output: &terminal,
	})
	if err != nil {
		log.Fatal(err)
	}
	guard.Print()

	authorize := pin.Authorize // or the app's own pin.AuthorizeFunc
	mux := http.NewServeMux()
	mux.HandleFunc("POST /__panicroom__/pin", func(w http.ResponseWriter, r *http.Request) {
		if d := authorize(guard, r); !d.Allowed() && d.Status != http.StatusUnauthorized {
			http.Error(w, d.Reason, d.Status)
			return
		}
		switch err := guard.Verify(r.Context(), r.PostFormValue("pin")); {
		case errors.Is(err, pin.ErrLocked):
			http.Error(w, err.Error(), http.StatusForbidden)
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		default:
			guard.SetCookie(w, r)
		}
	})
	mux.HandleFunc("GET /__panicroom__/eval", func(w http.ResponseWriter, r *http.Request) {
		if d := authorize(guard, r); !d.Allowed() {
			http.Error(w, d.Reason, d.Status)
			return
		}
		fmt.Fprintln(w, "42")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	send := func(method, path string, form url.Values) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(pin.SecretHeader, guard.Secret()) // the page embeds it
		resp, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, body)))
	}

	// The developer reads the PIN off the terminal.
	shown := regexp.MustCompile(`\d{3}-\d{3}-\d{3}`).FindString(terminal.String())

	send("GET", "/__panicroom__/eval", nil)
	send("POST", "/__panicroom__/pin", url.Values{"pin": {"000-000-000"}})
	send("POST", "/__panicroom__/pin", url.Values{"pin": {shown}})
	send("GET", "/__panicroom__/eval", nil)

	// Output:
	// GET /__panicroom__/eval: 401 no PIN cookie: enter the PIN
	// POST /__panicroom__/pin: 401 wrong PIN
	// POST /__panicroom__/pin: 200
	// GET /__panicroom__/eval: 200 42
}
