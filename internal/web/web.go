// Package web holds panicroom's HTML templates and static assets, embedded
// in the binary so that the debugger needs no files on disk and no network:
// pages load nothing from outside the server they describe. A page links
// only what its first paint needs (panicroom.css, chroma.css,
// panicroom.js); panicroom.js loads console.js, which loads console.css, on
// the pages with consoles, and index.js on the list of recent panics.
package web

import "embed"

// FS holds templates/*.html and static/*.
//
//go:embed templates/*.html static/*
var FS embed.FS
