// Package devrun is the engine of "panicroom run": it builds a main package
// with the flags panicroom's console needs, runs it, rebuilds and restarts
// it when its files change, and, while the app is down (a compile error, a
// crash, a rebuild), takes over the app's own listening address to show
// why, or to hold requests until the new build answers them. Each run is
// named in the app's environment (runenv.Var), and the runner's event
// stream and the app's share one path, so that an open page, the runner's
// or the app's, follows the app from build to build.
package devrun
