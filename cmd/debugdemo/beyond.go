package main

import (
	"fmt"
	"net/http"

	"github.com/panicroom/panicroom"
)

// breakpoint stops at panicroom.Break: the page has a console on this
// frame, and what it assigns to discount is what the client receives after
// Continue.
func breakpoint(w http.ResponseWriter, r *http.Request) {
	user := newStore().Lookup(1)
	discount := 10
	if r.URL.Query().Has("vip") {
		// Also what lets the console's assignment reach the Fprintf below:
		// the compiler passes a local that is never reassigned as a
		// constant when it is converted to an interface, even with -N.
		discount = 20
	}
	panicroom.Break(r)
	fmt.Fprintf(w, "%s gets a %d%% discount\n", user.Name, discount)
}

// background starts a goroutine that panics: panicroom.Go gives it a page
// and a console, and the server goes on serving.
func background(w http.ResponseWriter, r *http.Request) {
	sizes := []int{640, 320, 0}
	panicroom.Go(func() { thumbnails(sizes) })
	fmt.Fprintln(w, "making thumbnails in the background: the log has the page of its panic")
}

func thumbnails(sizes []int) {
	done := 0
	for _, s := range sizes {
		_ = 1280 / s // the last size is zero
		done++
	}
}
