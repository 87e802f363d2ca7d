package debugger

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-delve/delve/pkg/proc"
	"github.com/go-delve/delve/service/api"
)

// loadConfig is what one answer loads; the rest comes through handles.
var loadConfig = proc.LoadConfig{
	FollowPointers:     true,
	MaxVariableRecurse: MaxDepth,
	MaxStringLen:       MaxString,
	MaxArrayValues:     MaxElements,
	MaxStructFields:    -1,
}

// tree converts Delve's variable into our Value. expr evaluates to v in the
// frame of the handle; it is used when v does not live at an address.
func tree(panicID string, frame int, v *proc.Variable, expr string) Value {
	av := api.ConvertVar(v)
	return convert(panicID, frame, av, expr, nil)
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

func convert(panicID string, frame int, v *api.Variable, expr string, path []ancestor) Value {
	typ := v.Type
	if typ == "" {
		typ = v.RealType
	}
	if typ == "" && v.Kind != reflect.Invalid {
		typ = v.Kind.String() // untyped results of arithmetic
	}
	out := Value{
		Name:       v.Name,
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
	more := func(start int) *Handle {
		return &Handle{Panic: panicID, Frame: frame, Expr: self, Start: start}
	}
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
		out.Value = strconv.Quote(v.Value)
		if int64(len(v.Value)) < v.Len {
			out.Value += "…"
			out.More = more(len(v.Value))
		}
		return out
	case reflect.Ptr, reflect.UnsafePointer:
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
			out.More = &Handle{Panic: panicID, Frame: frame, Expr: exprOf(c, "(*"+self+")")}
			return out
		}
		child := convert(panicID, frame, c, "(*"+self+")", path)
		child.Name = "*"
		out.Children = []Value{child}
		return out
	case reflect.Interface:
		if len(v.Children) == 0 || (v.Children[0].Kind == reflect.Invalid && v.Children[0].Addr == 0 && v.Children[0].Type == "") {
			out.Value = "nil"
			return out
		}
		c := &v.Children[0]
		out.Value = c.Type
		if c.OnlyAddr {
			out.More = &Handle{Panic: panicID, Frame: frame, Expr: exprOf(c, self+".("+c.Type+")")}
			return out
		}
		child := convert(panicID, frame, c, self+".("+c.Type+")", path)
		out.Children = []Value{child}
		return out
	case reflect.Struct, reflect.Array, reflect.Slice:
		if v.Addr != 0 {
			path = append(path[:len(path):len(path)], ancestor{v.Addr, v.Type})
		}
		if v.Kind == reflect.Struct {
			out.Value = "{…}"
			if len(v.Children) == 0 && v.Len > 0 {
				out.More = more(0)
				return out
			}
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
			out.Children = append(out.Children, convert(panicID, frame, c, cexpr, path))
		}
		if v.Kind != reflect.Struct && int64(len(v.Children)) < v.Len {
			out.More = more(len(v.Children))
		}
		return out
	case reflect.Map:
		out.Value = fmt.Sprintf("len %d", v.Len)
		if v.Addr != 0 {
			path = append(path[:len(path):len(path)], ancestor{v.Addr, v.Type})
		}
		for i := 0; i+1 < len(v.Children); i += 2 {
			k, val := &v.Children[i], &v.Children[i+1]
			child := convert(panicID, frame, val, exprOf(val, ""), path)
			child.Name = shortKey(k)
			out.Children = append(out.Children, child)
		}
		if int64(len(v.Children)/2) < v.Len {
			out.More = more(len(v.Children) / 2)
		}
		return out
	case reflect.Func:
		out.Value = v.Value
		if out.Value == "" {
			out.Value = "nil"
		}
		return out
	case reflect.Chan:
		out.Value = fmt.Sprintf("len %d cap %d", v.Len, v.Cap)
		return out
	}
	out.Value = v.Value
	return out
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
