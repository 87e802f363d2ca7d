// Command chi is a shop whose order page panics, routed by chi with
// panicroom as one of its middlewares.
//
// Build it as a debugger needs, with optimizations off, and open
// http://localhost:8080/orders/7:
//
//	go build -gcflags=all="-N -l" -o /tmp/shop ./chi && /tmp/shop
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/panicroom/panicroom"
)

type Item struct {
	Name  string
	Cents int
}

type Order struct {
	ID       string
	Customer string
	Items    []Item
}

var orders = map[string]Order{
	"1": {ID: "1", Customer: "Ada", Items: []Item{{"tea", 450}, {"scone", 300}}},
	"7": {ID: "7", Customer: "Grace"}, // no items yet
}

// averageCents divides by zero for an order without items.
func averageCents(o Order) int {
	sum := 0
	for _, it := range o.Items {
		sum += it.Cents
	}
	return sum / len(o.Items)
}

func showOrder(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	order, ok := orders[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "order %s for %s: %d items, %d cents on average\n", order.ID, order.Customer, len(order.Items), averageCents(order))
}

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	r := chi.NewRouter()
	// chi runs its middlewares for every request, the ones no route
	// matches too (panicroom's own pages). The middleware registered last
	// is the innermost: panicroom after Recoverer sees the panics first,
	// and Logger, outside both, logs every request, a panicking one with
	// its 500 while panicroom keeps its goroutine for the console.
	r.Use(middleware.Logger, middleware.Recoverer, panicroom.Middleware())
	r.Get("/orders/{id}", showOrder)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s/", ln.Addr())
	log.Fatal(http.Serve(ln, r))
}
