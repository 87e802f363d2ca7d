package backend

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// TestDelveMessages: every message of Delve's that an error here is
// classified by is still in the source of the Delve this module builds
// with (or of the runtime, for the debug-call precheck Delve relays). A
// reworded message fails here, by name, instead of silently turning a
// precise hint into a generic one. TestCalls and TestEvalAcrossFrames make
// real Delve produce the common ones.
func TestDelveMessages(t *testing.T) {
	testapp.NeedGo(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/go-delve/delve").Output()
	if err != nil {
		t.Fatalf("locating Delve's source: %v", err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]string{
		"delve":   filepath.Join(strings.TrimSpace(string(out)), "pkg", "proc"),
		"runtime": filepath.Join(strings.TrimSpace(string(goroot)), "src", "runtime"),
	}
	sources := map[string][]byte{}
	for name, dir := range roots {
		var all bytes.Buffer
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			all.Write(b)
			return err
		})
		if err != nil || all.Len() == 0 {
			t.Fatalf("reading %s: %v", dir, err)
		}
		sources[name] = all.Bytes()
	}
	for msg, where := range delveMessages {
		if !bytes.Contains(sources[where], []byte(msg)) {
			t.Errorf("%s's source no longer says %q: find what it says now and update the classification in serve.go", where, msg)
		}
	}
}
