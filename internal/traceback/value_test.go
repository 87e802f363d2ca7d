package traceback

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

type panickyError struct{}

func (panickyError) Error() string { panic("Error exploded") }

type panickyStringer struct{ id int }

func (panickyStringer) String() string { panic(fmt.Errorf("String exploded")) }

// loopError unwraps to itself forever.
type loopError struct{}

func (e *loopError) Error() string { return "loop" }
func (e *loopError) Unwrap() error { return e }

type point struct{ X, Y int }

func TestValueOf(t *testing.T) {
	var rtErr error
	func() {
		defer func() { rtErr = recover().(runtime.Error) }()
		var s []int
		_ = s[3]
	}()
	var nilErr any
	func() {
		defer func() { nilErr = recover() }()
		panic(nil)
	}()

	wrapped := fmt.Errorf("outer: %w", fmt.Errorf("middle: %w", io.EOF))
	joined := errors.Join(errors.New("a"), fmt.Errorf("b: %w", io.ErrUnexpectedEOF))

	for _, tc := range []struct {
		name                 string
		v                    any
		category, typ, msg   string
		chain                []string // "Type: message" of the top-level chain
		methodPanicSubstring string
	}{
		{name: "string", v: "boom", category: "value", typ: "string", msg: "boom"},
		{name: "struct", v: point{1, 2}, category: "value", typ: "traceback.point", msg: "{X:1 Y:2}"},
		{name: "runtime error", v: rtErr, category: "runtime error", typ: "runtime.boundsError", msg: "runtime error: index out of range [3] with length 0"},
		{name: "panic nil", v: nilErr, category: "nil", typ: "*runtime.PanicNilError", msg: "panic called with nil argument"},
		{name: "wrapped", v: wrapped, category: "error", typ: "*fmt.wrapError", msg: "outer: middle: EOF",
			chain: []string{"*fmt.wrapError: middle: EOF", "*errors.errorString: EOF"}},
		{name: "joined", v: joined, category: "error", typ: "*errors.joinError", msg: "a\nb: unexpected EOF",
			chain: []string{"*errors.joinError: "}},
		{name: "Error panics", v: panickyError{}, category: "error", typ: "traceback.panickyError", msg: "(traceback.panickyError) value", methodPanicSubstring: "Error exploded"},
		{name: "String panics", v: panickyStringer{}, category: "value", typ: "traceback.panickyStringer", msg: "(traceback.panickyStringer) value", methodPanicSubstring: "String exploded"},
		{name: "cyclic unwrap", v: &loopError{}, category: "error", typ: "*traceback.loopError", msg: "loop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ValueOf(tc.v)
			if got.Category != tc.category || got.Type != tc.typ || got.Message != tc.msg {
				t.Errorf("ValueOf = %q %q %q; want %q %q %q", got.Category, got.Type, got.Message, tc.category, tc.typ, tc.msg)
			}
			if tc.methodPanicSubstring != "" && !strings.Contains(got.MethodPanic, tc.methodPanicSubstring) {
				t.Errorf("MethodPanic = %q, want it to mention %q", got.MethodPanic, tc.methodPanicSubstring)
			}
			if tc.chain != nil {
				var links []string
				for _, l := range got.Chain {
					links = append(links, l.Type+": "+l.Message)
				}
				if strings.Join(links, "|") != strings.Join(tc.chain, "|") {
					t.Errorf("chain = %q, want %q", links, tc.chain)
				}
			}
			if tc.name == "cyclic unwrap" && len(got.Chain) != maxChainDepth {
				t.Errorf("cyclic chain has %d links, want the cap %d", len(got.Chain), maxChainDepth)
			}
		})
	}
}

func TestValueOfJoinBranches(t *testing.T) {
	v := ValueOf(errors.Join(errors.New("a"), fmt.Errorf("b: %w", io.ErrUnexpectedEOF)))
	if len(v.Chain) != 1 || len(v.Chain[0].Branches) != 2 {
		t.Fatalf("chain = %+v, want one join link with two branches", v.Chain)
	}
	b := v.Chain[0].Branches[1]
	if len(b) != 2 || b[0].Message != "b: unexpected EOF" || b[1].Message != "unexpected EOF" {
		t.Errorf("second branch = %+v", b)
	}
}

func TestValueOfClipsHugeMessages(t *testing.T) {
	v := ValueOf(strings.Repeat("é", maxMessage))
	if len(v.Message) > maxMessage+64 || !strings.Contains(v.Message, "more bytes") {
		t.Errorf("message of %d bytes not clipped: len %d", 2*maxMessage, len(v.Message))
	}
	if !strings.HasPrefix(v.Message, "éé") || strings.ContainsRune(v.Message, '\uFFFD') {
		t.Error("clipping split a UTF-8 sequence")
	}
}
