// Command gin is a shop whose order page panics, served by gin with
// panicroom's middleware in the place of gin's Recovery.
//
// Build it as a debugger needs, with optimizations off, and open
// http://localhost:8080/orders/7:
//
//	go build -gcflags=all="-N -l" -o /tmp/shop ./gin && /tmp/shop
package main

import (
	"flag"
	"log"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	panicroomgin "github.com/panicroom/panicroom/contrib/gin"
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

func showOrder(c *gin.Context) {
	id := c.Param("id")
	order, ok := orders[id]
	if !ok {
		c.String(http.StatusNotFound, "no order %s\n", id)
		return
	}
	c.JSON(http.StatusOK, gin.H{"order": order.ID, "customer": order.Customer, "averageCents": averageCents(order)})
}

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	// gin.New, not gin.Default: the Recovery that gin.Default adds would
	// answer the panics before panicroom sees them.
	r := gin.New()
	r.Use(gin.Logger(), panicroomgin.Recovery())
	r.GET("/orders/:id", showOrder)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s/", ln.Addr())
	log.Fatal(r.RunListener(ln))
}
