package procfs

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CanFindListeners is true where ListeningAddrs can read a process's
// sockets.
const CanFindListeners = true

// ListeningAddrs returns the TCP addresses process pid listens on: the
// inodes of its socket descriptors (/proc/PID/fd) matched against the
// listening sockets of its network namespace (/proc/PID/net/tcp and tcp6,
// state 0A). It reads the app's own answer to where it listens, whatever
// its code passed to Listen, and needs nothing from the app.
func ListeningAddrs(pid int) ([]netip.AddrPort, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	// /proc/PID/net is the namespace of the process's first thread, which
	// need not be where its sockets are (a thread that joined another
	// network namespace, as namespace tests do): read each namespace its
	// threads are in, once.
	dirs := []string{fmt.Sprintf("/proc/%d", pid)}
	if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		seen := map[string]bool{}
		dirs = dirs[:0]
		for _, task := range tasks {
			dir := fmt.Sprintf("/proc/%d/task/%s", pid, task.Name())
			ns, err := os.Readlink(dir + "/ns/net")
			if err != nil || seen[ns] {
				continue
			}
			seen[ns] = true
			dirs = append(dirs, dir)
		}
	}
	var out []netip.AddrPort
	for _, dir := range dirs {
		for _, name := range []string{"tcp", "tcp6"} {
			f, err := os.Open(dir + "/net/" + name)
			if err != nil {
				continue // no IPv6 in this kernel
			}
			out = append(out, parseProcNetTCP(bufio.NewScanner(f), inodes)...)
			f.Close()
		}
	}
	return out, nil
}

// parseProcNetTCP reads the listening sockets among inodes from a
// /proc/net/tcp{,6} table:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	 0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ...
func parseProcNetTCP(sc *bufio.Scanner, inodes map[string]bool) []netip.AddrPort {
	var out []netip.AddrPort
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
			continue
		}
		if ap, ok := parseHexAddrPort(f[1]); ok {
			out = append(out, ap)
		}
	}
	return out
}

// parseHexAddrPort decodes "0100007F:1F90": the address as the kernel's
// 32-bit words in host byte order (little-endian on every platform Go's
// console runs on), the port in big-endian hex.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	b, err := hex.DecodeString(a)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
