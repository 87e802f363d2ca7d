package backend

import (
	"errors"
	"regexp"
	"strings"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// Delve's errors, turned into the console's: a code and a sentence that
// says what to do.

func evalError(err error) error {
	var e *debugapi.Error
	if errors.As(err, &e) {
		return e
	}
	return debugapi.Errorf(debugapi.CodeEval, "%v", err)
}

// evalErrorFor refines evalError for expr: a function that Delve cannot
// find although the program names it was dropped by the linker.
func evalErrorFor(err error, expr string) error {
	msg := err.Error()
	const prefix = msgNoSymbol
	if strings.HasPrefix(msg, prefix) && !strings.HasPrefix(msg, prefix+"value for") {
		name := strings.TrimPrefix(msg, prefix)
		if strings.Contains(expr, name+"(") {
			return debugapi.Errorf(debugapi.CodeCall, "%s: the linker dropped this function from the binary because the program never calls it; call a function the program uses", msg)
		}
	}
	return evalError(err)
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// The messages of Delve (and, for msgUnsafePoint, of the runtime's
// debug-call protocol, which Delve relays) that the errors here are
// classified by. Delve has no sentinel errors for them; TestDelveMessages
// pins each against the source of the Delve in go.mod, so that an upgrade
// that rewords one fails there instead of silently losing its advice.
const (
	msgNeedsCall     = "without using 'call'"
	msgEscape        = "stack object passed to escaping pointer"
	msgOptimized     = "can not call optimized function"
	msgNoDIE         = "could not find DIE for function"
	msgNoSymbolValue = "could not find symbol value for"
	msgNotFunction   = "not a function"
	msgTooMany       = "too many arguments"
	msgNotEnough     = "not enough arguments"
	msgUnsafePoint   = "call not at safe point"
	msgNoMember      = " has no member "
	msgNoSymbol      = "could not find symbol "
)

// delveMessages lists them for that test.
var delveMessages = map[string]string{
	msgNeedsCall:     "delve",
	msgEscape:        "delve",
	msgOptimized:     "delve",
	msgNoDIE:         "delve",
	msgNoSymbolValue: "delve",
	msgNotFunction:   "delve",
	msgTooMany:       "delve",
	msgNotEnough:     "delve",
	msgUnsafePoint:   "runtime",
	msgNoMember:      "delve",
	msgNoSymbol:      "delve",
}

// runtimePackage reports whether the function fn (a qualified name)
// belongs to the packages the compiler always optimizes: the runtime and
// the internal packages it is built from.
func runtimePackage(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || strings.HasPrefix(fn, "runtime/internal/")
}

// frameRef is the runtime.frame(N) prefix that rewrite puts before the
// locals of the chosen frame; Delve repeats it in its messages, where the
// user, who never wrote it, should read the names as written.
var frameRef = regexp.MustCompile(`runtime\.frame\(\d+\)\.`)

// callError turns Delve's call refusals into messages that say what would
// work instead.
func callError(err error, expr string) error {
	msg := frameRef.ReplaceAllString(err.Error(), "")
	switch {
	case strings.Contains(msg, msgEscape):
		// Reached only when the app would not keep the frames for good
		// (Panic.Retain): a callee that kept the pointer would hold it
		// past the release, when that memory is reused.
		return debugapi.Errorf(debugapi.CodeCall, "%s. The value lives in the parked frames (it never escaped to the heap); a call may be handed pointers into them only if the app keeps those frames until it restarts, and it already keeps %d panics' frames for such calls. Restart the app to call this, or read the value's fields instead", msg, debugapi.RetainLimit)
	case strings.Contains(msg, msgOptimized):
		fn := strings.TrimSuffix(strings.TrimPrefix(msg[strings.Index(msg, msgOptimized):], msgOptimized+" "), " when regabi is in use")
		if runtimePackage(fn) {
			// The compiler optimizes the runtime's own packages whatever
			// the flags (-N is dropped for them): advice to rebuild would
			// be followed in vain.
			return debugapi.Errorf(debugapi.CodeCall, "%s: %s belongs to the Go runtime's own packages, which the compiler optimizes even under -N -l, so it cannot be called; call a function of your own (or of the standard library outside the runtime) that uses it", msg, fn)
		}
		return debugapi.Errorf(debugapi.CodeCall, "%s: its package was compiled with optimizations; "+debugapi.BuildAdvice+" (all=, so that every package gets it, not only the main one)", msg)
	case strings.Contains(msg, msgNoSymbolValue) && !strings.Contains(expr, lastWord(msg)+"("):
		// A name that is not called: no variable by that name.
		return debugapi.Errorf(debugapi.CodeCall, "%s: %s is not an argument or local of this frame, nor a package-level name of its package or a package its file imports", msg, lastWord(msg))
	case strings.Contains(msg, msgNoDIE), strings.Contains(msg, msgNoSymbolValue), strings.Contains(msg, msgNotFunction):
		return debugapi.Errorf(debugapi.CodeCall, "%s: the linker dropped this function from the binary because the program never calls it; call a function the program uses", msg)
	case strings.Contains(msg, msgTooMany) || strings.Contains(msg, msgNotEnough):
		return debugapi.Errorf(debugapi.CodeCall, "%s: variadic functions take their variadic part as one slice argument in Delve, and interface parameters are not supported; call a wrapper with concrete parameters", msg)
	case strings.Contains(msg, "interface"):
		return debugapi.Errorf(debugapi.CodeCall, "%s: Delve cannot pass arguments to interface parameters; call a function with a concrete parameter type", msg)
	case strings.Contains(msg, msgUnsafePoint):
		return debugapi.Errorf(debugapi.CodeCall, "%s: the goroutine was stopped where the runtime forbids calls; try again", msg)
	case strings.Contains(msg, msgNoMember) && strings.Contains(expr, "."+lastWord(msg)+"("):
		return debugapi.Errorf(debugapi.CodeCall, "%s: there is no method %s in the binary. The linker keeps a method only if the program calls it, or, for an exported method, if the type is ever converted to an interface; keep it with a line such as var _ = (*T).%s in the app", msg, lastWord(msg), lastWord(msg))
	case strings.HasPrefix(msg, msgNoSymbol):
		return debugapi.Errorf(debugapi.CodeCall, "%s: no such function in the binary; it does not exist, or the linker dropped it because the program never calls it", msg)
	}
	return debugapi.Errorf(debugapi.CodeCall, "%s", msg)
}
