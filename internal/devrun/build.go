package devrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// BuildArgs are the go build flags the console needs, as arguments rather
// than shell text: debugger.GoBuildFlags (optimizations and inlining off in
// every package, so that variables are readable and functions callable),
// plus uncompressed DWARF, which halves the time the debugger freezes the
// app to attach at each start (the Makefile's DEBUG_LDFLAGS). go build keeps
// the debug information that go run strips, so GoRunFlags' -dwarf=true and
// -s=false -w=false are not needed here. build_test.go checks that these
// stay in step with debugger.GoBuildFlags.
var BuildArgs = []string{"-gcflags=all=-N -l", "-ldflags=-compressdwarf=false"}

// BuildError is one error of a failed build, as go build printed it.
type BuildError struct {
	File    string `json:"file,omitempty"` // absolute when the go command named a file
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
	Package string `json:"package,omitempty"` // from the "# pkg" line above it
}

// BuildFailure is a build that did not produce a binary.
type BuildFailure struct {
	Errors []BuildError `json:"errors"`
	Output string       `json:"output"` // go build's whole stderr
	Took   time.Duration
}

func (f *BuildFailure) Error() string {
	if len(f.Errors) == 0 {
		return "build failed: " + strings.TrimSpace(f.Output)
	}
	e := f.Errors[0]
	n := ""
	if len(f.Errors) > 1 {
		n = fmt.Sprintf(" (and %d more)", len(f.Errors)-1)
	}
	return fmt.Sprintf("build failed: %s:%d:%d: %s%s", e.File, e.Line, e.Col, e.Message, n)
}

// Builder builds one main package into a directory of the user's cache
// that belongs to it, so that each rebuild overwrites the last binary
// instead of filling a temporary directory, and the go build cache makes
// the rebuild incremental.
type Builder struct {
	Pkg   string   // as given on the command line: ./cmd/app
	Dir   string   // the directory go build runs in
	Extra []string // more go build flags (-tags, -race)
	Out   string   // the binary's path
}

// NewBuilder places pkg's binary under os.UserCacheDir()/panicroom/run/.
func NewBuilder(dir, pkg string, extra []string) (*Builder, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("no cache directory for the binary (%w): set $XDG_CACHE_HOME or $HOME", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(abs + "\x00" + pkg))
	name := filepath.Base(filepath.Join(abs, pkg))
	if name == "." || name == string(filepath.Separator) || strings.Contains(pkg, "@") {
		name = "app"
	}
	d := filepath.Join(cache, "panicroom", "run", name+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("making the build directory: %w", err)
	}
	exe := name
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	return &Builder{Pkg: pkg, Dir: abs, Extra: extra, Out: filepath.Join(d, exe)}, nil
}

// StateDir is where the runner keeps what it learned about this app
// between runs (its listening address).
func (b *Builder) StateDir() string { return filepath.Dir(b.Out) }

// Build runs go build. A failure is a *BuildFailure.
func (b *Builder) Build(ctx context.Context) (time.Duration, error) {
	args := append([]string{"build"}, BuildArgs...)
	args = append(args, b.Extra...)
	args = append(args, "-o", b.Out, b.Pkg)
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = b.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err == nil {
		return took, nil
	}
	if ctx.Err() != nil {
		return took, ctx.Err()
	}
	if _, ok := err.(*exec.ExitError); !ok {
		return took, fmt.Errorf("running go build: %w (is the go command on $PATH?)", err)
	}
	return took, &BuildFailure{Errors: ParseBuildErrors(stderr.String(), b.Dir), Output: stderr.String(), Took: took}
}

// goCommand is the go command of the toolchain on $PATH, or, when there is
// none, the one this program was built by: "go tool panicroom" runs the
// runner under the module's own toolchain.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

var (
	posRE = regexp.MustCompile(`^(\S[^:]*?\.(?:go|s|c|h|mod|sum|cc|cpp|m)):(\d+)(?::(\d+))?: (.*)$`)
	// go vet-style "vet: file.go:1:2: msg" and the go command's
	// "go: ..." messages carry no position: they are kept as they are.
)

// ParseBuildErrors reads go build's output: "# pkg" lines, then
// "file:line:col: message" lines, with tab-indented continuations
// ("\thave (int)\n\twant ()"). Relative paths are relative to dir, the
// go command's working directory.
func ParseBuildErrors(out, dir string) []BuildError {
	var errs []BuildError
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			pkg = strings.TrimPrefix(line, "# ")
		case strings.HasPrefix(line, "\t") && len(errs) > 0:
			errs[len(errs)-1].Message += "\n" + strings.TrimPrefix(line, "\t")
		default:
			if m := posRE.FindStringSubmatch(line); m != nil {
				file := m[1]
				if !filepath.IsAbs(file) {
					file = filepath.Join(dir, file)
				}
				ln, _ := strconv.Atoi(m[2])
				col, _ := strconv.Atoi(m[3])
				errs = append(errs, BuildError{File: file, Line: ln, Col: col, Message: m[4], Package: pkg})
				continue
			}
			if strings.HasPrefix(line, "too many errors") && len(errs) > 0 {
				errs[len(errs)-1].Message += "\n" + line
				continue
			}
			errs = append(errs, BuildError{Message: line, Package: pkg})
		}
	}
	return errs
}
