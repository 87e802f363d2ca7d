// Package web holds panicroom's HTML templates and static assets, embedded
// in the binary so that the debugger needs no files on disk and no network:
// pages load nothing from outside the server they describe.
package web

import "embed"

// FS holds templates/*.html and static/*.
//
//go:embed templates/*.html static/*
var FS embed.FS
