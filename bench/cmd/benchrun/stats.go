package main

import (
	"fmt"
	"slices"
	"time"
)

// dist is a set of measured durations.
type dist []time.Duration

func (d dist) sorted() dist {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// q is the q-quantile (nearest rank); 0 for no samples.
func (d dist) q(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := d.sorted()
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (d dist) med() time.Duration { return d.q(0.5) }
func (d dist) p99() time.Duration { return d.q(0.99) }
func (d dist) max() time.Duration { return d.q(1) }

// medP99 is "median / p99 (n)".
func (d dist) medP99() string {
	return fmt.Sprintf("%s / %s", ms(d.med()), ms(d.p99()))
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// ms formats a duration in milliseconds with sensible precision.
func ms(d time.Duration) string {
	f := float64(d) / 1e6
	switch {
	case f < 0.1:
		return fmt.Sprintf("%.0f µs", f*1000)
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	default:
		return fmt.Sprintf("%.0f ms", f)
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func kib(n float64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", n/1024)
}
