package pin

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// TrustedHost reports whether host, the value of a Host header, names this
// machine's loopback interface or matches one of extra, patterns of the
// form described at [Config].TrustedHosts. A port is allowed and ignored.
//
// The loopback names are "localhost", any name under ".localhost"
// (RFC 6761 reserves them to loopback), and IP addresses in 127.0.0.0/8 or
// ::1 ("[::1]" with a port, "::1" without). Everything else is refused: this
// is what defeats DNS rebinding, where a page from evil.example whose name
// has been re-pointed at 127.0.0.1 reaches the debugger with
// "Host: evil.example". Names are compared as ASCII after a strict syntax
// check, so neither "localhost.evil.example", "127.0.0.1.nip.io" nor a
// look-alike Unicode name passes.
//
// An invalid pattern in extra matches nothing.
func TrustedHost(host string, extra ...string) bool {
	return trusted(host, validPatterns(extra))
}

// validPatterns parses the valid entries of list and drops the others.
func validPatterns(list []string) []hostPattern {
	patterns := make([]hostPattern, 0, len(list))
	for _, e := range list {
		if p, err := parsePattern(e); err == nil {
			patterns = append(patterns, p)
		}
	}
	return patterns
}

func trusted(host string, patterns []hostPattern) bool {
	h, ok := parseHost(host)
	if !ok {
		return false
	}
	if h.loopback() {
		return true
	}
	for _, p := range patterns {
		if p.match(h) {
			return true
		}
	}
	return false
}

// A hostName is a validated Host without its port: an IP address or a
// lower-case ASCII DNS name.
type hostName struct {
	ip   netip.Addr
	name string
}

func (h hostName) loopback() bool {
	if h.ip.IsValid() {
		return h.ip.Unmap().IsLoopback()
	}
	return h.name == "localhost" || strings.HasSuffix(h.name, ".localhost")
}

// parseHost accepts "name", "name:port", "1.2.3.4", "1.2.3.4:port",
// "[v6]", "[v6]:port" and, since some clients send it, a bare "v6".
func parseHost(s string) (hostName, bool) {
	if s == "" || len(s) > 262 { // 253 for the name, 6 for ":65535", brackets
		return hostName{}, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validPort(s[end+1:], true) {
			return hostName{}, false
		}
		ip, err := netip.ParseAddr(s[1:end])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return hostName{}, false
		}
		return hostName{ip: ip}, true
	}
	if strings.Count(s, ":") > 1 {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return hostName{}, false
		}
		return hostName{ip: ip}, true
	}
	name, port, hasPort := strings.Cut(s, ":")
	if hasPort && !validPort(":"+port, false) {
		return hostName{}, false
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		return hostName{ip: ip}, true
	}
	name, ok := dnsName(name)
	return hostName{name: name}, ok
}

// validPort accepts ":1" to ":65535", and "" if optional.
func validPort(s string, optional bool) bool {
	if s == "" {
		return optional
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 6 || s[1] == '0' {
		return false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// dnsName checks LDH syntax (letters, digits, hyphens; labels of 1 to 63
// bytes, not starting or ending with a hyphen) and lower-cases the name.
// It works on bytes, never runes: Unicode case folding maps some non-ASCII
// letters onto ASCII ones (KELVIN SIGN to "k"), which would let a foreign
// name compare equal to a trusted one. A trailing dot is refused too.
func dnsName(s string) (string, bool) {
	if s == "" || len(s) > 253 {
		return "", false
	}
	b := []byte(s)
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			label := b[start:i]
			if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
				return "", false
			}
			start = i + 1
			continue
		}
		c := b[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		default:
			return "", false
		}
	}
	return string(b), true
}

// A hostPattern is one validated entry of Config.TrustedHosts.
type hostPattern struct {
	host     hostName
	wildcard bool // matches subdomains of host.name, not host.name itself
}

var (
	errPatternPort = errors.New("a trusted host has no port: every port of a trusted host is trusted")
	errPatternAny  = errors.New("a wildcard must name a domain; to accept any Host, replace the authorization function instead")
	errPatternBad  = errors.New("not a host name, *.domain wildcard, or IP address (write internationalized names in their xn-- form)")
)

// CheckTrustedHost reports whether pattern is a valid entry of
// [Config].TrustedHosts, and if not, why. [New] fails on an invalid entry
// and [TrustedHost] ignores it; an app that takes patterns from its own
// configuration checks them here first.
func CheckTrustedHost(pattern string) error {
	if _, err := parsePattern(pattern); err != nil {
		return fmt.Errorf("trusted host %q: %w", pattern, err)
	}
	return nil
}

func parsePattern(s string) (hostPattern, error) {
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		if rest == "" || strings.Contains(rest, "*") {
			return hostPattern{}, errPatternAny
		}
		name, ok := dnsName(rest)
		if !ok {
			return hostPattern{}, errPatternBad
		}
		return hostPattern{host: hostName{name: name}, wildcard: true}, nil
	}
	if strings.Contains(s, "*") {
		return hostPattern{}, errPatternAny
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		if ip.Zone() != "" {
			return hostPattern{}, errPatternBad
		}
		return hostPattern{host: hostName{ip: ip}}, nil
	}
	if strings.Contains(s, ":") {
		return hostPattern{}, errPatternPort
	}
	name, ok := dnsName(s)
	if !ok {
		return hostPattern{}, errPatternBad
	}
	return hostPattern{host: hostName{name: name}}, nil
}

func (p hostPattern) match(h hostName) bool {
	if p.host.ip.IsValid() {
		return h.ip.IsValid() && p.host.ip.Unmap() == h.ip.Unmap()
	}
	if h.name == "" {
		return false
	}
	if p.wildcard {
		return strings.HasSuffix(h.name, "."+p.host.name)
	}
	return h.name == p.host.name
}
