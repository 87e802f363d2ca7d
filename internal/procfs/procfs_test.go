package procfs

import (
	"os"
	"os/exec"
	"slices"
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

func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to start: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if kids := Children(os.Getpid()); !slices.Contains(kids, cmd.Process.Pid) {
		t.Errorf("Children(self) = %v, want it to hold %d", kids, cmd.Process.Pid)
	}
	if kids := Children(cmd.Process.Pid); len(kids) != 0 {
		t.Errorf("Children(sleep) = %v, want none", kids)
	}
}
