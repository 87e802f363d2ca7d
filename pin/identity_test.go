package pin

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// TestOnePINPerApp runs one app as a developer does on different days:
// go run, go build, and a binary a reloader built elsewhere. Each must
// print the same PIN: the PIN belongs to the app, not to where its binary
// happens to be.
func TestOnePINPerApp(t *testing.T) {
	testapp.NeedGo(t)
	if testing.Short() {
		t.Skip("builds and runs the app three ways")
	}
	config := t.TempDir()
	env := append(os.Environ(), "XDG_CONFIG_HOME="+config, "HOME="+config, EnvVar+"=")
	pinOf := func(how string, cmd *exec.Cmd) string {
		t.Helper()
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", how, err, out)
		}
		m := regexp.MustCompile(`PIN (\d{3}-\d{3}-\d{3})`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s printed no PIN: %s", how, out)
		}
		return string(m[1])
	}
	first := pinOf("go run", exec.Command("go", "run", "./testdata/pinapp"))
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "reloader", "tmp")} {
		bin := filepath.Join(dir, "main")
		if out, err := exec.Command("go", "build", "-o", bin, "./testdata/pinapp").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		if got := pinOf("a binary in "+dir, exec.Command(bin)); got != first {
			t.Errorf("the binary in %s printed PIN %s; go run printed %s", dir, got, first)
		}
	}
}
