package backend

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/go-delve/delve/service/api"
	"github.com/panicroom/panicroom/internal/debugapi"
)

// loadConfig is what one answer loads; the rest comes through handles.
var loadConfig = proc.LoadConfig{
	FollowPointers:     true,
	MaxVariableRecurse: debugapi.MaxDepth,
	MaxStringLen:       debugapi.MaxString,
	MaxArrayValues:     debugapi.MaxElements,
	MaxStructFields:    -1,
}

// tree converts Delve's variable into our Value. expr evaluates to v in the
// frame of the handle; it is used when v does not live at an address. bi,
// if not nil, places function values in their source.
func tree(bi *proc.BinaryInfo, panicID string, frame int, v *proc.Variable, expr string) debugapi.Value {
	av := api.ConvertVar(v)
	c := converter{bi: bi, panicID: panicID, frame: frame}
	return c.convert(av, expr, nil)
}

// converter holds what every value of one answer shares.
type converter struct {
	bi      *proc.BinaryInfo
	panicID string
	frame   int
}

type ancestor struct {
	addr uint64
	typ  string
}

func hasLen(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map, reflect.Chan:
		return true
	}
	return false
}

// exprOf is an expression that finds v again from anywhere: by address and
// quoted type name, which survives package paths with slashes (Delve
// parses "path.T" in quotes as a type name).
func exprOf(v *api.Variable, fallback string) string {
	if v.Addr != 0 && v.Addr < proc.FakeAddressBase && v.Type != "" {
		return fmt.Sprintf("(*(*%q)(%#x))", v.Type, v.Addr)
	}
	return fallback
}

// convert turns one of Delve's values into the page's, with the fields
// every kind has; each kind's own are its method's below. path is the
// chain of composite values above v, for cutting cycles.
func (cv converter) convert(v *api.Variable, expr string, path []ancestor) debugapi.Value {
	typ := v.Type
	if typ == "" {
		typ = v.RealType
	}
	if typ == "" && v.Kind != reflect.Invalid {
		typ = v.Kind.String() // untyped results of arithmetic
	}
	out := debugapi.Value{
		Name:       goName(v.Name),
		Type:       typ,
		Kind:       v.Kind.String(),
		Len:        -1,
		Cap:        -1,
		Addr:       v.Addr,
		Unreadable: v.Unreadable,
	}
	if v.Kind == reflect.Invalid && v.Type == "" && v.Unreadable == "" {
		out.Kind = "invalid"
	}
	self := exprOf(v, expr)
	if hasLen(v.Kind) {
		out.Len = v.Len
	}
	if v.Kind == reflect.Slice || v.Kind == reflect.Chan {
		out.Cap = v.Cap
	}
	if v.Unreadable != "" {
		return out
	}

	switch v.Kind {
	case reflect.String:
		return cv.str(v, out, self)
	case reflect.Ptr, reflect.UnsafePointer:
		return cv.pointer(v, out, self, path)
	case reflect.Interface:
		return cv.iface(v, out, self, path)
	case reflect.Struct, reflect.Array, reflect.Slice:
		return cv.composite(v, out, self, path)
	case reflect.Map:
		return cv.mapValue(v, out, self, path)
	case reflect.Func:
		return cv.funcValue(v, out)
	case reflect.Chan:
		return cv.chanValue(v, out)
	}
	out.Value = v.Value
	return out
}

// more is the handle that loads the children of the value self names
// from start on.
func (cv converter) more(self string, start int) *debugapi.Handle {
	return &debugapi.Handle{Panic: cv.panicID, Frame: cv.frame, Expr: self, Start: start}
}

// str converts a string, cut at the load limit.
func (cv converter) str(v *api.Variable, out debugapi.Value, self string) debugapi.Value {
	out.Value = strconv.Quote(v.Value)
	if int64(len(v.Value)) < v.Len {
		out.Value += "…"
		out.More = cv.more(self, len(v.Value))
	}
	return out
}

// pointer converts a pointer: its address, and its pointee unless that is an ancestor (a cycle) or not loaded.
func (cv converter) pointer(v *api.Variable, out debugapi.Value, self string, path []ancestor) debugapi.Value {
	if len(v.Children) == 0 || v.Children[0].Addr == 0 {
		out.Value = "nil"
		if v.Kind == reflect.UnsafePointer && v.Value != "" {
			out.Value = v.Value
		}
		return out
	}
	c := &v.Children[0]
	out.Value = fmt.Sprintf("%#x", c.Addr)
	for _, a := range path {
		if a.addr == c.Addr && a.typ == c.Type {
			out.Cut = true
			return out
		}
	}
	if c.OnlyAddr {
		// Expanding a pointer loads its pointee, named as such.
		out.More = &debugapi.Handle{Panic: cv.panicID, Frame: cv.frame, Expr: exprOf(c, "(*"+self+")")}
		return out
	}
	child := cv.convert(c, "(*"+self+")", path)
	child.Name = "*"
	out.Children = []debugapi.Value{child}
	return out
}

// iface converts an interface: its dynamic type, and its value.
func (cv converter) iface(v *api.Variable, out debugapi.Value, self string, path []ancestor) debugapi.Value {
	if len(v.Children) == 0 || (v.Children[0].Kind == reflect.Invalid && v.Children[0].Addr == 0 && (v.Children[0].Type == "" || v.Children[0].Type == "void")) {
		out.Value = "nil" // Delve says "void"
		return out
	}
	c := &v.Children[0]
	out.Value = c.Type
	if isNil(c) {
		// A typed nil in an interface: not == nil, the classic
		// surprise, so say both what it holds and that it is nil.
		out.Value = c.Type + "(nil)"
	}
	if c.OnlyAddr {
		out.More = &debugapi.Handle{Panic: cv.panicID, Frame: cv.frame, Expr: exprOf(c, self+".("+c.Type+")")}
		return out
	}
	child := cv.convert(c, self+".("+c.Type+")", path)
	out.Children = []debugapi.Value{child}
	return out
}

// composite converts a struct, an array or a slice: fields or elements.
func (cv converter) composite(v *api.Variable, out debugapi.Value, self string, path []ancestor) debugapi.Value {
	if v.Addr != 0 {
		path = append(path[:len(path):len(path)], ancestor{v.Addr, v.Type})
	}
	if v.Kind == reflect.Struct {
		out.Value = "{…}"
		if len(v.Children) == 0 && v.Len > 0 {
			out.More = cv.more(self, 0)
			return out
		}
	} else if v.Kind == reflect.Slice && v.Base == 0 {
		out.Value = "nil"
		return out
	} else {
		out.Value = fmt.Sprintf("len %d", v.Len)
	}
	for i := range v.Children {
		c := &v.Children[i]
		var cexpr string
		if v.Kind == reflect.Struct {
			cexpr = self + "." + c.Name
		} else {
			c.Name = "[" + strconv.Itoa(i) + "]"
			cexpr = self + c.Name
		}
		out.Children = append(out.Children, cv.convert(c, cexpr, path))
	}
	if v.Kind != reflect.Struct && int64(len(v.Children)) < v.Len {
		out.More = cv.more(self, len(v.Children))
	}
	return out
}

// mapValue converts a map: its entries, named by their keys.
func (cv converter) mapValue(v *api.Variable, out debugapi.Value, self string, path []ancestor) debugapi.Value {
	if v.Base == 0 {
		out.Value = "nil" // a nil map is what "assignment to entry in nil map" is about
		return out
	}
	out.Value = fmt.Sprintf("len %d", v.Len)
	if v.Addr != 0 {
		path = append(path[:len(path):len(path)], ancestor{v.Addr, v.Type})
	}
	for i := 0; i+1 < len(v.Children); i += 2 {
		k, val := &v.Children[i], &v.Children[i+1]
		child := cv.convert(val, exprOf(val, ""), path)
		child.Name = shortKey(k)
		out.Children = append(out.Children, child)
	}
	if int64(len(v.Children)/2) < v.Len {
		out.More = cv.more(self, len(v.Children)/2)
	}
	return out
}

// funcValue converts a function value: its name and where it is.
func (cv converter) funcValue(v *api.Variable, out debugapi.Value) debugapi.Value {
	out.Value = v.Value
	if out.Value == "" || v.Base == 0 {
		out.Value = "nil"
		return out
	}
	if cv.bi != nil {
		// Where the function is, as a stack trace would say.
		if file, line, fn := cv.bi.PCToLine(v.Base); fn != nil && file != "" {
			out.Value += " (" + shortPath(file) + ":" + strconv.Itoa(line) + ")"
		}
	}
	return out
}

// chanValue converts a channel: its length and capacity.
func (cv converter) chanValue(v *api.Variable, out debugapi.Value) debugapi.Value {
	if v.Base == 0 {
		out.Value = "nil"
		return out
	}
	out.Value = fmt.Sprintf("len %d cap %d", v.Len, v.Cap)
	return out
}

// goName is how a Go programmer names the variable Delve calls name: the
// compiler's ~r0 and ~p0 for unnamed results and parameters become
// "result 0" and "param 0".
func goName(name string) string {
	if len(name) > 2 && name[0] == '~' && (name[1] == 'r' || name[1] == 'p') && strings.Trim(name[2:], "0123456789") == "" {
		return map[byte]string{'r': "result ", 'p': "param "}[name[1]] + name[2:]
	}
	return name
}

// isNil reports whether v is a nil pointer, map, slice, chan or func.
func isNil(v *api.Variable) bool {
	switch v.Kind {
	case reflect.Ptr, reflect.UnsafePointer:
		return len(v.Children) == 0 || v.Children[0].Addr == 0
	case reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		return v.Base == 0
	}
	return false
}

// shortPath keeps the last two elements of a file's path: enough to
// recognize it, short enough for one line.
func shortPath(file string) string {
	i := strings.LastIndexByte(file, '/')
	if i <= 0 {
		return file
	}
	if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
		return file[j+1:]
	}
	return file
}

// shortKey renders a map key in one line.
func shortKey(k *api.Variable) string {
	switch k.Kind {
	case reflect.String:
		return strconv.Quote(k.Value)
	case reflect.Struct, reflect.Array, reflect.Slice, reflect.Map, reflect.Interface, reflect.Ptr:
		s := k.SinglelineString()
		if len(s) > 80 {
			s = s[:80] + "…"
		}
		return s
	}
	if k.Value == "" {
		return strings.TrimSpace(k.SinglelineString())
	}
	return k.Value
}
