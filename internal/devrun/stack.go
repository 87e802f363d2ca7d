package devrun

import (
	"strings"

	"github.com/panicroom/panicroom/internal/gostack"
)

// A Crash is what a dying Go program wrote to stderr: the reason
// ("panic: ...", "fatal error: ..."), then, with GOTRACEBACK=all, every
// goroutine's stack. The runner reads it from the tail of the app's stderr,
// so the traceback is whatever followed the last reason line.
type Crash struct {
	// Reason is the first line of the header ("panic: boom",
	// "fatal error: concurrent map writes").
	Reason string `json:"reason"`
	// Header is every line from Reason to the first goroutine: nested
	// panics ("panic: x [recovered]" then "\tpanic: y"), the signal line.
	Header     []string    `json:"header"`
	Goroutines []Goroutine `json:"-"`
	// Groups holds the goroutines with identical stacks together, the
	// goroutine that crashed first.
	Groups []Group `json:"groups"`
	// Before is what the app wrote to stderr before the report, its log's
	// last words.
	Before string `json:"-"`
}

// Goroutine, StackFrame and Group are package gostack's, which the
// traceback pages share.
type (
	Goroutine  = gostack.Goroutine
	StackFrame = gostack.Frame
	Group      = gostack.Group
)

// isReason reports whether line starts a crash report: a panic, a fatal
// error of the runtime, or a fatal signal.
func isReason(line string) bool {
	for _, p := range []string{"panic: ", "fatal error: ", "runtime: ", "SIGABRT:", "SIGQUIT:", "SIGSEGV:", "SIGBUS:", "SIGILL:", "SIGTRAP:", "SIGFPE:"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// ParseCrash finds the last crash report in out, the tail of a program's
// stderr, and parses it. It returns nil when out holds none (log.Fatal,
// os.Exit, a kill).
func ParseCrash(out string) *Crash {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	// The report is at the end: the last reason line that a goroutine
	// header follows. Log lines before it may look like anything.
	start := -1
	firstG := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if gostack.IsHeader(lines[i]) {
			firstG = i
			continue
		}
		if firstG >= 0 && isReason(lines[i]) {
			start = i
			// A nested panic's first line comes before the one found
			// when the header holds several: keep walking while the
			// lines above belong to it.
			for start > 0 && isReason(lines[start-1]) {
				start--
			}
			break
		}
	}
	if start < 0 {
		// A reason without goroutines (GOTRACEBACK=none): still a crash.
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "panic: ") || strings.HasPrefix(lines[i], "fatal error: ") {
				return &Crash{Reason: lines[i], Header: []string{lines[i]}}
			}
		}
		return nil
	}
	c := &Crash{Reason: lines[start], Before: strings.Join(lines[:start], "\n")}
	i := start
	for ; i < len(lines) && !gostack.IsHeader(lines[i]); i++ {
		if lines[i] != "" {
			c.Header = append(c.Header, lines[i])
		}
	}
	c.Goroutines = gostack.Parse(lines[i:])
	alone := -1
	if len(c.Goroutines) > 0 {
		alone = c.Goroutines[0].ID
	}
	c.Groups = gostack.GroupOf(c.Goroutines, alone)
	return c
}
