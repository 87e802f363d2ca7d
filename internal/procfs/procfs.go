// Package procfs reads the few figures of Linux's /proc that panicroom
// needs about its own processes: the agent and its guardian about the app,
// the test suites about the processes they start.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// State is the state letter of pid (R, S, T, Z, ...), or 0 when there is
// no such process.
func State(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces and parentheses of
	// its own; the state follows the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2]
	}
	return 0
}

// Status is the value of field in /proc/pid/status ("12345 kB" for
// VmRSS), or "" when there is no such process or field.
func Status(pid int, field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// StatusInt is the number that Status's value starts with (kB for the
// memory fields), or 0.
func StatusInt(pid int, field string) int {
	f := strings.Fields(Status(pid, field))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// Children lists the live processes whose parent is pid.
func Children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err == nil && StatusInt(p, "PPid") == pid {
			out = append(out, p)
		}
	}
	return out
}
