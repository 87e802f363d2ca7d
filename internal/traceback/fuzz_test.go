package traceback

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzContext writes arbitrary bytes as a source file and reads context
// around an arbitrary line: it must never panic, and what it returns must
// be the lines asked for, in order, with exactly the requested one marked
// and every line's HTML free of unescaped markup.
func FuzzContext(f *testing.F) {
	for _, s := range []string{
		"package main\n\nfunc main() {\n\tpanic(1)\n}\n",
		"a\r\nb\r\nc", "x := `\nraw\n`\n/* block\ncomment */\n", "", "\n\n\n", "<script>alert(1)</script>\n",
		"\xff\xfe", "// \"unterminated\n`", strings.Repeat("line\n", 300),
	} {
		f.Add([]byte(s), 3, 7, true)
	}
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, src []byte, line, radius int, goFile bool) {
		if len(src) > 1<<16 {
			return
		}
		n++
		name := filepath.Join(dir, fmt.Sprintf("f%d.txt", n))
		if goFile {
			name = filepath.Join(dir, fmt.Sprintf("f%d.go", n))
		}
		if err := os.WriteFile(name, src, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(name)
		s := NewSources()
		ctx, err := s.Context(name, line, radius)
		if err != nil {
			if !errors.Is(err, ErrNoLine) && !errors.Is(err, ErrNotUTF8) {
				t.Fatalf("unexpected error: %v", err)
			}
			if errors.Is(err, ErrNotUTF8) && utf8.Valid(src) {
				t.Fatalf("valid UTF-8 refused as not UTF-8")
			}
			return
		}
		marked := 0
		lines := ctx.Lines()
		for i, l := range lines {
			if i > 0 && l.Number != lines[i-1].Number+1 {
				t.Fatalf("lines out of order: %d after %d", l.Number, lines[i-1].Number)
			}
			if l.Current {
				marked++
				if l.Number != line {
					t.Fatalf("line %d marked, asked for %d", l.Number, line)
				}
			}
			if strings.Contains(string(l.HTML()), "<script") || strings.Contains(string(l.HTML()), "<img") {
				t.Fatalf("unescaped markup in line %d: %q", l.Number, l.HTML())
			}
		}
		if marked != 1 {
			t.Fatalf("%d lines marked current", marked)
		}
	})
}

type fuzzErr struct {
	msg   string
	inner error
	boom  bool
}

func (e *fuzzErr) Error() string {
	if e.boom {
		panic(e.msg)
	}
	return e.msg
}
func (e *fuzzErr) Unwrap() error { return e.inner }

// FuzzValueOf builds panic values from arbitrary text — strings, wrapped,
// joined and cyclic errors, errors whose Error method panics — and checks
// that ValueOf never panics and keeps its bounds.
func FuzzValueOf(f *testing.F) {
	for _, s := range []string{"boom", "", "<script>alert(1)</script>", strings.Repeat("é", 20000), "\xff\xfe"} {
		f.Add(s, uint8(0), uint8(3))
	}
	f.Fuzz(func(t *testing.T, msg string, kind, depth uint8) {
		// Every wrap repeats msg and the whole message below it: long
		// inputs would only measure fmt on megabytes.
		if len(msg) > 4<<10 {
			return
		}
		var v any
		var e error = &fuzzErr{msg: msg, boom: kind&1 == 1}
		for i := 0; i < int(depth%40); i++ {
			e = fmt.Errorf("wrap %d %s: %w", i, msg, e)
		}
		switch kind % 6 {
		case 0:
			v = msg
		case 1:
			v = e
		case 2:
			v = errors.Join(e, errors.New(msg), nil)
		case 3:
			cyc := &fuzzErr{msg: msg}
			cyc.inner = cyc
			v = cyc
		case 4:
			v = []byte(msg)
		case 5:
			v = struct{ S string }{msg}
		}
		out := ValueOf(v)
		if len(out.Message) > maxMessage+64 {
			t.Fatalf("message of %d bytes", len(out.Message))
		}
		if utf8.ValidString(msg) && !utf8.ValidString(out.Message) {
			t.Fatalf("valid UTF-8 in, invalid out: %q", out.Message)
		}
		if len(out.Chain) > maxChainDepth+1 {
			t.Fatalf("chain of %d links", len(out.Chain))
		}
	})
}
