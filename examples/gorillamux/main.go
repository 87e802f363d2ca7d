// Command gorillamux is a shop whose order page panics, routed by
// gorilla/mux, with the whole router wrapped by panicroom.
//
// Build it as a debugger needs, with optimizations off, and open
// http://localhost:8080/orders/7:
//
//	go build -gcflags=all="-N -l" -o /tmp/shop ./gorillamux && /tmp/shop
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/gorilla/mux"
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
	id := mux.Vars(r)["id"]
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

	r := mux.NewRouter()
	r.HandleFunc("/orders/{id}", showOrder).Methods("GET")

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s/", ln.Addr())
	// Around the router, not r.Use(panicroom.Middleware()): mux runs
	// middleware only on the routes it matched, and panicroom's own pages
	// (the traceback page's stylesheets and scripts, its consoles) are on
	// none of them.
	log.Fatal(http.Serve(ln, panicroom.Wrap(r)))
}
