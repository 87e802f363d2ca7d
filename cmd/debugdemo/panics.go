package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// User is the demo's domain type: the console can read its fields and call
// its methods in any frame that holds one.
type User struct {
	ID      int
	Name    string
	Email   string
	Roles   []string
	Prefs   map[string]string
	Manager *User
	Joined  time.Time
}

// Greeting is a method with a receiver, for calls from the console.
func (u *User) Greeting() string { return "Hello, " + u.Name + "!" }

// Initials has a value receiver and an argument.
func (u User) Initials(sep string) string {
	var parts []string
	for _, w := range strings.Fields(u.Name) {
		parts = append(parts, w[:1])
	}
	return strings.Join(parts, sep)
}

// Store is a tiny in-memory repository.
type Store struct {
	users map[int]*User
	hits  int
}

func newStore() *Store {
	ada := &User{ID: 1, Name: "Ada Lovelace", Email: "ada@example.com", Roles: []string{"admin", "dev"},
		Prefs: map[string]string{"theme": "dark"}, Joined: time.Date(2024, 3, 8, 9, 30, 0, 0, time.UTC)}
	return &Store{users: map[int]*User{1: ada, 2: {ID: 2, Name: "Grace Hopper", Manager: ada}}}
}

func (s *Store) Lookup(id int) *User {
	s.hits++
	return s.users[id]
}

func nilPointer(w http.ResponseWriter, r *http.Request) {
	store := newStore()
	requested := 42
	user := store.Lookup(requested)
	fmt.Fprintf(w, "hello %s", describe(user, "profile"))
}

func describe(u *User, section string) string {
	label := strings.ToUpper(section)
	return label + ": " + u.Name // u is nil for unknown ids
}

type Cart struct {
	Owner *User
	Items map[string]int
}

// Describe has a pointer receiver, as most methods do.
func (c *Cart) Describe() string {
	return fmt.Sprintf("%s's cart, %d items", c.Owner.Name, len(c.Items))
}

func nilMap(w http.ResponseWriter, r *http.Request) {
	// cart never escapes to the heap: it lives in the handler's frame, as
	// most handler locals do, and cart.Describe() in the console hands
	// Describe a pointer into the parked frames.
	cart := &Cart{Owner: newStore().Lookup(1)}
	sku, qty := "sku-1138", 3
	w.Header().Set("X-Cart", cart.Describe())
	cart.Items[sku] = qty
}

func indexOutOfRange(w http.ResponseWriter, r *http.Request) {
	roles := newStore().Lookup(1).Roles
	pick := len(roles) + 1
	fmt.Fprint(w, roles[pick])
}

var ErrNotFound = errors.New("record not found")

type QueryError struct {
	Query string
	Err   error
}

func (e *QueryError) Error() string { return "query " + e.Query + ": " + e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

func loadInvoice(id string) error {
	return &QueryError{Query: "SELECT * FROM invoices WHERE id = $1", Err: ErrNotFound}
}

func wrappedError(w http.ResponseWriter, r *http.Request) {
	invoice := "INV-2024-0042"
	if err := loadInvoice(invoice); err != nil {
		err = fmt.Errorf("rendering invoice %s: %w", invoice, fmt.Errorf("loading: %w", err))
		panic(err)
	}
}

func joinedErrors(w http.ResponseWriter, r *http.Request) {
	form := map[string]string{"email": "not-an-email", "age": "-3"}
	var errs []error
	if !strings.Contains(form["email"], "@") {
		errs = append(errs, fmt.Errorf("email %q: missing @", form["email"]))
	}
	if strings.HasPrefix(form["age"], "-") {
		errs = append(errs, errors.New("age: must be positive"))
	}
	errs = append(errs, &QueryError{Query: "INSERT INTO signups", Err: ErrNotFound})
	panic(errors.Join(errs...))
}

type Order struct {
	ID       string
	Customer *User
	Total    float64
	Lines    []string
}

func structValue(w http.ResponseWriter, r *http.Request) {
	order := Order{ID: "ord_7", Customer: newStore().Lookup(2), Total: 99.5, Lines: []string{"book", "pen"}}
	panic(order)
}

type Node struct {
	Depth    int
	Children []*Node
}

func walk(n *Node, limit int) int {
	if n.Depth == limit {
		var missing *Node
		return missing.Depth
	}
	child := &Node{Depth: n.Depth + 1}
	n.Children = append(n.Children, child)
	return walk(child, limit) + 1
}

func deepRecursion(w http.ResponseWriter, r *http.Request) {
	root := &Node{}
	fmt.Fprint(w, walk(root, 240))
}

func Map[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

func genericClosure(w http.ResponseWriter, r *http.Request) {
	prices := []float64{12.5, 0, 7}
	budget := 100
	ratios := Map(prices, func(p float64) int {
		return budget / int(p) // integer divide by zero on the free item
	})
	fmt.Fprint(w, ratios)
}

func streamed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(w, "row %d\n", i)
	}
	w.(http.Flusher).Flush()
	var rows []string
	_ = rows[3]
}

func abort(w http.ResponseWriter, r *http.Request) {
	panic(http.ErrAbortHandler)
}

func jsonEndpoint(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	var payload struct {
		Items []struct{ SKU string } `json:"items"`
	}
	json.Unmarshal([]byte(`{"items":[]}`), &payload)
	first := payload.Items[0]
	json.NewEncoder(w).Encode(first)
}

type brokenError struct{ code int }

func (e brokenError) Error() string {
	var m map[string]string
	m["code"] = fmt.Sprint(e.code) // the error's own formatting is broken
	return "unreachable"
}

func badError(w http.ResponseWriter, r *http.Request) {
	panic(brokenError{code: 503})
}

func panicNil(w http.ResponseWriter, r *http.Request) {
	var reason any
	panic(reason)
}
