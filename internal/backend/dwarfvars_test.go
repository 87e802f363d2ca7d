package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// TestMainHasVariables builds one small program as go run does (the main
// package with -dwarf=false) and as the README says: only the first must
// be reported as lacking the main package's variables.
func TestMainHasVariables(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	testapp.NeedGo(t)
	dir := t.TempDir()
	src := "package main\n\nimport \"os\"\n\nfunc main() {\n\tn := len(os.Args)\n\tos.Exit(n - 1)\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  bool
	}{
		{"go run", []string{"-gcflags=all=-N -l", "-gcflags=example.com/m=-N -l -dwarf=false"}, false},
		{"as the README says", []string{"-gcflags=all=-N -l -dwarf=true"}, true},
	} {
		out := filepath.Join(dir, "bin-"+tc.name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", out}, tc.flags...), ".")...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, b)
		}
		d, err := openDWARF(out)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := mainHasVariables(d); got != tc.want {
			t.Errorf("%s: mainHasVariables = %v, want %v", tc.name, got, tc.want)
		}
	}
}
