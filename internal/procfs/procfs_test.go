package procfs

import (
	"os"
	"testing"
)

func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	if s := State(pid); s != 'R' && s != 'S' {
		t.Errorf("State(self) = %q, want R or S", s)
	}
	if got := StatusInt(pid, "Pid"); got != pid {
		t.Errorf("StatusInt(self, Pid) = %d, want %d", got, pid)
	}
	if StatusInt(pid, "VmRSS") <= 0 {
		t.Errorf("VmRSS of self = %q", Status(pid, "VmRSS"))
	}
	if State(-1) != 0 || Status(-1, "Pid") != "" || StatusInt(pid, "NoSuchField") != 0 {
		t.Error("a missing process or field is not empty")
	}
}
