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

// Remote is a client on another machine, as the app sees it: a network
// namespace joined to this one by a veth pair, so its connections arrive
// from a non-loopback address through a real interface.
type Remote struct {
	// HostAddr is this side's address on the link: an app that listens on
	// it (or on 0.0.0.0) is reachable from the remote side.
	HostAddr string
	// ClientAddr is the address the app sees requests come from.
	ClientAddr string
	// Client makes its connections from inside the namespace.
	Client *http.Client

	ns string
}

// NewRemote makes the namespace and the link, and removes both when the
// test ends. It skips the test when not root or without iproute2's ip:
// nothing else on the machine is touched, and only addresses it creates
// are used (10.213.x.0/30, from the pid).
func NewRemote(t testing.TB) *Remote {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a remote client needs a network namespace: run the tests as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("a remote client needs iproute2's ip command")
	}
	id := os.Getpid() % 60000
	r := &Remote{ns: fmt.Sprintf("prtest%d", id)}
	host, peer := fmt.Sprintf("prh%d", id), fmt.Sprintf("prc%d", id)
	sub := fmt.Sprintf("10.213.%d", id%250)
	r.HostAddr, r.ClientAddr = sub+".1", sub+".2"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", r.ns).Run() // a previous run's, killed
	exec.Command("ip", "link", "del", host).Run()
	run("netns", "add", r.ns)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", host).Run()
		exec.Command("ip", "netns", "del", r.ns).Run()
	})
	run("link", "add", host, "type", "veth", "peer", "name", peer)
	run("link", "set", peer, "netns", r.ns)
	run("addr", "add", r.HostAddr+"/30", "dev", host)
	run("link", "set", host, "up")
	run("-n", r.ns, "addr", "add", r.ClientAddr+"/30", "dev", peer)
	run("-n", r.ns, "link", "set", peer, "up")
	run("-n", r.ns, "link", "set", "lo", "up")
	r.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: r.dial, DisableKeepAlives: true}}
	return r
}

// dial makes the socket on a thread that has joined the namespace: a
// socket belongs to the namespace of the thread that created it. The
// thread is never unlocked, so the runtime retires it with the goroutine
// instead of reusing it in the wrong namespace.
func (r *Remote) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + r.ns)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{nil, fmt.Errorf("joining %s: %w", r.ns, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		done <- result{c, err}
	}()
	res := <-done
	return res.c, res.err
}

// Listen listens on the link's host address, where the remote side can
// reach it (an app bound to 0.0.0.0 would be reachable the same way).
func (r *Remote) Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", r.HostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
