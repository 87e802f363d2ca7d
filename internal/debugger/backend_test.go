package debugger

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
		{"", "linux", backendNative, nil},
		{"", "darwin", backendStub, nil},
		{"native", "linux", backendNative, nil},
		{"lldb", "linux", backendStub, nil},
		{"lldb", "darwin", backendStub, nil},
		{"native", "darwin", "", []string{"not available on macOS", "debugserver"}},
		{"gdb", "linux", "", []string{`"gdb" is not a backend`, `"native"`, `"lldb"`, "PANICROOM_BACKEND"}},
		{"LLDB", "linux", "", []string{`"LLDB" is not a backend`, `"lldb"`}},
	} {
		got, err := chooseBackend(c.value, c.goos)
		if got != c.want {
			t.Errorf("chooseBackend(%q, %q) = %q, want %q", c.value, c.goos, got, c.want)
		}
		if (err != nil) != (c.err != nil) {
			t.Errorf("chooseBackend(%q, %q) error = %v, want an error: %v", c.value, c.goos, err, c.err != nil)
			continue
		}
		for _, s := range c.err {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("chooseBackend(%q, %q) error %q does not say %q", c.value, c.goos, err, s)
			}
		}
	}
}
