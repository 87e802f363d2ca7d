package pin

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// word is a as /proc/net/route writes it: the kernel's 32-bit word, in
// this machine's byte order, in hex.
func word(a string) string {
	b := netip.MustParseAddr(a).As4()
	return fmt.Sprintf("%08X", binary.NativeEndian.Uint32(b[:]))
}

func routeTable(rows ...string) string {
	return "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" + strings.Join(rows, "\n") + "\n"
}

func routeRow(iface, dst, gw, flags string, metric int, mask string) string {
	return fmt.Sprintf("%s\t%s\t%s\t%s\t0\t0\t%d\t%s\t0\t0\t0", iface, word(dst), word(gw), flags, metric, word(mask))
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		name, table string
		gw, iface   string // "" for none
	}{
		{"docker", routeTable(
			routeRow("eth0", "0.0.0.0", "172.17.0.1", "0003", 0, "0.0.0.0"),
			routeRow("eth0", "172.17.0.0", "0.0.0.0", "0001", 0, "255.255.0.0"),
		), "172.17.0.1", "eth0"},
		{"lowest metric wins", routeTable(
			routeRow("eth1", "0.0.0.0", "10.0.0.1", "0003", 600, "0.0.0.0"),
			routeRow("eth0", "0.0.0.0", "172.18.0.1", "0003", 100, "0.0.0.0"),
		), "172.18.0.1", "eth0"},
		{"a default without a gateway (dev wg0) is not one", routeTable(
			routeRow("wg0", "0.0.0.0", "0.0.0.0", "0001", 0, "0.0.0.0"),
		), "", ""},
		{"a route that is down", routeTable(
			routeRow("eth0", "0.0.0.0", "172.17.0.1", "0002", 0, "0.0.0.0"),
		), "", ""},
		{"a gateway to a network is not the default", routeTable(
			routeRow("eth0", "10.0.0.0", "172.17.0.1", "0003", 0, "255.0.0.0"),
		), "", ""},
		{"malformed rows are skipped", routeTable(
			"eth0\tzzzzzzzz\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0",
			"eth0\t00000000",
			"eth0\t00000000\t0100\t0003\t0\t0\t0\t00000000\t0\t0\t0",
			routeRow("eth0", "0.0.0.0", "192.168.5.1", "0003", 0, "0.0.0.0"),
		), "192.168.5.1", "eth0"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		r, ok := parseRoute(strings.NewReader(tt.table))
		if got := r.gw.String(); ok != (tt.gw != "") || (ok && (got != tt.gw || r.iface != tt.iface)) {
			t.Errorf("%s: %v via %q (found %v), want %q via %q", tt.name, r.gw, r.iface, ok, tt.gw, tt.iface)
		}
	}
}

// The format of /proc/net/ipv6_route, as read on a machine with a ULA
// default route; the last rows are the kernel's local and multicast ones.
const ipv6Routes = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000200 00000003 00000000 00000003     eth1
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`

func TestParseIPv6Route(t *testing.T) {
	r, ok := parseIPv6Route(strings.NewReader(ipv6Routes))
	// The link-local gateway has the lower metric (0x200 < 0x400), and
	// carries its interface as its zone: fe80::1 is itself only there.
	if !ok || r.gw.String() != "fe80::1%eth1" || r.iface != "eth1" {
		t.Errorf("got %v via %q (%v), want fe80::1%%eth1 via eth1", r.gw, r.iface, ok)
	}
	only := strings.Replace(ipv6Routes, "00000200", "00000800", 1)
	if r, ok := parseIPv6Route(strings.NewReader(only)); !ok || r.gw.String() != "fd00::1" {
		t.Errorf("with the link-local route's metric raised: %v (%v), want fd00::1", r.gw, ok)
	}
	// The unreachable default (flags 0x200200: reject, no gateway) is not a
	// default gateway.
	if _, ok := parseIPv6Route(strings.NewReader(ipv6Routes[strings.Index(ipv6Routes, "00000000000000000000000000000001 80"):])); ok {
		t.Error("found a gateway in a table without one")
	}
}

// fakeRoot lays out the files DetectContainer reads under a directory.
type fakeRoot struct {
	t   *testing.T
	dir string
}

func newRoot(t *testing.T) fakeRoot { return fakeRoot{t, t.TempDir()} }

func (r fakeRoot) write(path, content string) fakeRoot {
	r.t.Helper()
	p := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return r
}

// link adds an interface to /sys/class/net: a veth end when index and
// peer differ, hardware when hw.
func (r fakeRoot) link(name string, index, peer int, hw bool) fakeRoot {
	r.write("/sys/class/net/"+name+"/ifindex", fmt.Sprint(index, "\n"))
	r.write("/sys/class/net/"+name+"/iflink", fmt.Sprint(peer, "\n"))
	if hw {
		r.write("/sys/class/net/"+name+"/device/vendor", "0x1af4\n")
	}
	return r
}

func (r fakeRoot) dockerRoute(gw string) fakeRoot {
	return r.write("/proc/net/route", routeTable(routeRow("eth0", "0.0.0.0", gw, "0003", 0, "0.0.0.0")))
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func withoutLine(text, substr string) string {
	var keep []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if !strings.Contains(l, substr) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

func TestDetectContainer(t *testing.T) {
	tests := []struct {
		name      string
		root      fakeRoot
		env       func(string) string
		runtime   string
		gateways  string
		untrusted string
	}{
		{name: "a plain machine", root: newRoot(t).dockerRoute("192.168.1.1").link("eth0", 2, 2, true), env: env()},
		{name: "docker bridge", root: newRoot(t).write("/.dockerenv", "").dockerRoute("172.17.0.1").link("eth0", 9, 10, false),
			env: env(), runtime: "Docker", gateways: "172.17.0.1"},
		{name: "docker bridge, IPv4 and IPv6", root: newRoot(t).write("/.dockerenv", "").dockerRoute("172.17.0.1").link("eth0", 9, 10, false).
			write("/proc/net/ipv6_route", withoutLine(ipv6Routes, "eth1")),
			env: env(), runtime: "Docker", gateways: "172.17.0.1 fd00::1"},
		{name: "docker with the host's network", root: newRoot(t).write("/.dockerenv", "").dockerRoute("192.168.1.1").link("eth0", 2, 2, true),
			env: env(), runtime: "Docker", untrusted: "192.168.1.1 leaves through eth0, a hardware interface"},
		{name: "a host bridge is not a veth end", root: newRoot(t).write("/.dockerenv", "").dockerRoute("192.168.1.1").link("eth0", 4, 4, false),
			env: env(), runtime: "Docker", untrusted: "not one end of a veth pair"},
		{name: "sysfs of another namespace", root: newRoot(t).write("/.dockerenv", "").dockerRoute("172.17.0.1"),
			env: env(), runtime: "Docker", untrusted: "which /sys/class/net does not show"},
		{name: "no default route", root: newRoot(t).write("/.dockerenv", "").write("/proc/net/route", routeTable()),
			env: env(), runtime: "Docker", untrusted: "there is no default route"},
		{name: "podman", root: newRoot(t).write("/run/.containerenv", "engine=\"podman-5.0\"\n").dockerRoute("10.88.0.1").link("eth0", 2, 7, false),
			env: env(), runtime: "Podman", gateways: "10.88.0.1"},
		{name: "$container names the manager", root: newRoot(t).write("/.dockerenv", "").dockerRoute("10.88.0.1").link("eth0", 2, 7, false),
			env: env("container", "podman"), runtime: "Podman", gateways: "10.88.0.1"},
		{name: "toolbox: $container with the host's network", root: newRoot(t).dockerRoute("192.168.1.1").link("eth0", 2, 2, true),
			env: env("container", "oci"), runtime: "an OCI container", untrusted: "a hardware interface"},
		{name: "kubernetes trusts no gateway", root: newRoot(t).write("/.dockerenv", "").dockerRoute("10.244.1.1").link("eth0", 3, 12, false),
			env: env("KUBERNETES_SERVICE_HOST", "10.96.0.1"), runtime: "Kubernetes", untrusted: "kubectl port-forward connects from the pod's loopback"},
		{name: "cgroup v1 docker", root: newRoot(t).write("/proc/self/cgroup", "12:pids:/docker/3f2a\n0::/\n").dockerRoute("172.17.0.1").link("eth0", 9, 10, false),
			env: env(), runtime: "Docker", gateways: "172.17.0.1"},
		{name: "cgroup v1 kubepods", root: newRoot(t).write("/proc/self/cgroup", "4:memory:/kubepods/burstable/pod1/abc\n").dockerRoute("10.244.1.1").link("eth0", 3, 12, false),
			env: env(), runtime: "Kubernetes", untrusted: "kubectl"},
		{name: "cgroup v2 in its namespace shows nothing", root: newRoot(t).write("/proc/self/cgroup", "0::/\n").dockerRoute("172.17.0.1").link("eth0", 9, 10, false),
			env: env()},
		{name: "a systemd slice named after docker is not a container", root: newRoot(t).write("/proc/self/cgroup", "0::/system.slice/docker.service\n").dockerRoute("172.17.0.1").link("eth0", 9, 10, false),
			env: env()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := detectContainer(tt.root.dir, tt.env)
			if c.Runtime != tt.runtime {
				t.Fatalf("runtime %q (%+v), want %q", c.Runtime, c, tt.runtime)
			}
			var gws []string
			for _, g := range c.Gateways {
				gws = append(gws, g.String())
			}
			if got := strings.Join(gws, " "); got != tt.gateways {
				t.Errorf("gateways %q, want %q (%s)", got, tt.gateways, c.Untrusted)
			}
			if !strings.Contains(c.Untrusted, tt.untrusted) || (tt.untrusted == "" && c.Untrusted != "") {
				t.Errorf("untrusted %q, want %q", c.Untrusted, tt.untrusted)
			}
			if c.In() != (tt.runtime != "") || (c.Summary() == "") == c.In() {
				t.Errorf("In %v, Summary %q", c.In(), c.Summary())
			}
		})
	}
}
