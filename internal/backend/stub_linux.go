//go:build linux && (amd64 || arm64)

package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
)

// prepareStub makes Delve's lookup of "lldb-server" on PATH find one it
// can drive safely, and returns a function that puts PATH back.
//
// On amd64 Delve finds the goroutine a thread runs from the fs_base
// register. An lldb-server that does not report it (LLVM 14 to 16, among
// them Debian 12's default) makes Delve v1.27.2 run a MOV in each thread
// instead, single-stepping it, including threads inside system calls it
// does not recognise: the step ends the call with a wrong result (seen:
// the app's wait for its agent returned "exit status 0" while the agent
// ran), and then no thread has a goroutine, so no call can be injected.
// Such a stub is refused before it attaches. Debian installs newer ones as
// lldb-server-N beside LLVM's own bin directory, never as lldb-server.
func prepareStub() (undo func(), err error) {
	found := lldbServers()
	best, ok := pickLLDBServer(found, runtime.GOARCH)
	if !ok {
		if len(found) == 0 {
			return nil, errNoStub
		}
		return nil, &oldStubError{Path: found[0].path, Major: found[0].major}
	}
	path := os.Getenv("PATH")
	os.Setenv("PATH", filepath.Dir(best.path)+string(os.PathListSeparator)+path)
	return func() { os.Setenv("PATH", path) }, nil
}

// lldbServers lists the lldb-servers installed, newest first: the one on
// PATH and those of each LLVM Debian and Ubuntu install side by side.
func lldbServers() []lldbServer {
	var out []lldbServer
	seen := map[string]bool{}
	add := func(path string) {
		if real, err := filepath.EvalSymlinks(path); err == nil && !seen[real] {
			seen[real] = true
			v, _ := exec.Command(path, "version").CombinedOutput() // 19 writes it to stderr
			out = append(out, lldbServer{path: path, major: parseLLDBVersion(string(v))})
		}
	}
	if p, err := exec.LookPath("lldb-server"); err == nil {
		add(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/llvm-*/bin/lldb-server")
	for _, p := range dirs {
		add(p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].major > out[j].major })
	return out
}
