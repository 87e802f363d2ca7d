//go:build linux && (amd64 || arm64)

package backend

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
	"github.com/panicroom/panicroom/internal/procfs"
)

// When the agent dies while the app is stopped, the kernel detaches the
// app's threads, and a SIGSTOP Delve had queued to stop them is then
// delivered for real: the whole app sits in group-stop (state T) with
// nobody left to continue it, and it cannot restart its agent. The
// guardian is a third copy of the binary started by the agent; it holds
// the read end of a pipe whose only writer is the agent, and when that
// pipe reaches EOF (the agent is gone, however it died) it continues the
// app until the app is seen running.

func guardianMain() int {
	app, _ := strconv.Atoi(os.Getenv(wire.EnvParent))
	pipe := os.NewFile(3, "panicroom-guardian")
	if app == 0 || pipe == nil {
		return 2
	}
	var b [1]byte
	for {
		if _, err := pipe.Read(b[:]); err != nil {
			break
		}
	}
	for i := 0; i < 40; i++ {
		if syscall.Kill(app, syscall.SIGCONT) != nil {
			return 0 // the app is gone
		}
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
		if i >= 3 && procfs.State(app) != 'T' {
			return 0
		}
	}
	return 0
}

// startGuardian is called by the agent before it attaches. The returned
// file must stay open for the agent's lifetime; the kernel closes it when
// the agent dies.
func startGuardian(app int) (*os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), wire.EnvRole+"="+wire.RoleGuardian, wire.EnvParent+"="+strconv.Itoa(app))
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{r}
	// Its own session: a SIGKILL aimed at the agent's process group must
	// not take the guardian with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	r.Close()
	go cmd.Wait() // reap it
	return w, nil
}
