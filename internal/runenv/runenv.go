// Package runenv is the one thing "panicroom run" and the app it runs agree
// on: the environment variable that names the run. It is its own package so
// that the app links this constant, not the runner.
package runenv

// Var is set by "panicroom run" in the app's environment to the run's
// identity: the runner's session and the build's number ("1a2b3c4d.3").
// With it, the app serves /__panicroom__/run/events, which names the run,
// so that its open traceback pages reload when a newer build is up.
const Var = "PANICROOM_RUN"

// Valid reports whether id can be a run's identity: 1 to 64 letters,
// digits, dots, dashes or underscores. Anything else in the variable is
// ignored, so that it cannot smuggle markup or event-stream framing into a
// page.
func Valid(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
