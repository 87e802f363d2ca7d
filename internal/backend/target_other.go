//go:build !darwin && !(linux && (amd64 || arm64))

package backend

import (
	"errors"
	"os"
	"runtime"

	"github.com/go-delve/delve/pkg/proc"
)

// Here no backend is wired: package agent does not start an agent on this
// platform (it says why on the page), so this file only lets the portable
// code compile and be tested everywhere. An agent started by hand fails at
// attach with this reason.

var errNoBackend = errors.New("the panicroom agent has no debugger backend for " + runtime.GOOS + "/" + runtime.GOARCH + " (Linux and macOS on amd64 or arm64 only)")

func newTarget(string) target { return unsupportedTarget{} }

type unsupportedTarget struct{}

func (unsupportedTarget) attach(int) (*proc.TargetGroup, *heapLayout, error) {
	return nil, nil, errNoBackend
}

func (unsupportedTarget) liveMemory(int) liveReader { return nil }

func (unsupportedTarget) explainAttach(err error, _ int) (string, string) {
	return err.Error(), "run the app on Linux or macOS (amd64 or arm64) to use the console"
}

func (unsupportedTarget) stopped(error) string { return "" }

func prepareStub() (func(), error) { return func() {}, errNoBackend }

func startGuardian(int) (interface{ Close() error }, error) { return nil, errNoBackend }

func guardianMain() int {
	os.Stderr.WriteString("panicroom: " + errNoBackend.Error() + "\n")
	return 2
}
