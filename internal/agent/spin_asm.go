//go:build amd64 || arm64

package agent

// spin is in spin_amd64.s and spin_arm64.s.
func spin(stop *uint32)
