//go:build !panicroom_off

package panicroom

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// TestCompiledOut builds the smallest app twice: as is, and with -tags
// panicroom_off, which must leave the debugger and the websocket out of the
// binary (go version -m lists the modules linked in).
func TestCompiledOut(t *testing.T) {
	testapp.NeedGo(t)
	if testing.Short() {
		t.Skip("builds an app twice")
	}
	dir := t.TempDir()
	build := func(name string, tags ...string) (string, int64) {
		t.Helper()
		bin := filepath.Join(dir, name)
		args := append([]string{"build", "-o", bin}, tags...)
		if out, err := exec.Command("go", append(args, "./testdata/offapp")...).CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		out, err := exec.Command("go", "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		return string(out), fi.Size()
	}
	on, onSize := build("on")
	off, offSize := build("off", "-tags", "panicroom_off")
	heavy := []string{"github.com/go-delve/delve", "github.com/gorilla/websocket"}
	// Chroma serves the highlighter's tests only: linked, its package inits
	// would cost every start of the app and of its agent (highlight.go).
	if strings.Contains(on, "github.com/alecthomas/chroma") {
		t.Error("the default build links github.com/alecthomas/chroma")
	}
	for _, m := range heavy {
		if m == "github.com/go-delve/delve" && !testapp.ConsoleBuilt() {
			// Where the console cannot run on Linux (linux/386, make
			// noconsole) the default build leaves Delve out too; macOS
			// links it for lldb, which this test does not run on.
			continue
		}
		if !strings.Contains(on, m) {
			t.Errorf("the default build does not link %s: the test no longer shows anything", m)
		}
		if strings.Contains(off, m) {
			t.Errorf("-tags panicroom_off still links %s", m)
		}
	}
	t.Logf("binary size: %.1f MB as is, %.1f MB with -tags panicroom_off", float64(onSize)/1e6, float64(offSize)/1e6)
}
