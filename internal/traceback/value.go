package traceback

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"unicode/utf8"
)

// Value describes the value a goroutine panicked with.
type Value struct {
	// Type is the dynamic type, as %T prints it.
	Type string `json:"type"`
	// Message is the value as text: Error() for errors, String() for
	// Stringers, %+v for the rest.
	Message string `json:"message"`
	// Category is one of "runtime error", "error", "nil", "value", or
	// "breakpoint" for a goroutine stopped by panicroom.Break.
	Category string `json:"category"`
	// Chain is the error tree below the value (errors.Unwrap and
	// errors.Join), outermost first; empty for non-errors and for errors
	// that wrap nothing.
	Chain []Link `json:"chain,omitempty"`
	// MethodPanic is set when the value's Error or String method itself
	// panicked; Message is then %#v-like, built without calling it.
	MethodPanic string `json:"methodPanic,omitempty"`
}

// Link is one error in a chain.
type Link struct {
	Type        string `json:"type"`
	Message     string `json:"message"`
	MethodPanic string `json:"methodPanic,omitempty"`
	// Branches holds the errors of an errors.Join or any error with
	// Unwrap() []error; a plain wrap continues in the parent's list.
	Branches [][]Link `json:"branches,omitempty"`
}

// Limits that keep a hostile or enormous value from exhausting the page.
const (
	maxMessage    = 16 << 10
	maxChainDepth = 32
	maxBranches   = 32
)

// ValueOf describes v. It never panics: a method that panics while being
// asked for text is reported in MethodPanic.
func ValueOf(v any) Value {
	out := Value{Type: typeName(v)}
	switch x := v.(type) {
	case nil:
		// Only reachable with GODEBUG=panicnil=1; otherwise panic(nil)
		// arrives as *runtime.PanicNilError.
		out.Category = "nil"
		out.Message = "panic(nil)"
		return out
	case *runtime.PanicNilError:
		out.Category = "nil"
		out.Message, out.MethodPanic = errorText(x)
		return out
	case runtime.Error:
		out.Category = "runtime error"
		out.Message, out.MethodPanic = errorText(x)
		out.Chain = chainBelow(x, 0)
		return out
	case error:
		out.Category = "error"
		out.Message, out.MethodPanic = errorText(x)
		out.Chain = chainBelow(x, 0)
		return out
	case fmt.Stringer:
		out.Category = "value"
		out.Message, out.MethodPanic = call(x.String, v)
		return out
	}
	out.Category = "value"
	out.Message, out.MethodPanic = call(func() string { return fmt.Sprintf("%+v", v) }, v)
	return out
}

// chainBelow lists what err wraps, depth-limited so that a cyclic Unwrap
// cannot loop forever.
func chainBelow(err error, depth int) []Link {
	var out []Link
	for depth < maxChainDepth {
		next, branches, p := unwrap(err)
		if p != "" {
			if len(out) > 0 {
				out[len(out)-1].MethodPanic = "Unwrap panicked: " + p
			}
			return out
		}
		if branches != nil {
			if len(out) == 0 {
				// The joined error is the panic value itself, whose message the
				// page already shows: its link only names the type.
				out = append(out, Link{Type: typeName(err)})
			}
			last := &out[len(out)-1]
			for i, b := range branches {
				if i == maxBranches {
					break
				}
				if b == nil {
					continue
				}
				last.Branches = append(last.Branches, append([]Link{link(b)}, chainBelow(b, depth+1)...))
			}
			return out
		}
		if next == nil {
			return out
		}
		out = append(out, link(next))
		err = next
		depth++
	}
	return out
}

func link(err error) Link {
	l := Link{Type: typeName(err)}
	l.Message, l.MethodPanic = errorText(err)
	return l
}

func unwrap(err error) (next error, branches []error, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = describeRecovered(r)
		}
	}()
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		bs := u.Unwrap()
		if bs == nil {
			bs = []error{}
		}
		return nil, bs, ""
	}
	return errors.Unwrap(err), nil, ""
}

func errorText(err error) (string, string) { return call(err.Error, err) }

// call runs a user method that produces text, recovering a panic inside it.
// When it panics, the fallback text is built with reflection only.
func call(method func() string, v any) (text, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = describeRecovered(r)
			text = fallbackText(v)
		}
	}()
	return clip(method()), ""
}

// describeRecovered formats the value of a nested panic without calling its
// methods, which could panic again.
func describeRecovered(r any) string {
	switch x := r.(type) {
	case string:
		return clip(x)
	case error:
		s, p := call(x.Error, x)
		if p != "" {
			return fmt.Sprintf("%T (whose Error method panics too)", x)
		}
		return s
	}
	return fmt.Sprintf("%T", r)
}

// fallbackText prints v without any of its methods: fmt's %#v calls
// GoString, so reflection's view of the kind and address is all we trust.
func fallbackText(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Slice:
		return fmt.Sprintf("(%s) %#x", typeName(v), rv.Pointer())
	case reflect.String:
		return clip(rv.String())
	}
	return fmt.Sprintf("(%s) value", typeName(v))
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}
