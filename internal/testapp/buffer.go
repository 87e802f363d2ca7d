package testapp

import (
	"strings"
	"sync"
)

// A Buffer is an io.Writer that can be read while other goroutines write
// to it: a process's standard error, a logger's or a terminal's output,
// kept for assertions.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
