package bench

import (
	"strconv"
	"testing"
)

// BenchmarkHappyPath is figure 1 in process: the same handler bare, under
// panicroom and under chi's Recoverer.
func BenchmarkHappyPath(b *testing.B) {
	for _, w := range Wrappers {
		b.Run(w.Name, HappyPath(w.Wrap))
	}
}

// BenchmarkPanicToPage is figure 2 in process, without the console.
func BenchmarkPanicToPage(b *testing.B) {
	for _, depth := range []int{10, 20, 50} {
		for _, f := range []struct{ name, accept string }{{"html", "text/html"}, {"text", "text/plain"}} {
			b.Run(f.name+"/"+strconv.Itoa(depth)+"frames", PanicToPage(depth, f.accept))
		}
	}
}
