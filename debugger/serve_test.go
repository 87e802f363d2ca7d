//go:build linux

package debugger

import (
	"errors"
	"strings"
	"testing"
)

func TestHasCall(t *testing.T) {
	for expr, want := range map[string]bool{
		"u.Name":                   false,
		"len(items) + cap(items)":  false,
		"u.Greeting()":             true,
		"main.settings.Greeting()": true,
		"m[f(1)]":                  true,
		"x = g()":                  false, // not an expression: assignments are split first
		"(":                        false,
	} {
		if got := hasCall(expr); got != want {
			t.Errorf("hasCall(%q) = %v, want %v", expr, got, want)
		}
	}
}

func TestCallErrorsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct{ delve, expr, want string }{
		{"main.settings has no member Greeting", "main.settings.Greeting()", "linker drops methods"},
		{"could not find symbol main.nosuch", "main.nosuch()", "no such function"},
		{"can not call optimized function strconv.Itoa when regabi is in use", "strconv.Itoa(7)", "-gcflags=all"},
	} {
		err := callError(errors.New(tc.delve), tc.expr)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("callError(%q) = %q, want it to mention %q", tc.delve, err, tc.want)
		}
	}
}
