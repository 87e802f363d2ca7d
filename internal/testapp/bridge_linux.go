package testapp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A Bridge is a container's network as Docker's default bridge makes it,
// in two network namespaces joined by a veth pair: the app's, whose
// default routes (IPv4 and IPv6) point at the host's end, and the host's,
// which holds the gateway addresses and a neighbour's (another container
// on the bridge, or a LAN machine the host forwards). Connections the host
// makes from the gateway address are what a published port's look like
// from inside the container.
type Bridge struct {
	// AppNS is the app's namespace; Command runs a program in it.
	AppNS string
	// App and App6 are the app's addresses.
	App, App6 string
	// Gateway and Gateway6 are the host's end of the link, the app's
	// default gateways.
	Gateway, Gateway6 string
	// Neighbour and Neighbour6 are other addresses of the host's end, on
	// the same link: not gateways.
	Neighbour, Neighbour6 string

	hostNS string
}

// NewBridge makes both namespaces and the link, and removes them when the
// test ends. It skips the test when not root or without iproute2's ip.
// Only the addresses it creates are used (10.214.x.0/24 and
// fd00:214:x::/64, from the pid), and nothing is added to the test's own
// namespace.
func NewBridge(t testing.TB) *Bridge {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a container's network needs network namespaces: run the tests as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("a container's network needs iproute2's ip command")
	}
	id := os.Getpid() % 60000
	b := &Bridge{AppNS: fmt.Sprintf("prapp%d", id), hostNS: fmt.Sprintf("prhost%d", id)}
	sub := fmt.Sprintf("10.214.%d", id%250)
	sub6 := fmt.Sprintf("fd00:214:%x:", id)
	b.App, b.Gateway, b.Neighbour = sub+".2", sub+".1", sub+".3"
	b.App6, b.Gateway6, b.Neighbour6 = sub6+":2", sub6+":1", sub6+":3"
	appEnd, hostEnd := fmt.Sprintf("prb%d", id), fmt.Sprintf("prg%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{b.AppNS, b.hostNS} {
		exec.Command("ip", "netns", "del", ns).Run() // a previous run's, killed
	}
	run("netns", "add", b.AppNS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", b.AppNS).Run() })
	run("netns", "add", b.hostNS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", b.hostNS).Run() })
	// Made inside the host's namespace, so that neither end ever appears
	// in the test's own.
	run("-n", b.hostNS, "link", "add", hostEnd, "type", "veth", "peer", "name", appEnd)
	run("-n", b.hostNS, "link", "set", appEnd, "netns", b.AppNS)
	for _, a := range []string{b.Gateway + "/24", b.Neighbour + "/24"} {
		run("-n", b.hostNS, "addr", "add", a, "dev", hostEnd)
	}
	for _, a := range []string{b.Gateway6 + "/64", b.Neighbour6 + "/64"} {
		run("-n", b.hostNS, "addr", "add", a, "dev", hostEnd, "nodad")
	}
	run("-n", b.hostNS, "link", "set", hostEnd, "up")
	run("-n", b.hostNS, "link", "set", "lo", "up")
	run("-n", b.AppNS, "addr", "add", b.App+"/24", "dev", appEnd)
	run("-n", b.AppNS, "addr", "add", b.App6+"/64", "dev", appEnd, "nodad")
	run("-n", b.AppNS, "link", "set", appEnd, "up")
	run("-n", b.AppNS, "link", "set", "lo", "up")
	run("-n", b.AppNS, "route", "add", "default", "via", b.Gateway)
	run("-n", b.AppNS, "-6", "route", "add", "default", "via", b.Gateway6)
	return b
}

// Command returns a command that runs name in the app's namespace, with
// /sys showing that namespace's interfaces, as a container's does.
func (b *Bridge) Command(name string, args ...string) (exe string, argv []string) {
	return "ip", append([]string{"netns", "exec", b.AppNS, name}, args...)
}

// Client returns an HTTP client whose connections leave the host's
// namespace from the address from (one of Gateway, Gateway6, Neighbour,
// Neighbour6).
func (b *Bridge) Client(from string) *http.Client {
	return &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{DialContext: b.Dialer(from), DisableKeepAlives: true},
		// The page answers with redirects only to its own pages.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Dialer returns a DialContext that connects from the address from, in
// the host's namespace.
func (b *Bridge) Dialer(from string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialIn(ctx, b.hostNS, from, network, addr)
	}
}

// InApp runs f on a thread that has joined the app's namespace, and
// retires the thread afterwards instead of letting the runtime reuse it in
// the wrong namespace. Paths under /proc/thread-self/net read that
// namespace; /proc/self/net and /sys still show the test's own.
func (b *Bridge) InApp(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := setns(b.AppNS); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

func setns(ns string) error {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining %s: %w", ns, err)
	}
	return nil
}

// dialIn makes the socket on a thread that has joined ns, bound to from: a
// socket belongs to the namespace of the thread that created it.
func dialIn(ctx context.Context, ns, from, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := setns(ns); err != nil {
			done <- result{nil, err}
			return
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.DialContext(ctx, network, addr)
		done <- result{c, err}
	}()
	res := <-done
	return res.c, res.err
}
