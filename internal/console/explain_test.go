package console

import (
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// An optimized frame gets the advice that helps: rebuild, for the app's own
// code; another frame, for the runtime's, which no build flag changes (a
// user who built with -N -l was told to rebuild with -N -l).
func TestOptimizedFrameHints(t *testing.T) {
	app := explain(&debugapi.Error{Code: debugapi.CodeOptimized, Msg: "main.handler was compiled with optimizations, its variables may be unreadable"})
	if !strings.Contains(app.Hint, "-N -l") {
		t.Errorf("an optimized app frame's hint %q does not say how to rebuild", app.Hint)
	}
	rt := explain(&debugapi.Error{Code: debugapi.CodeOptimized, Msg: "runtime.mapassign_faststr " + debugapi.RuntimeOptimized + ": its variables may be unreadable"})
	if strings.Contains(rt.Hint, "Rebuild") || !strings.Contains(rt.Hint, "your own frames") {
		t.Errorf("a runtime frame's hint %q", rt.Hint)
	}
}
