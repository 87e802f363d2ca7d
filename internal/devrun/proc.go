package devrun

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// tailSize is how much of the app's stderr is kept for the crash page: a
// GOTRACEBACK=all dump of a server with a few thousand goroutines fits.
const tailSize = 1 << 20

// tail keeps the last tailSize bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Child is one run of the app.
type Child struct {
	cmd     *exec.Cmd
	stderr  *tail
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's error, set before done is closed
}

// StartChild runs exe with args, its stdin and stdout those of the runner,
// its stderr copied to the runner's and kept for the crash page.
// GOTRACEBACK=all makes a crash print every goroutine, not only the one
// that crashed; a stronger setting the developer chose is kept.
func StartChild(exe string, args []string, env []string, stdout, stderr io.Writer) (*Child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = stdout
	t := &tail{}
	cmd.Stderr = io.MultiWriter(stderr, t)
	cmd.Env = withTraceback(env)
	// The app's debugger agent is a child of the app and shares its
	// stderr: once the app is gone, do not wait for the agent to close it.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, stderr: t, started: time.Now(), done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func withTraceback(env []string) []string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOTRACEBACK="); ok {
			switch v {
			case "all", "system", "crash", "2":
				return env
			}
		}
	}
	return append(env[:len(env):len(env)], "GOTRACEBACK=all")
}

// Pid is the process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed when the process has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Stderr returns the tail of what the process wrote to stderr.
func (c *Child) Stderr() string { return c.stderr.String() }

// ExitCode is the process's exit status; -1 if a signal ended it. Valid
// after Done.
func (c *Child) ExitCode() int { return c.cmd.ProcessState.ExitCode() }

// ExitDescription says how the process ended: "exit status 2",
// "signal: killed". Valid after Done.
func (c *Child) ExitDescription() string {
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		return ee.ProcessState.String()
	}
	if c.err != nil {
		return c.err.Error()
	}
	return c.cmd.ProcessState.String()
}

// Stop asks the process to end (SIGTERM on Unix, so that it can shut its
// server down), then kills it if it has not ended within grace.
func (c *Child) Stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	if err := terminate(c.cmd.Process); err != nil {
		c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(grace):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// Signal forwards sig to the process.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }
