// Package testapp builds and runs this project's apps as real processes,
// for the tests that need one: the browser tests and the reliability suite.
// An app is built the way its users are told to build it (optimizations and
// inlining off), once per test binary, and runs in a process group of its
// own, so that stopping it also stops the agent and guardian it started.
package testapp

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

var (
	mu     sync.Mutex
	dir    string
	builds = map[string]func() (string, error){}
)

// Build builds pkg once per test binary and returns the executable's path:
// a build with -N -l takes tens of seconds on a cold cache, and every test
// starts its own process from it. The executable is named after the
// package's last element. With $PANICROOM_FIXTURES set, the executable is
// the one of that name there, built beforehand with the same flags.
func Build(pkg string) (string, error) { return BuildAs(pkg, filepath.Base(pkg)) }

// BuildAs is Build with the executable named name, which is also the name
// its processes have in /proc.
func BuildAs(pkg, name string) (string, error) {
	mu.Lock()
	key := pkg + "\x00" + name
	build, ok := builds[key]
	if !ok {
		build = sync.OnceValues(func() (string, error) {
			if exe, ok, err := Prebuilt(name); ok {
				return exe, err
			}
			d, err := buildDir()
			if err != nil {
				return "", err
			}
			out := filepath.Join(d, name)
			cmd := exec.Command("go", "build", "-gcflags=all=-N -l", "-o", out, pkg)
			if msg, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
			}
			return out, nil
		})
		builds[key] = build
	}
	mu.Unlock()
	return build()
}

func buildDir() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "panicroom-testapp-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	return dir, nil
}

// Cleanup removes what Build built. Call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// A Process is one running app, with its standard error kept for
// assertions on what it logged.
type Process struct {
	URL string // http://127.0.0.1:PORT, no trailing slash
	Cmd *exec.Cmd

	done chan struct{} // standard error reached EOF

	stderr Buffer

	mu      sync.Mutex
	stopped bool
}

// Start runs exe with args and env added to the environment, in a process
// group of its own, and returns once the app has printed the address it
// listens on ("... listening on http://ADDR/"), within timeout.
func Start(exe string, args, env []string, timeout time.Duration) (*Process, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	ownProcessGroup(cmd)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			io.WriteString(&p.stderr, line+"\n")
			if _, u, ok := strings.Cut(line, "listening on "); ok {
				select {
				case listening <- strings.TrimSuffix(strings.TrimSpace(u), "/"):
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	select {
	case p.URL = <-listening:
		return p, nil
	case <-p.done:
		p.Wait()
		return nil, fmt.Errorf("%s exited before listening:\n%s", filepath.Base(exe), p.Log())
	case <-time.After(timeout):
		p.Stop()
		return nil, fmt.Errorf("%s did not say it was listening within %v:\n%s", filepath.Base(exe), timeout, p.Log())
	}
}

// Log returns everything the app wrote to standard error so far.
func (p *Process) Log() string {
	return p.stderr.String()
}

// Pid is the app's process id, which is also its process group's.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the app's standard error reaches EOF: it exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop asks the app's process group to shut down (the app releases its
// parked goroutines on SIGTERM) or sends sig when given, kills the group if
// it has not exited 5 s later, and reaps the app. It returns how long the
// exit took and whether it needed the kill. Stopping a stopped app does
// nothing.
func (p *Process) Stop(sig ...os.Signal) (took time.Duration, killed bool) {
	if !p.markStopped() {
		return 0, false
	}
	start := time.Now()
	killed = stopGroup(p.Cmd, p.done, sig...)
	return time.Since(start), killed
}

// Wait reaps an app that exited by itself (os.Exit from the console, a
// crash): after it, Stop does nothing.
func (p *Process) Wait() {
	<-p.done
	if p.markStopped() {
		p.Cmd.Wait()
	}
}

func (p *Process) markStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.stopped = true
	return true
}
