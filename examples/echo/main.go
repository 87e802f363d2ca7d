// Command echo is a shop whose order page panics, served by echo with
// panicroom's middleware in the place of echo's Recover.
//
// Build it as a debugger needs, with optimizations off, and open
// http://localhost:8080/orders/7:
//
//	go build -gcflags=all="-N -l" -o /tmp/shop ./echo && /tmp/shop
package main

import (
	"flag"
	"log"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	panicroomecho "github.com/panicroom/panicroom/contrib/echo"
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

func showOrder(c echo.Context) error {
	id := c.Param("id")
	order, ok := orders[id]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no order "+id)
	}
	return c.JSON(http.StatusOK, map[string]any{"order": order.ID, "customer": order.Customer, "averageCents": averageCents(order)})
}

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.RequestLogger(), panicroomecho.Recover())
	e.GET("/orders/:id", showOrder)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s/", ln.Addr())
	e.Listener = ln
	log.Fatal(e.Start(""))
}
