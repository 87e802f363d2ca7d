package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A proc is a server the driver started, in its own process group so that
// stopping it also stops the children it started (panicroom's agent and
// guardian).
type proc struct {
	name    string
	cmd     *exec.Cmd
	addr    string // host:port it serves on
	started time.Time
	eof     chan struct{}

	mu    sync.Mutex
	log   strings.Builder
	lines []logLine
}

type logLine struct {
	at   time.Time
	text string
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs argv with extra environment, serving on addr.
func start(name, addr string, env []string, argv ...string) (*proc, error) {
	return startIn("", name, addr, env, argv...)
}

// startIn is start in directory dir.
func startIn(dir, name, addr string, env []string, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	// The driver's own PANICROOM_AGENT=off (for its in-process figures)
	// is not the servers'.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PANICROOM_AGENT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, addr: addr, eof: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.lines = append(p.lines, logLine{time.Now(), sc.Text()})
			p.mu.Unlock()
		}
		io.Copy(io.Discard, pipe)
	}()
	return p, nil
}

// URL is the server's base URL, without a trailing slash.
func (p *proc) URL() string { return "http://" + p.addr }

// waitLog waits until a line matches re and returns the match and when the
// line was read.
func (p *proc) waitLog(re *regexp.Regexp, timeout time.Duration) ([]string, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if m := re.FindStringSubmatch(l.text); m != nil {
				p.mu.Unlock()
				return m, l.at, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-p.eof:
			return nil, time.Time{}, fmt.Errorf("%s exited before logging %s:\n%s", p.name, re, p.Log())
		default:
		}
		if time.Now().After(deadline) {
			return nil, time.Time{}, fmt.Errorf("%s did not log %s within %v:\n%s", p.name, re, timeout, p.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Log is everything the process wrote to standard error so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop ends the process group: SIGTERM, then SIGKILL after three seconds.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// The agent and guardian are in the same group; make sure none is left.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

var (
	attachedLine = regexp.MustCompile(`debugger attached in (\S+) \(agent pid (\d+)\)`)
	listenLine   = regexp.MustCompile(`listening on http://(\S+)/`)
	pprofLine    = regexp.MustCompile(`pprof on http://(\S+)/`)
)

// app is a running benchapp.
type app struct {
	*proc
	pprof    string // host:port of its pprof listener
	agentPID int
}

// startApp starts benchapp in the given mode and waits until it serves
// (and, for panicroom, until the debugger attached when wait is set).
func startApp(bin, mode string, extraEnv ...string) (*app, error) {
	addr := freeAddr()
	env := append([]string{
		"PANICROOM_PIN=" + pin,
		"XDG_CONFIG_HOME=" + tmpDir,
	}, extraEnv...)
	p, err := start("benchapp -mode "+mode, addr, env, bin, "-mode", mode, "-addr", addr, "-pprof", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &app{proc: p}
	m, _, err := p.waitLog(pprofLine, 20*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	a.pprof = m[1]
	if _, _, err := p.waitLog(listenLine, 20*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return a, nil
}

// waitAttached waits for panicroom's agent and notes its pid.
func (a *app) waitAttached() error {
	m, _, err := a.waitLog(attachedLine, 60*time.Second)
	if err != nil {
		return err
	}
	fmt.Sscan(m[2], &a.agentPID)
	return nil
}
