package procfs

import "testing"

func TestParseHexAddrPort(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000000000000:1F90": "[::]:8080",
		"00000000000000000000000001000000:0050": "[::1]:80",
	} {
		got, ok := parseHexAddrPort(in)
		if !ok || got.String() != want {
			t.Errorf("parseHexAddrPort(%q) = %v %v, want %s", in, got, ok, want)
		}
	}
}
