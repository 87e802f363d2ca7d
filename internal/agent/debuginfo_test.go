package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// TestStrippedBinaryIsExplained builds a tiny program the way go run does
// (-ldflags=-w) and checks that the agent is not started and the status says
// why and what to do.
func TestStrippedBinaryIsExplained(t *testing.T) {
	// Elsewhere the platform is the reason given, not the debug information.
	testapp.SkipWithoutConsole(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		ldflags, want, fixture string
	}{
		{"-w", "unavailable | the binary has no debug information", "status-stripped"},
		{"-compressdwarf=false", "attaching", "status"},
	} {
		exe, prebuilt, err := testapp.Prebuilt(tc.fixture)
		if err != nil {
			t.Fatal(err)
		}
		if !prebuilt {
			exe = filepath.Join(dir, "prog")
			build := exec.Command("go", "build", "-ldflags="+tc.ldflags, "-o", exe, "./testdata/status")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building: %v\n%s", err, out)
			}
		}
		// The status is the program's standard output; what the agent logs
		// goes to standard error (on a platform without the SIGTRAP guard,
		// a warning that says so came first, and the test read it as the
		// status).
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "PANICROOM_AGENT=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("running: %v\n%s%s", err, out, stderr.String())
		}
		if !strings.HasPrefix(strings.TrimSpace(string(out)), tc.want) {
			t.Errorf("-ldflags=%s: status %q, want it to start with %q", tc.ldflags, out, tc.want)
		}
		if tc.ldflags == "-w" && !strings.Contains(string(out), `-gcflags=all="-N -l -dwarf=true" -ldflags="-s=false -w=false"`) {
			t.Errorf("the fix does not give the flags: %q", out)
		}
	}
}

// TestCompressedDebugInfoIsSeen: the Go linker's default, compressed DWARF,
// is told from -ldflags=-compressdwarf=false, for the line that says how to
// halve the time to a ready console.
func TestCompressedDebugInfoIsSeen(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build with")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module prog\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for ldflags, want := range map[string]bool{"": true, "-compressdwarf=false": false} {
		exe := filepath.Join(dir, "prog"+ldflags)
		build := exec.Command("go", "build", "-ldflags="+ldflags, "-o", exe, ".")
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building: %v\n%s", err, out)
		}
		if got := debugInfoOf(exe); !got.present || got.compressed != want {
			t.Errorf("-ldflags=%q: %+v, want present and compressed %v", ldflags, got, want)
		}
	}
	if got := debugInfoOf(filepath.Join(dir, "main.go")); got.compressed {
		t.Error("a file that is no binary was taken for one with compressed DWARF")
	}
}
