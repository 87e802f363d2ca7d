//go:build linux && (amd64 || arm64)

package backend

import (
	"os"
	"testing"
	"unsafe"
)

// TestFrameWriterBounds: the writer of a live assignment writes the
// assigned variable's bytes and refuses any that fall outside them, even
// partly, leaving the memory as it was.
func TestFrameWriterBounds(t *testing.T) {
	var buf [24]byte
	base := uint64(uintptr(unsafe.Pointer(&buf[0])))
	w := frameWriter{liveMemory: liveMemory{pid: os.Getpid()}, lo: base + 8, hi: base + 16}

	if n, err := w.WriteMemory(base+8, []byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil || n != 8 {
		t.Fatalf("write inside the bounds: %d, %v", n, err)
	}
	if buf[8] != 1 || buf[15] != 8 {
		t.Fatalf("the write did not land: % x", buf)
	}
	for _, c := range []struct {
		addr uint64
		n    int
	}{{base, 8}, {base + 12, 8}, {base + 4, 8}, {base + 16, 1}, {base + 7, 1}} {
		if _, err := w.WriteMemory(c.addr, make([]byte, c.n)); err == nil {
			t.Errorf("a write of %d bytes at +%d was let through bounds [+8, +16)", c.n, c.addr-base)
		}
	}
	want := [24]byte{8: 1, 2, 3, 4, 5, 6, 7, 8}
	if buf != want {
		t.Errorf("memory changed by refused writes: % x", buf)
	}
}
