//go:build (linux || darwin) && (amd64 || arm64) && !panicroom_noconsole

package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/panicroom/panicroom/internal/agent/wire"
)

// launch re-executes this binary as the agent and waits for it to attach.
func (a *Client) launch() (*conn, wire.Ready, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, wire.Ready{}, fmt.Errorf("finding the executable to re-run as the agent: %w", err)
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, wire.Ready{}, err
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, wire.Ready{}, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), wire.EnvRole+"="+wire.RoleAgent, wire.EnvParent+"="+strconv.Itoa(os.Getpid()))
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{reqR, ansW} // fds 3 and 4
	cmd.SysProcAttr = agentProcAttr()
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		ansR.Close()
		ansW.Close()
		return nil, wire.Ready{}, fmt.Errorf("starting the agent: %w", err)
	}
	reqR.Close()
	ansW.Close()
	c := &conn{cmd: cmd, w: reqW, r: ansR, pending: map[uint64]chan wire.Answer{}, framesSent: map[string]bool{}, dead: make(chan struct{})}
	// Yama scope 1 lets only ancestors trace; the agent is our child, so
	// name it explicitly. The agent waits for "go" before attaching.
	if err := setPtracer(cmd.Process.Pid); err != nil {
		a.opts.Logger.Warn("panicroom: PR_SET_PTRACER failed; the agent may not be allowed to attach", slog.Any("error", err))
	}
	if _, err := reqW.Write([]byte("go\n")); err != nil {
		c.kill()
		c.wait()
		return nil, wire.Ready{}, fmt.Errorf("handshake with the agent: %w", err)
	}
	br := bufio.NewReader(ansR)
	dec := json.NewDecoder(br)
	var ready wire.Ready
	readyErr := make(chan error, 1)
	go func() { readyErr <- dec.Decode(&ready) }()
	select {
	case err := <-readyErr:
		if err != nil {
			c.kill()
			c.wait()
			return nil, wire.Ready{}, fmt.Errorf("the agent died while attaching: %w", err)
		}
	case <-time.After(60 * time.Second):
		c.kill()
		c.wait()
		return nil, wire.Ready{}, errors.New("the agent did not attach within 60s")
	}
	go c.read(dec)
	return c, ready, nil
}
