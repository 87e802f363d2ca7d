// Package web holds panicroom's HTML templates and static assets, embedded
// in the binary so that the debugger needs no files on disk and no network:
// pages load nothing from outside the server they describe. A page links
// only what its first paint needs (panicroom.css, chroma.css,
// panicroom.js); panicroom.js loads console.js, which loads console.css, on
// the pages with consoles, and index.js on the list of recent panics.
package web

import (
	"embed"
	"path"
)

// FS holds templates/*.html and static/*.
//
//go:embed templates/*.html static/*
var FS embed.FS

// types are the Content-Types of the kinds of file under static/. Not
// mime.TypeByExtension: its first call reads and parses the system's
// mime.types files, 5 ms of panicroom.New in a -N -l build (the app's
// start, before it listens), and its answer would depend on the machine.
var types = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

// ContentType is the Content-Type of the asset named name, or
// application/octet-stream for a kind of file static/ does not hold.
func ContentType(name string) string {
	if t, ok := types[path.Ext(name)]; ok {
		return t
	}
	return "application/octet-stream"
}
