package pin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAllow(t *testing.T) {
	valid := []struct{ in, want string }{
		{"172.17.0.1", "172.17.0.1/32"},
		{" 10.0.0.0/8 ", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"}, // host bits dropped, not an error
		{"fd00::5", "fd00::5/128"},
		{"fd00::/8", "fd00::/8"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
	}
	for _, tt := range valid {
		p, err := ParseAllow(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseAllow(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	invalid := []struct{ in, hint string }{
		{"", "empty"},
		{" 10.0.0.1:8080 ", `pin: "10.0.0.1:8080" is not`},
		{"  ", "empty"},
		{"*", "WithAllowRemote(true)"},
		{"host.docker.internal", "names are not resolved"},
		{"localhost", "names are not resolved"},
		{"10.0.0.1:8080", "leave out the port: 10.0.0.1"},
		{"[fd00::1]:8080", "leave out the port: fd00::1"},
		{"10.0.0.1/33", "not an IP address or CIDR prefix"},
		{"10.0.0.0/8/8", "not an IP address or CIDR prefix"},
		{"10.0.0", "not an IP address or CIDR prefix"},
		{"010.0.0.1", "not an IP address or CIDR prefix"}, // octal or decimal? neither: refused
		{"0x0a.0.0.1", "not an IP address or CIDR prefix"},
		{"fe80::1%eth0", "has a zone: write fe80::1"},
		{"10.0.0.1 10.0.0.2", "not an IP address or CIDR prefix"},
	}
	for _, tt := range invalid {
		p, err := ParseAllow(tt.in)
		if err == nil {
			t.Errorf("ParseAllow(%q) = %v, want an error", tt.in, p)
			continue
		}
		if !strings.Contains(err.Error(), tt.hint) {
			t.Errorf("ParseAllow(%q): %v; want it to say %q", tt.in, err, tt.hint)
		}
	}
}

// A list keeps its valid entries and names every invalid one: an entry
// left out narrows who may connect, and the caller logs why.
func TestAllowFromEnv(t *testing.T) {
	t.Setenv(AllowEnvVar, "172.17.0.1, host.docker.internal,,10.0.0.0/8,10.0.0.1:80 ")
	got, err := AllowFromEnv()
	if len(got) != 2 || got[0].String() != "172.17.0.1/32" || got[1].String() != "10.0.0.0/8" {
		t.Errorf("entries %v, want 172.17.0.1/32 and 10.0.0.0/8", got)
	}
	if err == nil {
		t.Fatal("no error for two invalid entries")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans lines; it is logged as one", err)
	}
	for _, want := range []string{AllowEnvVar + ": ", `"host.docker.internal" is not`, "names are not resolved", `"10.0.0.1:80" is not`, "leave out the port: 10.0.0.1", "the other entries apply"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Setenv(AllowEnvVar, "")
	if got, err := AllowFromEnv(); len(got) != 0 || err != nil {
		t.Errorf("empty %s: %v, %v", AllowEnvVar, got, err)
	}
}

func prefixes(t *testing.T, list ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// TestAuthorizeAllowed: the addresses Config.Allow and a container's
// gateways let in, and the ones they must not — a neighbour on the
// container's bridge, a LAN machine, the gateway's address on another
// link — with the Host, PIN and secret checks unchanged for those let in.
func TestAuthorizeAllowed(t *testing.T) {
	docker := Container{Runtime: "Docker", Signal: "/.dockerenv",
		Gateways: []netip.Addr{netip.MustParseAddr("172.17.0.1"), netip.MustParseAddr("fd00:dead::1")}}
	g := newFixture(t, Config{Container: docker, Allow: prefixes(t, "10.8.0.0/16", "fd00:1::/64")}).g
	linkLocal := newFixture(t, Config{Container: Container{Runtime: "Docker", Signal: "/.dockerenv",
		Gateways: []netip.Addr{netip.MustParseAddr("fe80::1").WithZone("eth0")}}}).g
	kube := newFixture(t, Config{Container: Container{Runtime: "Kubernetes", Signal: "$KUBERNETES_SERVICE_HOST", Untrusted: "kubectl port-forward connects from the pod's loopback"}}).g
	zero := newFixture(t, Config{Allow: []netip.Prefix{{}}}).g

	tests := []struct {
		name   string
		g      *Guard
		remote string
		host   string
		cookie bool
		status int
		reason []string
	}{
		{name: "gateway, PIN missing", remote: "172.17.0.1:51000", status: 401},
		{name: "gateway with the PIN", remote: "172.17.0.1:51000", cookie: true, status: 200},
		{name: "gateway as IPv4-mapped", remote: "[::ffff:172.17.0.1]:51000", status: 401},
		{name: "gateway forging its Host", remote: "172.17.0.1:51000", host: "evil.example:8080", status: 403, reason: []string{`Host header "evil.example:8080" is not a trusted host`}},
		{name: "IPv6 gateway", remote: "[fd00:dead::1]:51000", cookie: true, status: 200},
		{name: "neighbour on the bridge", remote: "172.17.0.3:51000", status: 403,
			reason: []string{"remote address 172.17.0.3 is not a loopback address", "PANICROOM_ALLOW=172.17.0.3", `panicroom.WithAllow("172.17.0.3")`, "runs in Docker (/.dockerenv) and trusts its default gateway 172.17.0.1 and fd00:dead::1"}},
		{name: "LAN machine", remote: "192.168.1.5:51000", status: 403, reason: []string{"PANICROOM_ALLOW=192.168.1.5"}},
		{name: "IPv6 neighbour", remote: "[fd00:dead::2]:51000", status: 403, reason: []string{"PANICROOM_ALLOW=fd00:dead::2", `WithAllow("fd00:dead::2")`}},
		{name: "allowed prefix", remote: "10.8.3.4:51000", cookie: true, status: 200},
		{name: "allowed prefix, forged Host", remote: "10.8.3.4:51000", host: "evil.example", status: 403, reason: []string{"not a trusted host"}},
		{name: "next to the allowed prefix", remote: "10.9.0.1:51000", status: 403, reason: []string{"PANICROOM_ALLOW=10.9.0.1"}},
		{name: "allowed IPv6 prefix with a zone", remote: "[fd00:1::5%eth0]:51000", status: 401},
		{name: "link-local gateway on its link", g: linkLocal, remote: "[fe80::1%eth0]:51000", status: 401},
		{name: "link-local gateway's address on another link", g: linkLocal, remote: "[fe80::1%eth1]:51000", status: 403, reason: []string{"fe80::1%eth1 is not a loopback address", "PANICROOM_ALLOW=fe80::1"}},
		{name: "link-local gateway's address without a link", g: linkLocal, remote: "[fe80::1]:51000", status: 403},
		{name: "Kubernetes trusts no gateway", g: kube, remote: "10.244.0.1:51000", status: 403,
			reason: []string{"PANICROOM_ALLOW=10.244.0.1", "runs in Kubernetes ($KUBERNETES_SERVICE_HOST); its default gateway is not trusted: kubectl port-forward"}},
		{name: "a zero prefix matches nothing", g: zero, remote: "192.168.1.5:51000", status: 403, reason: []string{"PANICROOM_ALLOW=192.168.1.5"}},
		{name: "loopback still allowed", g: zero, remote: "127.0.0.1:51000", status: 401},
		{name: "no container, no note", g: zero, remote: "172.17.0.1:51000", status: 403, reason: []string{"the PIN still guards the console"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard := tt.g
			if guard == nil {
				guard = g
			}
			r := httptest.NewRequest("GET", "/__panicroom__/eval", nil)
			r.RemoteAddr = tt.remote
			r.Host = orDefault(tt.host, "localhost:8080")
			r.Header.Set(SecretHeader, guard.Secret())
			if tt.cookie {
				r.AddCookie(&http.Cookie{Name: guard.cookieName, Value: guard.cookieValue(testNow)})
			}
			d := Authorize(guard, r)
			if d.Status != tt.status {
				t.Fatalf("status %d (%s), want %d", d.Status, d.Reason, tt.status)
			}
			for _, want := range tt.reason {
				if !strings.Contains(d.Reason, want) {
					t.Errorf("reason %q does not say %q", d.Reason, want)
				}
			}
			if tt.name == "no container, no note" && strings.Contains(d.Reason, "runs in") {
				t.Errorf("reason %q mentions a container outside one", d.Reason)
			}
		})
	}
}

// CheckPageRequest applies the same address rule without a Guard, from
// the same Config fields.
func TestCheckPageRequestAllowed(t *testing.T) {
	c := Config{Allow: prefixes(t, "192.168.1.0/24"), Container: Container{Runtime: "Podman", Signal: "/run/.containerenv", Gateways: []netip.Addr{netip.MustParseAddr("10.88.0.1")}}}
	for _, tt := range []struct {
		remote string
		ok     bool
	}{
		{"192.168.1.77:1", true},
		{"10.88.0.1:1", true},
		{"10.88.0.2:1", false},
		{"192.168.2.1:1", false},
		{"[::1]:1", true},
	} {
		r := httptest.NewRequest("GET", "/__panicroom__/", nil)
		r.RemoteAddr, r.Host = tt.remote, "localhost:8080"
		err := CheckPageRequest(r, c)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want allowed=%v", tt.remote, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRemote) {
			t.Errorf("%s: %v is not ErrRemote", tt.remote, err)
		}
	}
	all := Config{AllowRemote: true}
	r := httptest.NewRequest("GET", "/__panicroom__/", nil)
	r.RemoteAddr, r.Host = "203.0.113.9:1", "localhost"
	if err := CheckPageRequest(r, all); err != nil {
		t.Errorf("AllowRemote: %v", err)
	}
	r.Host = "evil.example"
	if err := CheckPageRequest(r, all); err == nil || errors.Is(err, ErrRemote) {
		t.Errorf("AllowRemote with a forged Host: %v, want the Host refused", err)
	}
}
