// Command panicroom is panicroom's development runner.
//
//	go tool panicroom run [flags] ./cmd/myapp [-- app flags]
//
// run builds the package with the flags panicroom's console needs
// (-gcflags=all="-N -l", debug information kept, uncompressed for a faster
// attach), runs it, and rebuilds and restarts it when one of its files
// changes. While the app is down (a compile error, a crash, a rebuild), it
// answers on the app's own address: with the error page, or by holding
// requests until the new build answers them.
//
// Install it as a tool of your module:
//
//	go get -tool github.com/panicroom/panicroom/cmd/panicroom
//	go tool panicroom run ./cmd/myapp -- -port 8080
//
// or run it without installing:
//
//	go run github.com/panicroom/panicroom/cmd/panicroom@latest run ./cmd/myapp
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/panicroom/panicroom/internal/devrun"
	"github.com/panicroom/panicroom/internal/traceback"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stderr))
}

const usage = `usage: panicroom run [flags] [package] [-- app arguments]

Builds the main package (default ".") for panicroom's console, runs it, and
rebuilds and restarts it whenever one of its Go files, embedded files or
go.mod changes. While the app is down, its address shows why: the compile
errors, or the crash with every goroutine. Open pages reload themselves when
the new build is up.

Flags:
`

// Main is the command without os.Exit, for tests.
func Main(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		runFlags(stderr).PrintDefaults()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] != "run" {
		fmt.Fprintf(stderr, "panicroom: unknown command %q: the one command is run (panicroom run ./cmd/myapp)\n", args[0])
		return 2
	}
	args = args[1:]
	var appArgs []string
	for i, a := range args {
		if a == "--" {
			args, appArgs = args[:i], args[i+1:]
			break
		}
	}
	fs := runFlags(stderr)
	c := &cfg
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pkg := "."
	switch fs.NArg() {
	case 0:
	case 1:
		pkg = fs.Arg(0)
	default:
		fmt.Fprintf(stderr, "panicroom run: one package, then the app's arguments after --: panicroom run %s -- %s\n", fs.Arg(0), strings.Join(fs.Args()[1:], " "))
		return 2
	}
	var build []string
	if c.tags != "" {
		build = append(build, "-tags="+c.tags)
	}
	if c.race {
		build = append(build, "-race")
	}
	var watch []string
	for _, w := range strings.Split(c.watch, ",") {
		if w = strings.TrimSpace(w); w != "" {
			watch = append(watch, w)
		}
	}
	code, err := devrun.Run(context.Background(), devrun.Config{
		Pkg:        pkg,
		Args:       appArgs,
		BuildFlags: build,
		Watch:      watch,
		Addr:       c.addr,
		Reload:     c.reload,
		Editor:     traceback.Editor(c.editor),
		Grace:      c.grace,
		Poll:       c.poll,
		Stderr:     stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "panicroom run: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

type options struct {
	addr, editor, tags, watch string
	reload, race              bool
	grace, poll               time.Duration
}

var cfg options

func runFlags(out io.Writer) *flag.FlagSet {
	cfg = options{}
	fs := flag.NewFlagSet("panicroom run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.addr, "addr", "", "the address the app listens on (host:port). Learned from the app on Linux and remembered; needed on other systems, or when the first build fails before the app ever listened")
	fs.BoolVar(&cfg.reload, "reload", true, "rebuild and restart on change; -reload=false runs the app once and exits with its status")
	fs.StringVar(&cfg.editor, "editor", envOr("PANICROOM_EDITOR", "vscode"), "file:line links: vscode, goland, cursor, zed, none, or a URL template with {file} and {line} ($PANICROOM_EDITOR)")
	fs.StringVar(&cfg.tags, "tags", "", "build tags, as go build -tags")
	fs.BoolVar(&cfg.race, "race", false, "build with the race detector")
	fs.StringVar(&cfg.watch, "watch", "", "more files to watch, comma-separated globs relative to the working directory (templates read at run time: web/templates/*.html)")
	fs.DurationVar(&cfg.grace, "stop-timeout", 5*time.Second, "how long the app may take to exit after SIGTERM before it is killed")
	fs.DurationVar(&cfg.poll, "poll", devrun.PollInterval, "how often the watcher looks at the files")
	return fs
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
