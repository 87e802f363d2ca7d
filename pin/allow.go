package pin

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// AllowEnvVar is the environment variable that lists remote addresses
// allowed besides loopback ones, separated by commas: IP addresses
// ("192.168.1.20", "fd00::5") and CIDR prefixes ("10.0.0.0/8"). See
// [ParseAllow].
const AllowEnvVar = "PANICROOM_ALLOW"

// ParseAllow parses one entry of [AllowEnvVar] or Config.Allow: an IPv4 or
// IPv6 address, which stands for itself, or a CIDR prefix, whose host bits
// are ignored ("10.1.2.3/8" is 10.0.0.0/8). An IPv4-mapped IPv6 address
// is its IPv4 address. Names are refused, not resolved: what a name
// resolves to can change under a running app, and with it who may run code
// in it. So are ports, which do not identify a client, and zones: an entry
// without one matches the address on every interface.
func ParseAllow(entry string) (netip.Prefix, error) {
	p, err := parseAllow(entry)
	if err != nil {
		return netip.Prefix{}, errors.New("pin: " + err.Error())
	}
	return p, nil
}

func parseAllow(entry string) (netip.Prefix, error) {
	s := strings.TrimSpace(entry)
	if s == "" {
		return netip.Prefix{}, errors.New("an allowed address is empty")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix (such as 172.17.0.1, 10.0.0.0/8 or fd00::/8)", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix (such as 172.17.0.1, 10.0.0.0/8 or fd00::/8)%s", s, allowHint(s))
	}
	if ip.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q has a zone: write %s, which matches on every interface", s, ip.WithZone(""))
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// allowHint names the likely mistake in an entry that is not an address.
func allowHint(s string) string {
	if s == "*" {
		return `; to allow every address, use panicroom.WithAllowRemote(true)`
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return fmt.Sprintf("; leave out the port: %s", ap.Addr())
	}
	if _, ok := parseHost(s); ok && strings.ContainsFunc(s, isLetter) {
		return "; names are not resolved, give the address"
	}
	return ""
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// ParseAllowList parses a comma-separated list in the syntax of
// [AllowEnvVar]. Empty entries are skipped. It returns the valid entries,
// and an error naming every invalid one, which is left out: leaving one
// out can only refuse a client, never let one in.
func ParseAllowList(list string) ([]netip.Prefix, error) {
	out, bad := parseAllowList(list)
	if bad != "" {
		return out, errors.New("pin: " + bad)
	}
	return out, nil
}

// parseAllowList returns the valid entries and the reasons for the
// invalid ones, on one line, for a log.
func parseAllowList(list string) ([]netip.Prefix, string) {
	var (
		out []netip.Prefix
		bad []string
	)
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		p, err := parseAllow(e)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, p)
	}
	return out, strings.Join(bad, "; ")
}

// AllowFromEnv is [ParseAllowList] of the [AllowEnvVar] environment
// variable. Its error names the variable and every invalid entry, on one
// line, so that the caller can log it as it is.
func AllowFromEnv() ([]netip.Prefix, error) {
	out, bad := parseAllowList(os.Getenv(AllowEnvVar))
	if bad != "" {
		return out, fmt.Errorf("%s: %s; the other entries apply", AllowEnvVar, bad)
	}
	return out, nil
}

// remoteRule is check 1 of [Authorize]: which clients may see the pages
// and use the console, by their address.
type remoteRule struct {
	any       bool
	allow     []netip.Prefix
	container Container
}

func newRemoteRule(c Config) remoteRule {
	r := remoteRule{any: c.AllowRemote, container: c.Container}
	for _, p := range c.Allow {
		if p.IsValid() {
			r.allow = append(r.allow, p.Masked())
		}
	}
	return r
}

// remoteError refuses a client by its address. It is ErrRemote to
// errors.Is, and its message names the address and how to allow it.
type remoteError struct{ msg string }

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return target == ErrRemote }

// check returns nil if a client at addr (an http.Request's RemoteAddr,
// with or without a port) may see the debugger. A Unix-socket listener
// reports no address, which is refused: the connection may come from a
// proxy relaying anyone.
func (r remoteRule) check(addr string) error {
	if r.any {
		return nil
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return &remoteError{fmt.Sprintf("the remote address %q is not an IP address, so it cannot be told apart from a proxy relaying anyone: listen on TCP", addr)}
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return nil
	}
	for _, g := range r.container.Gateways {
		// A link-local gateway is only itself on its own interface: the
		// same address on another link is another machine.
		if ip.WithZone("") == g.WithZone("") && (g.Zone() == "" || ip.Zone() == g.Zone()) {
			return nil
		}
	}
	bare := ip.WithZone("")
	for _, p := range r.allow {
		if p.Contains(bare) {
			return nil
		}
	}
	msg := fmt.Sprintf("the remote address %s is not a loopback address and is not allowed: if the browser is there on purpose, start the app with %s=%s in its environment, or call panicroom.WithAllow(%q); the PIN still guards the console", ip, AllowEnvVar, bare, bare.String())
	if note := r.container.Summary(); note != "" {
		msg += " (" + note + ")"
	}
	return &remoteError{msg}
}
