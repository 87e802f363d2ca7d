//go:build !panicroom_off

package panicroom

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

func TestSplitMethod(t *testing.T) {
	for sym, want := range map[string]string{
		"main.(*User).Greeting":                   "main.User Greeting",
		"main.User.Initials":                      "main.User Initials",
		"github.com/a/b.v2/c.(*Store).Lookup":     "github.com/a/b.v2/c.Store Lookup",
		"main.main":                               "",
		"main.User.Initials.func1":                "",
		"main.(*User).Greeting-fm":                "",
		"main.Map[go.shape.float64,go.shape.int]": "",
		"github.com/a/b.(*T[go.shape.int]).M":     "",
		"runtime.gopanic":                         "",
		"gopkg.in/yaml%2ev3.(*Node).Decode":       "gopkg.in/yaml.v3.Node Decode",
	} {
		recv, m, ok := splitMethod(sym)
		got := ""
		if ok {
			got = recv + " " + m
		}
		if got != want {
			t.Errorf("splitMethod(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestReadMethodSets(t *testing.T) {
	exe, prebuilt, err := testapp.Prebuilt("methods")
	if err != nil {
		t.Fatal(err)
	}
	if !prebuilt {
		exe = filepath.Join(t.TempDir(), "prog")
		if out, err := exec.Command("go", "build", "-gcflags=all=-N -l", "-o", exe, "./testdata/methods").CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	got := readMethodSets(exe)["main.User"]
	slices.Sort(got)
	if strings.Join(got, ",") != "Greeting,Initials" {
		t.Errorf("methods of main.User = %v, want the two the program calls (the linker drops Unused)", got)
	}
	if len(readMethodSets(filepath.Join("testdata", "methods", "main.go"))) != 0 {
		t.Error("a file that is not a binary gave methods")
	}
}
