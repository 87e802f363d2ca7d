package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// request is one message from the browser.
type request struct {
	ID     int64            `json:"id"`
	Op     string           `json:"op"`
	Panic  string           `json:"panic,omitempty"`
	Frame  int              `json:"frame"`
	Expr   string           `json:"expr,omitempty"`
	Handle *debugapi.Handle `json:"handle,omitempty"`
}

// answer is one message to the browser.
type answer struct {
	ID         int64               `json:"id"`
	Op         string              `json:"op"`
	Value      *debugapi.Value     `json:"value,omitempty"`
	Vars       *debugapi.FrameVars `json:"vars,omitempty"`
	Snapshot   *debugapi.Snapshot  `json:"snapshot,omitempty"`
	Candidates []string            `json:"candidates,omitempty"`
	Status     *debugapi.Status    `json:"status,omitempty"`
	Error      *answerError        `json:"error,omitempty"`

	// closeCode, if set, makes the writer close the connection with it
	// right after this answer, so that the answer arrives first.
	closeCode   int
	closeReason string
}

type answerError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Hint    string          `json:"hint,omitempty"`
	Value   *debugapi.Value `json:"value,omitempty"` // a call's panic value
}

const maxExpr = 4 << 10

// decode parses and validates one request.
func decode(b []byte) (request, error) {
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("not a JSON request: %v", err)
	}
	switch r.Op {
	case "eval", "complete":
		if r.Panic == "" {
			return r, errors.New(r.Op + " needs a panic id")
		}
		if r.Op == "eval" && r.Expr == "" {
			return r, errors.New("eval needs an expression")
		}
		if len(r.Expr) > maxExpr {
			return r, fmt.Errorf("the expression is longer than %d bytes", maxExpr)
		}
	case "locals", "snapshot":
		if r.Panic == "" {
			return r, errors.New(r.Op + " needs a panic id")
		}
	case "expand":
		if r.Handle == nil || r.Handle.Panic == "" {
			return r, errors.New("expand needs a value handle")
		}
	case "status":
	case "":
		return r, errors.New(`the request has no "op"`)
	default:
		return r, fmt.Errorf("unknown op %q (want eval, expand, locals, snapshot, complete or status)", r.Op)
	}
	if r.Frame < 0 || r.Frame > 1<<16 {
		return r, fmt.Errorf("frame %d is out of range", r.Frame)
	}
	return r, nil
}

// explain turns an evaluator error into the answer's error, in plain words.
func explain(err error) *answerError {
	var e *debugapi.Error
	if !errors.As(err, &e) {
		return &answerError{Code: "error", Message: err.Error()}
	}
	out := &answerError{Code: string(e.Code), Message: e.Msg, Value: e.Value}
	switch e.Code {
	case debugapi.CodeUnavailable:
		out.Hint = "The debugger is not attached; the banner at the top of the page says why and how to fix it."
	case debugapi.CodeReleased:
		out.Hint = "This panic's goroutine was released, so its frames are gone. The locals panel still shows them as they were at the panic. Trigger the panic again for a live console."
	case debugapi.CodeStale:
		out.Hint = "The parked stack moved, so reading it could show garbage. The locals panel shows the values taken at the panic."
	case debugapi.CodeSyntax:
		out.Hint = "Write a Go expression, such as user.Email, len(items), cfg.Lookup(\"x\") or count = 3."
	case debugapi.CodeTimeout:
		out.Hint = "The request took longer than its deadline. A call that blocks or loops forever is abandoned; the app keeps serving."
	case debugapi.CodeAgentDied:
		out.Hint = "The debugger's helper process died and is being restarted; try again in a moment."
	case debugapi.CodeOptimized:
		if strings.Contains(e.Msg, debugapi.RuntimeOptimized) {
			out.Hint = "The runtime's frames are always optimized; open the console of one of your own frames."
		} else {
			out.Hint = `Rebuild with -gcflags=all="-N -l" so that the compiler keeps every variable and call.`
		}
	case debugapi.CodeCallPanicked:
		out.Hint = "The function you called panicked; its panic value is below. The app is unaffected."
	case debugapi.CodeNoFrame:
		out.Hint = "The debugger cannot see this frame; try a neighbouring one."
	case debugapi.CodeUnknownPanic:
		out.Hint = "The server does not know this panic (it restarted, or the page is old). Reload the page."
	}
	return out
}
