//go:build !panicroom_off

package panicroom

import (
	"fmt"
	"sync/atomic"
)

// answering counts the panics whose pages are being made (finish) at this
// moment, in the whole process.
var answering atomic.Int32

// burstGoroutines is how many panics may be answered at once before a new
// one leaves out the every-goroutine section. Each capture parses and
// groups every goroutine, and in a burst most goroutines are the burst's
// own: a thousand concurrent panics took a thousand dumps of two thousand
// goroutines each, half a gigabyte of heap and ten times the time of
// their pages without it (TestLoad in reliability/). The first panics of a
// burst keep the section, which shows the burst.
const burstGoroutines = 8

// startAnswering counts a panic as being answered until the returned
// function is called.
func startAnswering() (done func()) {
	answering.Add(1)
	return func() { answering.Add(-1) }
}

// burstSkip says why the panic being answered leaves its goroutines out,
// or "" if it takes them.
func burstSkip() string {
	n := answering.Load()
	if n <= burstGoroutines {
		return ""
	}
	return fmt.Sprintf("not taken for this panic: %d other panics were being answered at the same time, and taking every goroutine's stack for each panic of a burst costs its time and memory over again. The first panics of the burst have them.", n-1)
}
