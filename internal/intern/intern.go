// Package intern keeps one copy of the names that remembered panics hold:
// function and file names of goroutine sections, and the function, type,
// kind and variable names of console snapshots. Each panic would otherwise
// keep a copy per frame or per value, while a program has a bounded
// vocabulary of them that every panic repeats.
//
// unique.Make is not enough here: the strings are kept, not its handles,
// so its table forgets a string at the next collection, and a panic after
// that copies it again. This table keeps what it has seen, up to a bound.
package intern

import (
	"strings"
	"sync"
)

// maxNames bounds the table: about a megabyte of names at most. Past it a
// name is still copied out of its caller's backing array, but not shared.
const maxNames = 1 << 14

var table = struct {
	sync.Mutex
	m map[string]string
}{m: make(map[string]string)}

// Name returns s, or an equal string from an earlier call. The result
// never shares s's backing array: a substring of a goroutine dump or of a
// decoded message would keep all of it alive.
func Name(s string) string {
	if s == "" {
		return ""
	}
	table.Lock()
	defer table.Unlock()
	if v, ok := table.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(table.m) < maxNames {
		table.m[v] = v
	}
	return v
}
