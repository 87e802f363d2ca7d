// Package traceback turns a recovered panic into data and renders it.
//
// The steps are split by file: capture.go reads the panicking goroutine's
// frames from inside the deferred recover; classify.go sorts frames into app,
// library, standard library and runtime; value.go describes the panic value
// (error chains, [runtime.Error], [runtime.PanicNilError], values whose
// Error or String method itself panics); source.go reads source context;
// highlight.go highlights Go with go/scanner in chroma's classes (chroma
// itself is linked only into the tests), and style.go writes the
// stylesheet from chroma's styles, kept in styles.txt, and leaves without a
// span the tokens it would not colour;
// request.go records the request
// with secrets masked; goroutines.go takes every goroutine's stack at the
// panic and groups them; render.go produces the HTML, plain-text and JSON
// views of one [Panic], and markdown.go its Markdown for an issue, all
// from the same model.
//
// The package knows nothing about the console or the debugger: it describes
// a panic, it does not keep it alive.
package traceback
