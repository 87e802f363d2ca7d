package traceback

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"sync"
)

// Kind says whose code a frame runs.
type Kind int

const (
	App     Kind = iota // the main module: the developer's own code
	Library             // another module
	Stdlib              // the standard library
	Runtime             // the Go runtime
)

var kindNames = [...]string{App: "app", Library: "library", Stdlib: "stdlib", Runtime: "runtime"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalJSON writes the kind by name, so the JSON view reads without a key.
func (k Kind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// A Classifier sorts frames by whose code they run.
type Classifier struct {
	// MainModule is the main module's path. Empty means unknown, as in test
	// binaries of some build modes; classification then falls back on where
	// the file lives (module cache and vendor directories are libraries).
	MainModule string
}

var mainModule = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Path
	}
	return ""
})

// DefaultClassifier uses the running binary's build information.
func DefaultClassifier() Classifier { return Classifier{MainModule: mainModule()} }

// Kind classifies one frame by its package path and file.
func (c Classifier) Kind(pkg, file string) Kind {
	switch {
	case pkg == "runtime" || strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "internal/runtime/"):
		return Runtime
	case pkg == "main":
		return App
	case isStdlib(pkg):
		return Stdlib
	case c.MainModule != "" && (pkg == c.MainModule || strings.HasPrefix(pkg, c.MainModule+"/")):
		return App
	case strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/"):
		return Library
	case c.MainModule == "":
		return App
	}
	return Library
}

// Classify sets the Kind of every frame.
func (c Classifier) Classify(frames []Frame) {
	for i := range frames {
		frames[i].Kind = c.Kind(frames[i].Package, frames[i].File)
	}
}

// isStdlib reports whether an import path belongs to the standard library:
// its first element has no dot, which is how the go command tells them
// apart too.
func isStdlib(pkg string) bool {
	if pkg == "" {
		return false
	}
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}
