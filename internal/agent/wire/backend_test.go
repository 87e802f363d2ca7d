package wire

import (
	"strings"
	"testing"
)

func TestChooseBackend(t *testing.T) {
	for _, c := range []struct {
		value, goos string
		want        string
		err         []string // each must appear in the error
	}{
		{"", "linux", BackendNative, nil},
		{"", "darwin", BackendStub, nil},
		{"native", "linux", BackendNative, nil},
		{"lldb", "linux", BackendStub, nil},
		{"lldb", "darwin", BackendStub, nil},
		{"native", "darwin", "", []string{"not available on macOS", "debugserver"}},
		{"gdb", "linux", "", []string{`"gdb" is not a backend`, `"native"`, `"lldb"`, "PANICROOM_BACKEND"}},
		{"LLDB", "linux", "", []string{`"LLDB" is not a backend`, `"lldb"`}},
	} {
		got, err := ChooseBackend(c.value, c.goos)
		if got != c.want {
			t.Errorf("ChooseBackend(%q, %q) = %q, want %q", c.value, c.goos, got, c.want)
		}
		if (err != nil) != (c.err != nil) {
			t.Errorf("ChooseBackend(%q, %q) error = %v, want an error: %v", c.value, c.goos, err, c.err != nil)
			continue
		}
		for _, s := range c.err {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("ChooseBackend(%q, %q) error %q does not say %q", c.value, c.goos, err, s)
			}
		}
	}
}
