// Command offapp is the smallest app that uses panicroom, for the test
// that builds it with and without -tags panicroom_off and compares what is
// linked in. It calls every function an app calls, so that both builds
// must keep their signatures.
package main

import (
	"net/http"

	"github.com/panicroom/panicroom"
)

func main() {
	d := panicroom.New()
	d.Go(func() { defer d.Recover() })
	panicroom.Go(func() { defer panicroom.Recover() })
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		panicroom.BreakIf(r.URL.Query().Has("break"), r)
		d.BreakIf(false, r)
		if panicroom.Owns(r.URL.Path) {
			d.ServeOwn(w, r)
			return
		}
		d.RecoverHTTP(w, r, func(w http.ResponseWriter, r *http.Request) { panicroom.Break(nil); d.Break(r) })
	})
	http.ListenAndServe("localhost:0", panicroom.Wrap(d.Wrap(mux)))
}
