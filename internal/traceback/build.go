package traceback

import (
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// Build describes the running binary.
type Build struct {
	GoVersion   string `json:"goVersion"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	MainPath    string `json:"mainPath,omitempty"`
	MainModule  string `json:"mainModule,omitempty"`
	MainVersion string `json:"mainVersion,omitempty"`
	VCS         string `json:"vcs,omitempty"`
	Revision    string `json:"revision,omitempty"`
	RevisionAt  string `json:"revisionTime,omitempty"`
	Modified    bool   `json:"modified,omitempty"`
	GCFlags     string `json:"gcflags,omitempty"`
	// Optimized is true unless the binary was built with -N -l for every
	// package, which a debugger needs to read variables.
	Optimized bool `json:"optimized"`
}

// BuildInfo returns the running binary's build facts, read once.
var BuildInfo = sync.OnceValue(func() *Build {
	b := &Build{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Optimized: true}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.MainPath = bi.Path
	b.MainModule = bi.Main.Path
	b.MainVersion = bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs":
			b.VCS = s.Value
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.RevisionAt = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "-gcflags":
			b.GCFlags = s.Value
			b.Optimized = !unoptimized(s.Value)
		}
	}
	return b
})

// unoptimized reports whether gcflags, as the go command records them in the
// build information, turn off optimization and inlining for all packages:
// "all=-N -l". A bare "-N -l" covers only the named packages, which leaves
// the standard library and dependencies optimized.
func unoptimized(gcflags string) bool {
	rest, ok := strings.CutPrefix(gcflags, "all=")
	if !ok {
		return false
	}
	fs := strings.Fields(strings.Trim(rest, `"'`))
	return slices.Contains(fs, "-N") && slices.Contains(fs, "-l")
}
