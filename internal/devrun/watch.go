package devrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The watcher polls: a stat of each file of the build every PollInterval.
// A platform watcher (inotify, FSEvents, ReadDirectoryChangesW) would need
// a dependency or three implementations, and per-directory watches that
// are lost when an editor replaces a directory's entry; a few hundred stats
// every 300 ms cost well under a millisecond of CPU.
const PollInterval = 300 * time.Millisecond

// debounce is how long the files must stay unchanged before a rebuild: an
// editor's save (write a temporary file, rename it over the old one) and a
// "save all" or a git checkout touch many files within it.
const debounce = 120 * time.Millisecond

// listPackage is the part of go list -json the watcher reads.
type listPackage struct {
	Dir            string
	ImportPath     string
	Standard       bool
	GoFiles        []string
	CgoFiles       []string
	CFiles         []string
	CXXFiles       []string
	HFiles         []string
	SFiles         []string
	SysoFiles      []string
	EmbedFiles     []string
	InvalidGoFiles []string
	Module         *struct {
		Path  string
		Main  bool
		Dir   string
		GoMod string
	}
}

// WatchSet is what a build depends on among the files the developer edits:
// the files of the main package and of every package of the main module it
// imports, the files they embed, go.mod and go.sum, and any extra globs.
// Files outside the main module (the module cache, GOROOT) are left alone:
// they do not change while one works.
type WatchSet struct {
	Files []string // absolute, sorted
	// Dirs are the packages' directories and those of their embedded
	// files: a new file there may join the build (a new .go file, a file
	// matching a //go:embed pattern), which a new go list tells.
	Dirs []string
	// Module is the main module's path, which tells the app's frames from
	// the libraries' on the crash page.
	Module string
	// Package is the main package's import path, which names it on the
	// pages ("example.com/app/cmd/app", not the "." it was given as).
	Package string
}

// ListWatchSet asks go list which files the build of pkg reads. -e keeps
// a broken package's files in the answer: a syntax error is exactly when
// the next save must be seen.
func ListWatchSet(ctx context.Context, dir, pkg string, extra []string, globs []string) (*WatchSet, error) {
	args := []string{"list", "-e", "-deps", "-json=Dir,ImportPath,Standard,GoFiles,CgoFiles,CFiles,CXXFiles,HFiles,SFiles,SysoFiles,EmbedFiles,InvalidGoFiles,Module"}
	args = append(args, extra...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	files := map[string]bool{}
	dirs := map[string]bool{}
	module, main := "", ""
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		// -deps lists a package after everything it imports: the
		// package asked for comes last.
		main = p.ImportPath
		if p.Standard || p.Module == nil || !p.Module.Main || p.Dir == "" {
			continue
		}
		if isIgnoredDir(p.Dir) {
			continue
		}
		dirs[p.Dir] = true
		module = p.Module.Path
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.SFiles, p.SysoFiles, p.EmbedFiles, p.InvalidGoFiles} {
			for _, f := range list {
				path := filepath.Join(p.Dir, f)
				files[path] = true
				if slices.Contains(p.EmbedFiles, f) {
					dirs[filepath.Dir(path)] = true
				}
			}
		}
		if p.Module.GoMod != "" {
			files[p.Module.GoMod] = true
			files[filepath.Join(filepath.Dir(p.Module.GoMod), "go.sum")] = true
			if w := filepath.Join(filepath.Dir(p.Module.GoMod), "go.work"); fileExists(w) {
				files[w] = true
			}
		}
	}
	for _, g := range globs {
		if !filepath.IsAbs(g) {
			g = filepath.Join(dir, g)
		}
		matches, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("-watch %q: %w", g, err)
		}
		for _, m := range matches {
			if !isIgnoredName(filepath.Base(m)) && !isIgnoredDir(m) {
				files[m] = true
			}
		}
		dirs[filepath.Dir(g)] = true
	}
	ws := &WatchSet{Module: module, Package: main}
	for f := range files {
		ws.Files = append(ws.Files, f)
	}
	for d := range dirs {
		ws.Dirs = append(ws.Dirs, d)
	}
	slices.Sort(ws.Files)
	slices.Sort(ws.Dirs)
	return ws, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// isIgnoredName reports whether a file name is one the go command ignores
// (names starting with "." or "_") or an editor's scratch file: vim's
// .x.swp and 4913 probe, emacs's #x# autosave and .#x lock, backups x~,
// JetBrains' x___jb_tmp___, Kate's .x.kate-swp.
func isIgnoredName(name string) bool {
	switch {
	case name == "", name == "4913":
		return true
	case strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"), strings.HasPrefix(name, "#"):
		return true
	case strings.HasSuffix(name, "~"), strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"),
		strings.HasSuffix(name, ".tmp"), strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return true
	}
	return false
}

// isIgnoredDir reports whether path lies in a vendor directory, a VCS
// directory or testdata: none of them is code one edits into the build.
func isIgnoredDir(path string) bool {
	for _, part := range strings.Split(filepath.ToSlash(path), "/") {
		switch part {
		case "vendor", ".git", ".hg", ".svn", "testdata", "node_modules":
			return true
		}
	}
	return false
}

// stamp is what the poll compares: a save changes the size or the
// modification time, a rename over the file changes both or the inode
// (which the size and time stand for here, portably).
type stamp struct {
	size  int64
	mtime time.Time
	ok    bool
}

type snapshot struct {
	files map[string]stamp
	dirs  map[string]string // dir → its relevant names, joined
}

func takeSnapshot(ws *WatchSet) snapshot {
	s := snapshot{files: make(map[string]stamp, len(ws.Files)), dirs: make(map[string]string, len(ws.Dirs))}
	for _, f := range ws.Files {
		fi, err := os.Stat(f)
		if err != nil {
			s.files[f] = stamp{}
			continue
		}
		s.files[f] = stamp{fi.Size(), fi.ModTime(), true}
	}
	for _, d := range ws.Dirs {
		s.dirs[d] = dirNames(d)
	}
	return s
}

// dirNames lists the names in d that could join a build: not the editors'
// scratch files, not tests (which go build leaves out), not directories.
func dirNames(d string) string {
	ents, err := os.ReadDir(d)
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || isIgnoredName(n) || strings.HasSuffix(n, "_test.go") {
			continue
		}
		names = append(names, n)
	}
	return strings.Join(names, "\x00")
}

// changed says what differs: "" when nothing does, else the first changed
// file (for the log). relist is set when only a directory's names changed,
// which needs a new go list to tell whether the build cares.
func (s snapshot) changed(t snapshot) (what string, relist bool) {
	for f, a := range s.files {
		if b, ok := t.files[f]; !ok || a != b {
			return f, false
		}
	}
	for d, a := range s.dirs {
		if b, ok := t.dirs[d]; !ok || a != b {
			return d, true
		}
	}
	return "", false
}

// Watcher reports changes to the build's files.
type Watcher struct {
	Dir, Pkg string
	Extra    []string // build flags that change the file set (-tags)
	Globs    []string // -watch patterns
	Interval time.Duration

	set  *WatchSet
	snap snapshot
}

// Refresh lists the build's files again (after each build: an import added
// a package) and takes their state as the new baseline.
func (w *Watcher) Refresh(ctx context.Context) error {
	ws, err := ListWatchSet(ctx, w.Dir, w.Pkg, w.Extra, w.Globs)
	if err != nil {
		if w.set == nil {
			return err
		}
		// Keep watching the last good set: a broken go.mod must still be
		// seen when it is fixed.
		ws = w.set
	}
	w.set = ws
	w.snap = takeSnapshot(ws)
	return err
}

// Files returns the watched files.
func (w *Watcher) Files() []string { return w.set.Files }

// Wait blocks until a watched file changes and the files have been quiet
// for the debounce time, and returns the file that changed first.
func (w *Watcher) Wait(ctx context.Context) (string, error) {
	interval := w.Interval
	if interval <= 0 {
		interval = PollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
		now := takeSnapshot(w.set)
		what, relist := w.snap.changed(now)
		if what == "" {
			continue
		}
		if relist {
			// A name came or went in a package directory: a build change
			// only if go list now names another set of files.
			old := w.set
			ws, err := ListWatchSet(ctx, w.Dir, w.Pkg, w.Extra, w.Globs)
			if err == nil && slices.Equal(ws.Files, old.Files) {
				w.snap.dirs = now.dirs
				continue
			}
			if err == nil {
				w.set = ws
			}
		}
		// Debounce: wait until two snapshots in a row agree.
		last := takeSnapshot(w.set)
		for range 20 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(debounce):
			}
			next := takeSnapshot(w.set)
			if d, _ := last.changed(next); d == "" {
				break
			}
			last = next
		}
		w.snap = last
		return what, nil
	}
}
