// Package gostack parses the goroutine dumps the Go runtime writes
// (runtime.Stack with all set, a crash under GOTRACEBACK=all) and groups
// goroutines whose stacks are the same. The traceback pages use it for the
// goroutines at the moment of a panic, and panicroom run for a crash's
// stderr.
//
// github.com/maruel/panicparse/v2 does the same and was measured against
// this parser on a dump of 10,000 goroutines (1.4 MB): 75–145 ms to parse
// and group there, against 70–100 ms here, on the same loaded machine. It
// would add a module (and its go.mod's color packages) to the graph of
// every app that imports panicroom, for a format this package parses in
// two hundred lines that the runner already needed.
package gostack

import (
	"strconv"
	"strings"
)

// Goroutine is one "goroutine N [state]:" block.
type Goroutine struct {
	ID    int
	State string // "running", "chan receive", "sync.Mutex.Lock"...
	// Attrs are the rest of the bracket: "2 minutes", "locked to thread".
	Attrs     []string
	Frames    []Frame
	CreatedBy *Frame
	CreatedIn int // the goroutine that ran the go statement, 0 if not said
	// Elided is set when the runtime left frames out of a deep stack.
	Elided bool
	// Note is a line the runtime wrote instead of a stack ("goroutine
	// running on other thread; stack unavailable").
	Note string
}

// Frame is one function line and its file line.
type Frame struct {
	Function string `json:"function"`
	Args     string `json:"args,omitempty"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// Group is a set of goroutines whose stacks are the same: same state, same
// functions at the same lines, created by the same go statement. The
// arguments are left out of the comparison: they are pointers and loop
// counters that differ between otherwise identical workers; so are the
// minutes a goroutine has waited, which MinWait and MaxWait sum up.
type Group struct {
	IDs       []int    `json:"ids"`
	State     string   `json:"state"`
	Attrs     []string `json:"attrs,omitempty"`
	Frames    []Frame  `json:"frames"`
	CreatedBy *Frame   `json:"created_by,omitempty"`
	Elided    bool     `json:"elided,omitempty"`
	Note      string   `json:"note,omitempty"`
	// MinWait and MaxWait are the shortest and longest waits in the
	// group, in minutes. The runtime says how long a goroutine has been
	// blocked only from one minute on, so 0 means "under a minute".
	MinWait int `json:"min_wait,omitempty"`
	MaxWait int `json:"max_wait,omitempty"`
	// Crashed marks the group of the goroutine given to Group as alone:
	// the one that panicked.
	Crashed bool `json:"crashed,omitempty"`
}

// parseHeader parses "goroutine 7 [chan receive, 2 minutes]:", and under
// GOTRACEBACK=system or crash "goroutine 7 gp=0x... m=0 mp=0x... [running]:".
// By hand, not by regular expression: a dump of 10,000 goroutines has as
// many headers, and the expression took a quarter of the capture.
func parseHeader(line string) (id int, bracket string, ok bool) {
	rest, ok := strings.CutPrefix(line, "goroutine ")
	if !ok || !strings.HasSuffix(rest, "]:") {
		return 0, "", false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n == len(rest) || rest[n] != ' ' {
		return 0, "", false
	}
	id, err := strconv.Atoi(rest[:n])
	i := strings.Index(rest[n:], "[")
	if err != nil || i < 0 {
		return 0, "", false
	}
	mid := rest[n : n+i]
	for _, kv := range strings.Fields(mid) {
		if !strings.Contains(kv, "=") {
			return 0, "", false
		}
	}
	bracket = rest[n+i+1 : len(rest)-2]
	if strings.ContainsAny(bracket, "[]") {
		return 0, "", false
	}
	return id, bracket, true
}

// parseCreated parses "created by main.main in goroutine 1" (the "in
// goroutine" part since Go 1.21).
func parseCreated(line string) (fn string, in int, ok bool) {
	rest, ok := strings.CutPrefix(line, "created by ")
	if !ok || rest == "" {
		return "", 0, false
	}
	if i := strings.LastIndex(rest, " in goroutine "); i >= 0 {
		if n, err := strconv.Atoi(rest[i+len(" in goroutine "):]); err == nil {
			return rest[:i], n, true
		}
	}
	return rest, 0, true
}

// IsHeader reports whether line starts a goroutine's block.
func IsHeader(line string) bool {
	_, _, ok := parseHeader(line)
	return ok
}

// Parse parses the goroutine blocks in lines. Lines before the first
// header are skipped; so are lines after the last block that are not part
// of one ("exit status 2").
func Parse(lines []string) []Goroutine {
	var out []Goroutine
	var g *Goroutine
	var pending *Frame // a function line waiting for its file line
	var pendingCreated bool
	flush := func() {
		if g != nil {
			out = append(out, *g)
		}
		g, pending = nil, nil
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "goroutine ") {
			if id, bracket, ok := parseHeader(line); ok {
				flush()
				parts := strings.Split(bracket, ", ")
				g = &Goroutine{ID: id, State: parts[0], Attrs: parts[1:]}
				continue
			}
		}
		if g == nil {
			continue
		}
		switch {
		case line == "":
			// A blank line ends a goroutine; what follows is another one
			// or the end of the report.
			flush()
		case strings.HasPrefix(line, "\t") && pending != nil:
			pending.File, pending.Line = fileLine(line)
			if pendingCreated {
				g.CreatedBy = pending
			} else {
				g.Frames = append(g.Frames, *pending)
			}
			pending, pendingCreated = nil, false
		case line == "...additional frames elided...":
			g.Elided = true
		case strings.HasPrefix(line, "\t"):
			g.Note = strings.TrimSpace(line)
		default:
			if fn, in, ok := parseCreated(line); ok {
				pending, pendingCreated = &Frame{Function: fn}, true
				g.CreatedIn = in
				continue
			}
			fn, args := splitCall(line)
			pending, pendingCreated = &Frame{Function: fn, Args: args}, false
		}
	}
	flush()
	return out
}

// fileLine parses "\t/path/file.go:12 +0x1d", possibly followed by
// " fp=... sp=... pc=...". Paths may hold spaces and colons (a Windows
// drive), so the line number is the digits after the last colon before
// the first " +0x" or the end.
func fileLine(s string) (string, int) {
	s = s[1:]
	if i := strings.Index(s, " +0x"); i >= 0 {
		s = s[:i]
	} else if i := strings.Index(s, " fp="); i >= 0 {
		s = s[:i]
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}

// splitCall splits "main.(*T).work(0x1, 0x2)" into the function and its
// arguments. Names hold parentheses of their own (method receivers,
// generic instantiations "F[...]"), so the arguments are the last
// parenthesized part.
func splitCall(line string) (fn, args string) {
	if !strings.HasSuffix(line, ")") {
		return line, ""
	}
	i := strings.LastIndexByte(line, '(')
	if i <= 0 {
		return line, ""
	}
	return line[:i], line[i+1 : len(line)-1]
}

// waitMinutes returns the minutes of an attribute such as "2 minutes".
func waitMinutes(a string) (int, bool) {
	n, unit, ok := strings.Cut(a, " ")
	if !ok || (unit != "minutes" && unit != "minute") {
		return 0, false
	}
	m, err := strconv.Atoi(n)
	return m, err == nil
}

// GroupOf groups gs by identical stacks, in the order each stack first
// appears. The goroutine whose id is alone (the one that panicked) stands
// in its own group, marked Crashed, even if a worker has the same stack:
// it is the one the page is about. Pass a negative id for none.
func GroupOf(gs []Goroutine, alone int) []Group {
	var out []Group
	index := map[string]int{}
	var k strings.Builder
	for _, g := range gs {
		k.Reset()
		k.WriteString(g.State)
		wait, waited := 0, false
		for _, a := range g.Attrs {
			if m, ok := waitMinutes(a); ok {
				wait, waited = m, true
				continue
			}
			// "locked to thread" is a fact about the stack's owner.
			k.WriteString("|" + a)
		}
		for _, f := range g.Frames {
			k.WriteString("\n" + f.Function + "@" + f.File + ":" + strconv.Itoa(f.Line))
		}
		if g.CreatedBy != nil {
			k.WriteString("\ncreated by " + g.CreatedBy.Function + "@" + g.CreatedBy.File + ":" + strconv.Itoa(g.CreatedBy.Line))
		}
		k.WriteString("\n" + g.Note)
		key := k.String()
		if g.ID == alone {
			key = "\x00alone"
		}
		if i, ok := index[key]; ok {
			o := &out[i]
			o.IDs = append(o.IDs, g.ID)
			o.MinWait, o.MaxWait = min(o.MinWait, wait), max(o.MaxWait, wait)
			continue
		}
		index[key] = len(out)
		attrs := g.Attrs
		if waited {
			attrs = nil
			for _, a := range g.Attrs {
				if _, ok := waitMinutes(a); !ok {
					attrs = append(attrs, a)
				}
			}
		}
		out = append(out, Group{IDs: []int{g.ID}, State: g.State, Attrs: attrs, Frames: g.Frames, CreatedBy: g.CreatedBy,
			Elided: g.Elided, Note: g.Note, MinWait: wait, MaxWait: wait, Crashed: g.ID == alone})
	}
	return out
}

// WaitText says how long a group has waited, as the runtime would for one
// goroutine: "" under a minute, "3 minutes", "2–5 minutes".
func WaitText(minWait, maxWait int) string {
	switch {
	case maxWait == 0:
		return ""
	case minWait == maxWait && maxWait == 1:
		return "1 minute"
	case minWait == maxWait:
		return strconv.Itoa(maxWait) + " minutes"
	}
	return strconv.Itoa(minWait) + "–" + strconv.Itoa(maxWait) + " minutes"
}
