//go:build linux && arm64

// Command init is /init of the emulated arm64 machine that make test-arm64
// boots (scripts/arm64/run). It mounts what the tests use, runs each test
// binary of the plan the host wrote to /plan.json with a timeout, prints
// every line the tests print, one "arm64: " result line per package and a
// last "arm64: DONE" line the host takes its verdict from, and powers the
// machine off.
//
// It is built for linux/arm64 only, so that nothing else sees a second
// main package in the module.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A step is one test binary to run, as the host planned it.
type step struct {
	Name    string   // the package, as printed
	Dir     string   // where it runs: the package's directory, as go test does
	Args    []string // the test binary and its flags
	Env     []string // added to the guest's environment
	Timeout int      // seconds, after which its process group is killed
}

func main() {
	if err := setup(); err != nil {
		fmt.Printf("arm64: SETUP FAILED %v\n", err)
		powerOff()
	}
	b, err := os.ReadFile("/plan.json")
	var plan []step
	if err == nil {
		err = json.Unmarshal(b, &plan)
	}
	if err != nil {
		fmt.Printf("arm64: SETUP FAILED reading /plan.json: %v\n", err)
		powerOff()
	}
	var pass, fail, skip int
	var failed []string
	start := time.Now()
	for _, s := range plan {
		r := run(s)
		pass += r.pass
		fail += r.fail
		skip += r.skip
		if !r.ok {
			failed = append(failed, s.Name)
		}
	}
	verdict := "ok"
	if len(failed) > 0 {
		verdict = "FAIL " + strings.Join(failed, ",")
	}
	fmt.Printf("arm64: DONE %s: %d passed, %d failed, %d skipped in %.0fs\n", verdict, pass, fail, skip, time.Since(start).Seconds())
	powerOff()
}

type result struct {
	ok               bool
	pass, fail, skip int
}

// Top-level tests only: subtests are indented.
var outcome = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): `)

func run(s step) result {
	start := time.Now()
	cmd := exec.Command(s.Args[0], s.Args[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var r result
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Printf("arm64: FAIL %s: %v\n", s.Name, err)
		return r
	}
	defer pr.Close()
	cmd.Stdout = pw
	cmd.Stderr = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		fmt.Printf("arm64: FAIL %s: %v\n", s.Name, err)
		return r
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(time.Duration(s.Timeout)*time.Second, func() {
		timedOut.Store(true)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Println(line)
			if m := outcome.FindStringSubmatch(line); m != nil {
				switch m[1] {
				case "PASS":
					r.pass++
				case "FAIL":
					r.fail++
				case "SKIP":
					r.skip++
				}
			}
		}
		close(done)
	}()
	err = cmd.Wait()
	timer.Stop()
	// Processes the test left behind may still hold the pipe: those of its
	// group are killed, those in groups of their own are given a moment.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		fmt.Printf("arm64: %s: processes it started in groups of their own outlived it\n", s.Name)
		pr.Close()
		<-done
	}
	r.ok = err == nil && r.fail == 0
	status := "ok"
	switch {
	case timedOut.Load():
		status = fmt.Sprintf("FAIL (killed after %ds)", s.Timeout)
	case !r.ok:
		status = fmt.Sprintf("FAIL (%v)", err)
	}
	fmt.Printf("arm64: %s %s: %d passed, %d failed, %d skipped in %.0fs\n", status, s.Name, r.pass, r.fail, r.skip, time.Since(start).Seconds())
	return r
}

func setup() error {
	for _, m := range []struct{ dir, fs string }{
		{"/proc", "proc"}, {"/sys", "sysfs"}, {"/dev", "devtmpfs"}, {"/dev/pts", "devpts"}, {"/tmp", "tmpfs"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil && err != syscall.EBUSY {
			return fmt.Errorf("mount %s: %v", m.dir, err)
		}
	}
	os.Chmod("/tmp", 0o1777)
	con, err := syscall.Open("/dev/console", syscall.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("/dev/console: %v", err)
	}
	for fd := 0; fd < 3; fd++ {
		syscall.Dup3(con, fd, 0)
	}
	if con > 2 {
		syscall.Close(con)
	}
	os.Setenv("PATH", "/bin")
	os.Setenv("HOME", "/tmp")
	os.Setenv("TMPDIR", "/tmp")
	return loUp()
}

// loUp brings the loopback interface up: all the network the tests use.
func loUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("lo: %v", e)
	}
	ifr.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("lo up: %v", e)
	}
	return nil
}

func powerOff() {
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}
