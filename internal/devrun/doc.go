// Package devrun is the engine of "panicroom run": it builds a main package
// with the flags panicroom's console needs, runs it, rebuilds and restarts
// it when its files change, and, while the app is down (a compile error, a
// crash, a rebuild), takes over the app's own listening address to show
// why, or to hold requests until the new build answers them.
package devrun
