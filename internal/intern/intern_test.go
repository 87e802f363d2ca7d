package intern

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// A name is shared across collections (where unique.Make's table forgets
// it) and never shares its caller's bytes.
func TestNameIsSharedAndCopied(t *testing.T) {
	dump := "goroutine 1 [running]:\nexample.com/app.handler(...)\n"
	name := dump[strings.Index(dump, "example.com"):strings.Index(dump, "(...)")]
	first := Name(name)
	if first != name || unsafe.StringData(first) == unsafe.StringData(name) {
		t.Fatalf("Name(%q) = %q, sharing the caller's bytes: %v", name, first, unsafe.StringData(first) == unsafe.StringData(name))
	}
	runtime.GC()
	runtime.GC()
	again := Name(strings.Clone(name))
	if unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("after a collection the same name is copied again")
	}
	if Name("") != "" {
		t.Error(`Name("") is not ""`)
	}
}

// Past the bound names are still copied, and the table stops growing.
func TestTableIsBounded(t *testing.T) {
	for i := 0; len(table.m) < maxNames; i++ {
		Name("filler." + strconv.Itoa(i))
	}
	src := "past.the.bound.name!"
	got := Name(src[:len(src)-1])
	if got != "past.the.bound.name" || unsafe.StringData(got) == unsafe.StringData(src) {
		t.Errorf("past the bound: %q, sharing the caller's bytes: %v", got, unsafe.StringData(got) == unsafe.StringData(src))
	}
	if len(table.m) != maxNames {
		t.Errorf("the table holds %d names, bound %d", len(table.m), maxNames)
	}
}
