package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// Malformed input is a syntax error with its column, through the API,
// before anything reaches the agent (a zero Agent has none).
func TestSyntaxErrorsAreSyntax(t *testing.T) {
	a := &Client{panics: map[string]*record{}}
	for _, tc := range []struct{ expr, msg string }{
		{"a +", "not a Go expression: column 4: expected operand, found 'EOF'"},
		{"foo(", "not a Go expression: column 5: expected ')', found 'EOF'"},
		{")", "not a Go expression: column 1: expected operand, found ')'"},
		{"x = ", "the right side of the assignment is not a Go expression: column 5: expected operand, found 'EOF'"},
		{"x. = 3", "the left side of the assignment is not a Go expression: column 3: expected selector or type assertion, found 'EOF'"},
		{"cfg.Lookup(\"x\" 1)", "not a Go expression: column 16: missing ',' in argument list"},
	} {
		_, err := a.Eval(context.Background(), debugapi.Request{Panic: "p", Expr: tc.expr})
		var e *debugapi.Error
		if !errors.As(err, &e) || e.Code != debugapi.CodeSyntax || e.Msg != tc.msg {
			t.Errorf("Eval(%q) = %v; want %s: %s", tc.expr, err, debugapi.CodeSyntax, tc.msg)
		}
	}
	// Valid Go gets past the check (to the unknown panic here).
	if _, err := a.Eval(context.Background(), debugapi.Request{Panic: "p", Expr: "x == 1"}); err == nil || err.(*debugapi.Error).Code != debugapi.CodeUnknownPanic {
		t.Errorf("a valid expression: %v, want %s", err, debugapi.CodeUnknownPanic)
	}
}
