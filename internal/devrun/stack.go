package devrun

import (
	"regexp"
	"strconv"
	"strings"
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

// Goroutine is one "goroutine N [state]:" block.
type Goroutine struct {
	ID    int
	State string // "running", "chan receive", "sync.Mutex.Lock"...
	// Attrs are the rest of the bracket: "2 minutes", "locked to thread".
	Attrs     []string
	Frames    []StackFrame
	CreatedBy *StackFrame
	CreatedIn int // the goroutine that ran the go statement, 0 if not said
	// Elided is set when the runtime left frames out of a deep stack.
	Elided bool
	// Note is a line the runtime wrote instead of a stack ("goroutine
	// running on other thread; stack unavailable").
	Note string
}

// StackFrame is one function line and its file line.
type StackFrame struct {
	Function string `json:"function"`
	Args     string `json:"args,omitempty"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// Group is a set of goroutines whose stacks are the same: same state, same
// functions at the same lines, created by the same go statement. The
// arguments are left out of the comparison: they are pointers and loop
// counters that differ between otherwise identical workers.
type Group struct {
	IDs       []int        `json:"ids"`
	State     string       `json:"state"`
	Attrs     []string     `json:"attrs,omitempty"`
	Frames    []StackFrame `json:"frames"`
	CreatedBy *StackFrame  `json:"created_by,omitempty"`
	Elided    bool         `json:"elided,omitempty"`
	Note      string       `json:"note,omitempty"`
	// Crashed marks the group of the goroutine the runtime printed first:
	// the one that panicked or hit the fatal error.
	Crashed bool `json:"crashed,omitempty"`
}

var (
	// "goroutine 7 [chan receive, 2 minutes]:", and under
	// GOTRACEBACK=system or crash "goroutine 7 gp=0x... m=0 mp=0x... [running]:".
	goroutineRE = regexp.MustCompile(`^goroutine (\d+)(?: [a-z]+=\S+)* \[([^\]]*)\]:$`)
	// "\t/path/file.go:12 +0x1d", possibly followed by " fp=... sp=... pc=...".
	fileLineRE = regexp.MustCompile(`^\t(.+):(\d+)(?: \+0x[0-9a-f]+)?(?: .*)?$`)
	// "created by main.main in goroutine 1" (the "in goroutine" part since Go 1.21).
	createdRE = regexp.MustCompile(`^created by (.+?)(?: in goroutine (\d+))?$`)
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
		if goroutineRE.MatchString(lines[i]) {
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
	for ; i < len(lines) && !goroutineRE.MatchString(lines[i]); i++ {
		if lines[i] != "" {
			c.Header = append(c.Header, lines[i])
		}
	}
	var g *Goroutine
	var pending *StackFrame // a function line waiting for its file line
	var pendingCreated bool
	flush := func() {
		if g != nil {
			c.Goroutines = append(c.Goroutines, *g)
		}
		g, pending = nil, nil
	}
	for ; i < len(lines); i++ {
		line := lines[i]
		if m := goroutineRE.FindStringSubmatch(line); m != nil {
			flush()
			id, _ := strconv.Atoi(m[1])
			parts := strings.Split(m[2], ", ")
			g = &Goroutine{ID: id, State: parts[0], Attrs: parts[1:]}
			continue
		}
		if g == nil {
			continue
		}
		switch {
		case line == "":
			// A blank line ends a goroutine; what follows is another one
			// or the end of the report ("exit status 2" and such).
			flush()
		case strings.HasPrefix(line, "\t") && pending != nil:
			if m := fileLineRE.FindStringSubmatch(line); m != nil {
				pending.File = m[1]
				pending.Line, _ = strconv.Atoi(m[2])
			}
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
			if m := createdRE.FindStringSubmatch(line); m != nil {
				pending, pendingCreated = &StackFrame{Function: m[1]}, true
				g.CreatedIn, _ = strconv.Atoi(m[2])
				continue
			}
			fn, args := splitCall(line)
			pending, pendingCreated = &StackFrame{Function: fn, Args: args}, false
		}
	}
	flush()
	c.Groups = groupGoroutines(c.Goroutines)
	return c
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

func groupGoroutines(gs []Goroutine) []Group {
	var out []Group
	index := map[string]int{}
	for n, g := range gs {
		var k strings.Builder
		k.WriteString(g.State)
		for _, a := range g.Attrs {
			// "2 minutes" differs between goroutines blocked on the same
			// line; "locked to thread" is a fact about the stack's owner.
			if !strings.HasSuffix(a, "minutes") && !strings.HasSuffix(a, "minute") {
				k.WriteString("|" + a)
			}
		}
		for _, f := range g.Frames {
			k.WriteString("\n" + f.Function + "@" + f.File + ":" + strconv.Itoa(f.Line))
		}
		if g.CreatedBy != nil {
			k.WriteString("\ncreated by " + g.CreatedBy.Function + "@" + g.CreatedBy.File + ":" + strconv.Itoa(g.CreatedBy.Line))
		}
		k.WriteString("\n" + g.Note)
		key := k.String()
		if n == 0 {
			// The crashing goroutine stands alone, even if a worker has the
			// same stack: it is the one the page is about.
			key = "crashed"
		}
		if i, ok := index[key]; ok {
			out[i].IDs = append(out[i].IDs, g.ID)
			continue
		}
		index[key] = len(out)
		out = append(out, Group{IDs: []int{g.ID}, State: g.State, Attrs: g.Attrs, Frames: g.Frames, CreatedBy: g.CreatedBy, Elided: g.Elided, Note: g.Note, Crashed: n == 0})
	}
	return out
}
