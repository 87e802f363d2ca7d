package runenv

import "testing"

func TestValid(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"1a2b3c4d.3", true},
		{"run_1-2", true},
		{"", false},
		{"a\nevent: state", false},
		{`"><script>`, false},
		{"x y", false},
		{string(make([]byte, 65)), false},
	} {
		if got := Valid(c.id); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}
