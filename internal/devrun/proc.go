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
	drained chan struct{} // closed when the stderr pipe reached EOF
}

// drainFor bounds how long Stderr waits, after the app exited, for the
// rest of its stderr: the debugger agent, a child of the app that shares
// the pipe, may hold it open a while after the app is gone.
const drainFor = 2 * time.Second

// StartChild runs exe with args, its stdin and stdout those of the runner,
// its stderr copied to the runner's and kept for the crash page.
// GOTRACEBACK=all makes a crash print every goroutine, not only the one
// that crashed; a stronger setting the developer chose is kept.
func StartChild(exe string, args []string, env []string, stdout, stderr io.Writer) (*Child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stdin = os.Stdin
	t := &tail{}
	// The runner's own pipes, not exec's copies: Wait would wait for
	// exec's copies to end, that is for the agent (which shares the
	// pipes) to exit too, and until Done the runner cannot take the
	// address back, so that new connections are refused meanwhile.
	var ends []*os.File // the pipes' ends, read end then write end
	pipe := func(w io.Writer) (*os.File, func(), error) {
		if f, ok := w.(*os.File); ok {
			return f, func() {}, nil
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		ends = append(ends, pr, pw)
		return pw, func() { io.Copy(w, pr); pr.Close() }, nil
	}
	closeAll := func() {
		for _, f := range ends {
			f.Close()
		}
	}
	var copyOut, copyErr func()
	var err error
	cmd.Stdout, copyOut, err = pipe(stdout)
	if err == nil {
		cmd.Stderr, copyErr, err = pipe(io.MultiWriter(stderr, t))
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	cmd.Env = withTraceback(env)
	err = cmd.Start()
	for i := 1; i < len(ends); i += 2 {
		ends[i].Close() // the write ends are the child's now
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	c := &Child{cmd: cmd, stderr: t, started: time.Now(), done: make(chan struct{}), drained: make(chan struct{})}
	go copyOut()
	go func() {
		copyErr()
		close(c.drained)
	}()
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

// Stderr returns the tail of what the process wrote to stderr. Once the
// process has exited, it first waits (drainFor at most) for what is still
// in the pipe: the end of a crash report.
func (c *Child) Stderr() string {
	select {
	case <-c.done:
		select {
		case <-c.drained:
		case <-time.After(drainFor):
		}
	default:
	}
	return c.stderr.String()
}

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
