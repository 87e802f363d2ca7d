//go:build !panicroom_off

package panicroom_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/panicroom/panicroom"
)

// Wrap the app's handler: a panic in any handler answers with its page.
func ExampleWrap() {
	mux := http.NewServeMux()
	mux.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var orders map[string]int
		orders[r.PathValue("id")]++ // a nil map: the page shows this line
	})
	http.ListenAndServe("localhost:8080", panicroom.Wrap(mux))
}

// Keep the Debugger to release its parked goroutines, and stop the
// debugger's helper process, when the server shuts down.
func ExampleNew() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d := panicroom.New(panicroom.WithLogger(logger))
	srv := &http.Server{Addr: "localhost:8080", Handler: d.Wrap(http.NotFoundHandler())}
	srv.RegisterOnShutdown(func() { d.Close() })
	srv.ListenAndServe()
}

// Middleware has the shape routers that take middleware expect: chi's
// r.Use(panicroom.Middleware()), or by hand as here. (Wrap a gorilla/mux
// router instead: its Use runs middleware on matched routes only, and
// panicroom's own pages match none.)
func ExampleMiddleware() {
	mux := http.NewServeMux()
	http.ListenAndServe("localhost:8080", panicroom.Middleware()(mux))
}

// A goroutine the handler starts: its panic gets a page, a log line with
// the page's address and the console, and the server goes on.
func ExampleGo() {
	http.HandleFunc("/thumbnails", func(w http.ResponseWriter, r *http.Request) {
		sizes := []int{640, 320, 0}
		panicroom.Go(func() {
			for _, s := range sizes {
				_ = 1280 / s
			}
		})
		fmt.Fprintln(w, "making thumbnails in the background")
	})
}

// A goroutine started some other way, here one of a sync.WaitGroup's:
// defer Recover at its top.
func ExampleRecover() {
	var wg sync.WaitGroup
	for _, path := range []string{"a.txt", "b.txt"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer panicroom.Recover()
			os.ReadFile(path)
		}()
	}
	wg.Wait()
}

// Stop a handler on a condition and look at its frames in the browser:
// its page is listed at /__panicroom__/ and its address is in the log.
// Continue on the page lets it answer its client.
func ExampleBreakIf() {
	http.HandleFunc("/checkout", func(w http.ResponseWriter, r *http.Request) {
		total := 0
		for _, price := range []int{1200, -300} {
			total += price
		}
		panicroom.BreakIf(total < 1000, r)
		fmt.Fprintln(w, total)
	})
}

// Owns tells a framework adapter which paths are panicroom's own.
func ExampleOwns() {
	fmt.Println(panicroom.Owns("/__panicroom__/static/panicroom.css"))
	fmt.Println(panicroom.Owns("/orders/7"))
	// Output:
	// true
	// false
}
