package pin

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A Container is what [DetectContainer] learned about the container the
// app runs in. The zero value means none was found.
type Container struct {
	// Runtime names the container for messages: "Docker", "Podman",
	// "Kubernetes", "LXC", or the value of $container.
	Runtime string
	// Signal is the evidence, such as "/.dockerenv".
	Signal string
	// Gateways are the default gateways accepted like Config.Allow
	// entries: the IPv4 one and the IPv6 one, each when trusted.
	Gateways []netip.Addr
	// Untrusted says why the default gateway is not trusted, or is "".
	Untrusted string
}

// In reports whether the app runs in a container.
func (c Container) In() bool { return c.Runtime != "" }

// Summary says, in one clause for a log line or a refusal, which container
// this is and whether its gateway is trusted; "" outside a container.
func (c Container) Summary() string {
	switch {
	case !c.In():
		return ""
	case len(c.Gateways) > 0:
		gws := make([]string, len(c.Gateways))
		for i, g := range c.Gateways {
			gws[i] = g.String()
		}
		return fmt.Sprintf("this app runs in %s (%s) and trusts its default gateway %s, where connections to the host's published ports come from", c.Runtime, c.Signal, strings.Join(gws, " and "))
	case c.Untrusted != "":
		return fmt.Sprintf("this app runs in %s (%s); its default gateway is not trusted: %s", c.Runtime, c.Signal, c.Untrusted)
	}
	return fmt.Sprintf("this app runs in %s (%s)", c.Runtime, c.Signal)
}

// DetectContainer reports whether this process runs in a container, and
// which default gateway to trust there. The signals, first match wins:
//
//   - $KUBERNETES_SERVICE_HOST, which the kubelet sets in every container
//     of a pod;
//   - $container, which Podman, LXC and systemd-nspawn set by the systemd
//     convention (its value names the manager);
//   - /run/.containerenv, which Podman and Buildah create;
//   - /.dockerenv, which Docker creates;
//   - a /docker/, /libpod-, /kubepods or /lxc/ path in /proc/self/cgroup,
//     which only cgroup v1, or v2 without a cgroup namespace, shows.
//
// The default gateway is read from the kernel's routing tables,
// /proc/net/route and /proc/net/ipv6_route, lowest metric first. It is
// trusted only when the route leaves through one end of a virtual link
// whose other end is in another network namespace (a veth pair: the
// interface has no device in /sys/class/net and its iflink is not its own
// index), as Docker's and Podman's bridge networks are: there the gateway
// is the host's end of the bridge, and the host's published ports connect
// from it. It is not trusted with the host's network (--network host, or
// Podman's pasta, whose gateway is the LAN's router), nor in Kubernetes,
// where kubectl port-forward connects from the pod's loopback and the
// gateway also carries the node's and kube-proxy's masqueraded traffic.
//
// It reads a few small files, once per call: call it at start-up.
func DetectContainer() Container { return detectContainer("/", os.Getenv) }

func detectContainer(root string, getenv func(string) string) Container {
	file := func(p string) string { return filepath.Join(root, p) }
	exists := func(p string) bool { _, err := os.Stat(file(p)); return err == nil }
	var c Container
	switch {
	case getenv("KUBERNETES_SERVICE_HOST") != "":
		c = Container{Runtime: "Kubernetes", Signal: "$KUBERNETES_SERVICE_HOST"}
	case getenv("container") != "":
		v := getenv("container")
		c = Container{Runtime: runtimeName(v), Signal: "$container=" + v}
	case exists("/run/.containerenv"):
		c = Container{Runtime: "Podman", Signal: "/run/.containerenv"}
	case exists("/.dockerenv"):
		c = Container{Runtime: "Docker", Signal: "/.dockerenv"}
	default:
		rt, ok := cgroupRuntime(file("/proc/self/cgroup"))
		if !ok {
			return Container{}
		}
		c = Container{Runtime: rt, Signal: "/proc/self/cgroup"}
	}
	if c.Runtime == "Kubernetes" {
		c.Untrusted = "in Kubernetes, kubectl port-forward connects from the pod's loopback, which needs nothing, and the pod's gateway also carries the node's and kube-proxy's masqueraded traffic"
		return c
	}
	var why []string
	for _, t := range []struct {
		path  string
		parse func(io.Reader) (route, bool)
	}{{"/proc/net/route", parseRoute}, {"/proc/net/ipv6_route", parseIPv6Route}} {
		f, err := os.Open(file(t.path))
		if err != nil {
			continue
		}
		r, ok := t.parse(f)
		f.Close()
		if !ok {
			continue
		}
		if reason := vethEnd(root, r.iface); reason != "" {
			why = append(why, fmt.Sprintf("%s leaves through %s, %s", r.gw, r.iface, reason))
			continue
		}
		c.Gateways = append(c.Gateways, r.gw)
	}
	switch {
	case len(c.Gateways) > 0:
	case len(why) > 0:
		c.Untrusted = strings.Join(why, "; ") + ", which is not a container's bridge (the host's own network?)"
	default:
		c.Untrusted = "there is no default route"
	}
	return c
}

func runtimeName(v string) string {
	switch strings.ToLower(v) {
	case "docker":
		return "Docker"
	case "podman":
		return "Podman"
	case "lxc", "lxc-libvirt":
		return "LXC"
	case "oci":
		return "an OCI container"
	}
	return v
}

// cgroupRuntime recognizes a container runtime's cgroup path.
func cgroupRuntime(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		p := parts[2]
		switch {
		case strings.Contains(p, "/kubepods"):
			return "Kubernetes", true
		case strings.Contains(p, "/libpod-") || strings.Contains(p, "/libpod_parent"):
			return "Podman", true
		case strings.Contains(p, "/docker/") || strings.Contains(p, "/docker-"):
			return "Docker", true
		case strings.HasPrefix(p, "/lxc/") || strings.HasPrefix(p, "/lxc.payload"):
			return "LXC", true
		}
	}
	return "", false
}

// vethEnd returns "" if iface is one end of a link whose other end is in
// another namespace, or what it is instead.
func vethEnd(root, iface string) string {
	dir := filepath.Join(root, "/sys/class/net", iface)
	if _, err := os.Stat(dir); err != nil {
		return "which /sys/class/net does not show"
	}
	if _, err := os.Stat(filepath.Join(dir, "device")); err == nil {
		return "a hardware interface"
	}
	idx, err1 := readInt(filepath.Join(dir, "ifindex"))
	link, err2 := readInt(filepath.Join(dir, "iflink"))
	if err1 != nil || err2 != nil {
		return "whose link /sys/class/net does not show"
	}
	if idx == link {
		return "a virtual interface that is not one end of a veth pair"
	}
	return ""
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

type route struct {
	gw    netip.Addr
	iface string
}

// Route flags, from linux/route.h.
const (
	rtfUp      = 0x1
	rtfGateway = 0x2
)

// parseRoute finds the IPv4 default route of lowest metric in the format
// of /proc/net/route:
//
//	Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask	...
//	eth0	00000000	010011AC	0003	0	0	0	00000000	...
//
// Addresses are the kernel's 32-bit words in hex, in the machine's byte
// order: 010011AC is 172.17.0.1 on a little-endian machine.
func parseRoute(r io.Reader) (route, bool) {
	var best route
	bestMetric := -1
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, gw, mask := hexWord(f[1]), hexWord(f[2]), hexWord(f[7])
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.Atoi(f[6])
		if !dst.IsValid() || !gw.IsValid() || !mask.IsValid() || err1 != nil || err2 != nil {
			continue
		}
		if !dst.IsUnspecified() || !mask.IsUnspecified() || flags&(rtfUp|rtfGateway) != rtfUp|rtfGateway || gw.IsUnspecified() {
			continue
		}
		if bestMetric < 0 || metric < bestMetric {
			best, bestMetric = route{gw: gw, iface: f[0]}, metric
		}
	}
	return best, bestMetric >= 0
}

func hexWord(s string) netip.Addr {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		return netip.Addr{}
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return netip.AddrFrom4(b)
}

// parseIPv6Route finds the IPv6 default route of lowest metric in the
// format of /proc/net/ipv6_route: destination, its prefix length,
// source, its prefix length, next hop, metric, use, refcount, flags, all
// in hex (addresses in network order), and the interface.
func parseIPv6Route(r io.Reader) (route, bool) {
	var best route
	var bestMetric uint64
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		dst, gw := hex16(f[0]), hex16(f[4])
		dstLen, err1 := strconv.ParseUint(f[1], 16, 8)
		metric, err2 := strconv.ParseUint(f[5], 16, 32)
		flags, err3 := strconv.ParseUint(f[8], 16, 32)
		if !dst.IsValid() || !gw.IsValid() || err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if !dst.IsUnspecified() || dstLen != 0 || flags&(rtfUp|rtfGateway) != rtfUp|rtfGateway || gw.IsUnspecified() {
			continue
		}
		if gw.IsLinkLocalUnicast() {
			gw = gw.WithZone(f[9])
		}
		if !found || metric < bestMetric {
			best, bestMetric, found = route{gw: gw, iface: f[9]}, metric, true
		}
	}
	return best, found
}

func hex16(s string) netip.Addr {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b))
}
