package pin

import (
	"os"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// The parsers read a real routing table: a network namespace whose
// default routes, IPv4 and IPv6, point at the other end of a veth pair,
// as a container's on Docker's bridge do.
func TestDefaultGatewayOfANamespace(t *testing.T) {
	b := testapp.NewBridge(t)
	var v4, v6 route
	var ok4, ok6 bool
	err := b.InApp(func() error {
		f, err := os.Open("/proc/thread-self/net/route")
		if err != nil {
			return err
		}
		defer f.Close()
		v4, ok4 = parseRoute(f)
		f6, err := os.Open("/proc/thread-self/net/ipv6_route")
		if err != nil {
			return err
		}
		defer f6.Close()
		v6, ok6 = parseIPv6Route(f6)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ok4 || v4.gw.String() != b.Gateway {
		t.Errorf("IPv4 default gateway %v (found %v), want %s", v4.gw, ok4, b.Gateway)
	}
	if !ok6 || v6.gw.String() != b.Gateway6 {
		t.Errorf("IPv6 default gateway %v (found %v), want %s", v6.gw, ok6, b.Gateway6)
	}
	if v4.iface == "" || v4.iface != v6.iface {
		t.Errorf("interfaces %q and %q, want the veth end for both", v4.iface, v6.iface)
	}
}
