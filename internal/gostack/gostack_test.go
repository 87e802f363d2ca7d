package gostack

import (
	"strings"
	"testing"
)

func TestSplitCall(t *testing.T) {
	for in, want := range map[string][2]string{
		"main.(*T).work(0x1, 0x2)":      {"main.(*T).work", "0x1, 0x2"},
		"main.Map[...](...)":            {"main.Map[...]", "..."},
		"panic({0x4cdf40?, 0x4f6750?})": {"panic", "{0x4cdf40?, 0x4f6750?}"},
		"main.main()":                   {"main.main", ""},
	} {
		fn, args := splitCall(in)
		if fn != want[0] || args != want[1] {
			t.Errorf("splitCall(%q) = %q, %q", in, fn, args)
		}
	}
}

func TestFileLine(t *testing.T) {
	for in, want := range map[string]struct {
		file string
		line int
	}{
		"\t/src/app/main.go:12 +0x1d":                   {"/src/app/main.go", 12},
		"\t/src/app/main.go:12":                         {"/src/app/main.go", 12},
		"\t/my dir/a:b.go:7 +0x1d fp=0x1 sp=0x2 pc=0x3": {"/my dir/a:b.go", 7},
		"\tC:/Users/me/main.go:3 +0x9":                  {"C:/Users/me/main.go", 3},
	} {
		if f, l := fileLine(in); f != want.file || l != want.line {
			t.Errorf("fileLine(%q) = %q, %d", in, f, l)
		}
	}
}

// dump is what runtime.Stack(buf, true) writes: three workers blocked on
// the same line for different times, one of them created by the same go
// statement from another goroutine, and one that panicked.
const dump = `goroutine 7 [running]:
main.handler(0xc000010000)
	/src/app/main.go:20 +0x1d
created by main.main in goroutine 1
	/src/app/main.go:40 +0x55

goroutine 8 [chan receive, 3 minutes]:
main.worker(0x1)
	/src/app/main.go:30 +0x1d
created by main.main in goroutine 1
	/src/app/main.go:35 +0x55

goroutine 9 [chan receive]:
main.worker(0x2)
	/src/app/main.go:30 +0x1d
created by main.main in goroutine 1
	/src/app/main.go:35 +0x55

goroutine 10 [chan receive, 1 minute, locked to thread]:
main.worker(0x3)
	/src/app/main.go:30 +0x1d
created by main.main in goroutine 1
	/src/app/main.go:35 +0x55

goroutine 11 [chan receive, 5 minutes]:
main.worker(0x4)
	/src/app/main.go:30 +0x1d
created by main.main in goroutine 7
	/src/app/main.go:35 +0x55
`

func TestGroupOf(t *testing.T) {
	gs := Parse(strings.Split(dump, "\n"))
	if len(gs) != 5 {
		t.Fatalf("%d goroutines, want 5", len(gs))
	}
	groups := GroupOf(gs, 7)
	if len(groups) != 3 {
		t.Fatalf("%d groups, want 3 (the panicking one, the workers, the locked worker): %+v", len(groups), groups)
	}
	if !groups[0].Crashed || groups[0].IDs[0] != 7 {
		t.Errorf("first group %+v, want goroutine 7 alone", groups[0])
	}
	w := groups[1]
	if len(w.IDs) != 3 || w.IDs[0] != 8 || w.IDs[2] != 11 || w.State != "chan receive" || w.Crashed {
		t.Errorf("workers %+v, want 8, 9 and 11 in chan receive", w)
	}
	if w.MinWait != 0 || w.MaxWait != 5 || WaitText(w.MinWait, w.MaxWait) != "0–5 minutes" {
		t.Errorf("wait %d–%d (%q), want 0–5", w.MinWait, w.MaxWait, WaitText(w.MinWait, w.MaxWait))
	}
	if len(w.Attrs) != 0 {
		t.Errorf("attrs %q: the minutes belong to MinWait/MaxWait", w.Attrs)
	}
	if l := groups[2]; len(l.IDs) != 1 || len(l.Attrs) != 1 || l.Attrs[0] != "locked to thread" || WaitText(l.MinWait, l.MaxWait) != "1 minute" {
		t.Errorf("locked worker %+v", l)
	}
	if w.CreatedBy == nil || w.CreatedBy.Function != "main.main" || w.CreatedBy.Line != 35 {
		t.Errorf("created by %+v", w.CreatedBy)
	}
	if g := GroupOf(gs, -1); len(g) != 3 || len(g[1].IDs) != 3 {
		t.Errorf("without a goroutine alone: %d groups", len(g))
	}
}

func TestParseHeader(t *testing.T) {
	for in, want := range map[string]struct {
		id      int
		bracket string
		ok      bool
	}{
		"goroutine 7 [chan receive, 2 minutes]:":                 {7, "chan receive, 2 minutes", true},
		"goroutine 1 gp=0xc000002380 m=0 mp=0x5d2c40 [running]:": {1, "running", true},
		"goroutine 12 [select (no cases)]:":                      {12, "select (no cases)", true},
		"goroutine 7 [running]":                                  {0, "", false},
		"goroutine x [running]:":                                 {0, "", false},
		"goroutine 7 running [x]:":                               {0, "", false},
		"goroutine 7 [a]b]:":                                     {0, "", false},
		"goroutine running on other thread; stack unavailable":   {0, "", false},
	} {
		id, b, ok := parseHeader(in)
		if id != want.id || b != want.bracket || ok != want.ok {
			t.Errorf("parseHeader(%q) = %d, %q, %v", in, id, b, ok)
		}
	}
	for in, want := range map[string]struct {
		fn string
		in int
	}{
		"created by main.main in goroutine 1":                 {"main.main", 1},
		"created by main.main":                                {"main.main", 0},
		"created by net/http.(*Server).Serve in goroutine 33": {"net/http.(*Server).Serve", 33},
	} {
		if fn, n, ok := parseCreated(in); fn != want.fn || n != want.in || !ok {
			t.Errorf("parseCreated(%q) = %q, %d, %v", in, fn, n, ok)
		}
	}
}
