//go:build linux

package devrun

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// The app's exit is seen when the app exits, not when every process that
// shares its stderr (its debugger agent) has closed it; and its last words
// still reach the crash page.
func TestChildDoneBeforeItsStderrCloses(t *testing.T) {
	// sh leaves a sleeping child holding the pipe, as the app leaves its
	// agent, and exits after writing its last line.
	c, err := StartChild("/bin/sh", []string{"-c", "sleep 5 & echo last words >&2; exit 3"}, os.Environ(), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(drainFor):
		t.Fatalf("Done waited for the child's child to close stderr")
	}
	if got := c.Stderr(); !strings.Contains(got, "last words") {
		t.Errorf("Stderr after exit: %q", got)
	}
	if c.ExitCode() != 3 {
		t.Errorf("exit code %d", c.ExitCode())
	}
}
