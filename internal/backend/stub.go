package backend

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// lldbServer is one installed lldb-server and its LLVM major version (0
// when it did not say).
type lldbServer struct {
	path  string
	major int
}

// minLLDBServerAMD64 is the oldest lldb-server checked to report fs_base
// on linux/amd64 (19.1.7; 14.0.6, 15.0.6 and 16.0.6 do not). arm64 keeps
// the goroutine in x28, which every release reports.
const minLLDBServerAMD64 = 19

var lldbVersion = regexp.MustCompile(`lldb version (\d+)\.`)

// parseLLDBVersion reads the major version from `lldb-server version`.
func parseLLDBVersion(out string) int {
	m := lldbVersion.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// pickLLDBServer returns the newest of found (newest first) that Delve can
// drive on goarch.
func pickLLDBServer(found []lldbServer, goarch string) (lldbServer, bool) {
	for _, s := range found {
		if goarch != "amd64" || s.major >= minLLDBServerAMD64 {
			return s, true
		}
	}
	return lldbServer{}, false
}

// errNoStub is Delve's own "backend unavailable", returned before Delve
// looks, so that it reads the same.
var errNoStub = errors.New("backend unavailable")

// oldStubError is an lldb-server too old to drive safely.
type oldStubError struct {
	Path  string
	Major int
}

func (e *oldStubError) Error() string {
	v := "of unknown version"
	if e.Major > 0 {
		v = "version " + strconv.Itoa(e.Major)
	}
	return fmt.Sprintf("%s is lldb-server %s, which does not report the fs_base register on amd64: Delve would then find goroutines by single-stepping the app's threads, which breaks the system calls they are in", e.Path, v)
}
