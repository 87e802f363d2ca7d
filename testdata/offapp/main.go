// Command offapp is the smallest app that uses panicroom, for the test
// that builds it with and without -tags panicroom_off and compares what is
// linked in.
package main

import (
	"net/http"

	"github.com/panicroom/panicroom"
)

func main() {
	http.ListenAndServe("localhost:0", panicroom.Wrap(http.NotFoundHandler()))
}
