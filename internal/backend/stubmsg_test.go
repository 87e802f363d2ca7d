package backend

import (
	"errors"
	"strings"
	"testing"
)

// The texts are those Delve v1.27.2's gdbserial returns for each failure
// (ErrBackendUnavailable, Listen, Dial, checkRosettaExpensive, the
// connection's protocol errors); the fix each must name is the one Delve's
// tracker found for that cause.
func TestExplainStub(t *testing.T) {
	native := func(err error) (string, string) {
		return "the kernel refused ptrace (" + err.Error() + ")", "ptrace-fix"
	}
	for _, c := range []struct {
		name   string
		err    string
		env    stubEnv
		reason []string
		fix    []string
	}{
		{"no debugserver", "backend unavailable", stubEnv{goos: "darwin", exe: "/Users/me/app"},
			[]string{"debugserver", "not installed"}, []string{"xcode-select --install"}},
		{"no lldb-server", "backend unavailable", stubEnv{goos: "linux", exe: "/home/me/app", native: native},
			[]string{"lldb-server is not installed", "PANICROOM_BACKEND=lldb"}, []string{"apt-get install lldb-19", "unset PANICROOM_BACKEND"}},
		{"authorization", "stub exited while waiting for connection: exit status 1", stubEnv{goos: "darwin", exe: "/Users/me/app"},
			[]string{"debugserver exited", "Developer Mode", "exit status 1", "stderr"}, []string{"DevToolsSecurity -enable", "dseditgroup -o edit -a $USER -t user _developer"}},
		{"SIP", "stub exited while waiting for connection: exit status 1", stubEnv{goos: "darwin", exe: "/usr/bin/app"},
			[]string{"System Integrity Protection", "/usr/bin/app"}, []string{"go build -o ./bin/app"}},
		{"not SIP under /usr/local", "stub exited while waiting for connection: exit status 1", stubEnv{goos: "darwin", exe: "/usr/local/bin/app"},
			[]string{"Developer Mode"}, []string{"DevToolsSecurity -enable"}},
		{"Rosetta", "can not run under Rosetta, check that the terminal/shell in use is right for your CPU architecture", stubEnv{goos: "darwin", exe: "/Users/me/app"},
			[]string{"Rosetta"}, []string{"arch -arm64"}},
		{"broken by an update", "protocol error E74 during registers read for packet $g;thread:ad85;", stubEnv{goos: "darwin", exe: "/Users/me/app"},
			[]string{"macOS update", "go-delve/delve#3964"}, []string{"xcode-select --install", "DELVE_DEBUGSERVER_PATH"}},
		{"lldb-server refused", "stub exited while attempting to connect: exit status 1", stubEnv{goos: "linux", exe: "/home/me/app", native: native},
			[]string{"lldb-server exited before attaching", "kernel refused ptrace"}, []string{"ptrace-fix"}},
		{"other on linux", "connection reset", stubEnv{goos: "linux", exe: "/home/me/app", native: native},
			[]string{"connection reset"}, []string{"ptrace-fix"}},
		{"other on macOS", "connection reset", stubEnv{goos: "darwin", exe: "/Users/me/app"},
			[]string{"through debugserver failed: connection reset"}, []string{"xcode-select --install"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reason, fix := explainStub(errors.New(c.err), c.env)
			for _, s := range c.reason {
				if !strings.Contains(reason, s) {
					t.Errorf("reason %q does not say %q", reason, s)
				}
			}
			for _, s := range c.fix {
				if !strings.Contains(fix, s) {
					t.Errorf("fix %q does not say %q", fix, s)
				}
			}
		})
	}
}

func TestExplainStubStop(t *testing.T) {
	bad := errors.New("bad access")
	if got := explainStubStop(bad, "darwin", false); !strings.Contains(got, "--unmask-signals") || !strings.Contains(got, "go-delve/delve#852") || !strings.Contains(got, "xcode-select --install") {
		t.Errorf("an old debugserver: %q", got)
	}
	if got := explainStubStop(bad, "darwin", true); !strings.Contains(got, "go-delve/delve#3651") {
		t.Errorf("a debugserver that unmasks: %q", got)
	}
	if got := explainStubStop(bad, "linux", false); got != "" {
		t.Errorf("lldb-server passes signals on, yet: %q", got)
	}
	if got := explainStubStop(errors.New("the app exited"), "darwin", false); got != "" {
		t.Errorf("not the stub's: %q", got)
	}
}

func TestPickLLDBServer(t *testing.T) {
	for out, want := range map[string]int{
		"lldb version 19.1.7\n":                         19,
		"lldb version 14.0.6\n":                         14,
		"lldb-server version 1\n":                       0,
		"Usage:\n  lldb-server v[ersion]\n":             0,
		"Apple lldb-1600.0.39.3\nlldb version 17.0.6\n": 17,
	} {
		if got := parseLLDBVersion(out); got != want {
			t.Errorf("parseLLDBVersion(%q) = %d, want %d", out, got, want)
		}
	}
	found := []lldbServer{{"/usr/lib/llvm-19/bin/lldb-server", 19}, {"/usr/bin/lldb-server", 14}}
	if s, ok := pickLLDBServer(found, "amd64"); !ok || s.major != 19 {
		t.Errorf("amd64 with 19 and 14: got %+v, %v", s, ok)
	}
	old := found[1:]
	if _, ok := pickLLDBServer(old, "amd64"); ok {
		t.Error("amd64 accepted lldb-server 14, which has no fs_base")
	}
	if s, ok := pickLLDBServer(old, "arm64"); !ok || s.major != 14 {
		t.Errorf("arm64 (g in x28) refused lldb-server 14: %+v", s)
	}
	reason, fix := explainStub(&oldStubError{Path: "/usr/bin/lldb-server", Major: 14}, stubEnv{goos: "linux"})
	for _, s := range []string{"/usr/bin/lldb-server", "version 14", "fs_base"} {
		if !strings.Contains(reason, s) {
			t.Errorf("reason %q does not say %q", reason, s)
		}
	}
	if !strings.Contains(fix, "apt-get install lldb-19") || !strings.Contains(fix, "PANICROOM_BACKEND") {
		t.Errorf("fix %q", fix)
	}
}
