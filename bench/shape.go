package bench

import (
	"fmt"
	"net/http"
	"strconv"
)

// The panicking request has the same shape in Go and in the WSGI app
// (werkzeug/app.py): the handler, depth-2 frames of descend, and explode,
// which holds the locals the console benchmarks read, and panics. "Depth"
// counts these app frames; each stack adds its own server and runtime
// frames beneath and above.

// User is what the console reads and calls.
type User struct {
	ID      int
	Name    string
	Email   string
	Manager *User
}

// people is the app's store: its users live on the heap, as an app's
// records do, so that the console may call their methods.
var people = func() map[int]*User {
	ada := &User{ID: 1, Name: "Ada Lovelace", Email: "ada@example.com"}
	return map[int]*User{1: ada, 2: {ID: 2, Name: "Grace Hopper", Email: "grace@example.com", Manager: ada}}
}()

// Greeting is the method the console calls.
func (u *User) Greeting() string { return "Hello, " + u.Name + "!" }

// OK is the healthy handler: five bytes, no allocation.
func OK(w http.ResponseWriter, r *http.Request) { w.Write(hello) }

var hello = []byte("hello")

// Panic panics depth app frames down (?depth=N, default 10, at least 2).
func Panic(w http.ResponseWriter, r *http.Request) {
	depth, _ := strconv.Atoi(r.URL.Query().Get("depth"))
	Descend(max(depth, 2)-1, 7)
}

// Descend is one app frame; at n == 1 it calls Explode.
//
//go:noinline
func Descend(n, total int) {
	if n <= 1 {
		user := people[2]
		items := make([]int, 32)
		for i := range items {
			items[i] = i * i
		}
		if total < 0 {
			// Never taken: it keeps Greeting in the binary, where the
			// linker would drop a method nothing calls, and the console
			// could not call it.
			label := user.Greeting()
			_ = label
		}
		Explode(user, items, total)
		return
	}
	Descend(n-1, total)
}

// Explode writes to a nil map.
//
//go:noinline
func Explode(user *User, items []int, total int) {
	label := fmt.Sprintf("order-%d", total)
	var missing map[string]int
	missing[label] = len(items)
}
