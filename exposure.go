//go:build !panicroom_off

package panicroom

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/panicroom/panicroom/internal/procfs"
)

// checkExposureOnce starts checkExposure at the first request, beside
// it, and notes where the app was reached (noteBase); every later request
// pays one atomic load.
func (d *Debugger) checkExposureOnce(r *http.Request) {
	if !d.exposureChecked.Load() && d.exposureChecked.CompareAndSwap(false, true) {
		d.noteBase(r)
		go d.checkExposure()
	}
}

// checkExposure, run once by the first request, says when the app listens
// on an address other machines can reach while the console is on: the
// console runs code on request, and an app on 0.0.0.0 leaves only the PIN
// and the address rule between the network and that. In a container the
// app must listen on every address to be reached at all, and the container
// is the boundary, so it is not said there. Where the process's sockets
// cannot be read (not Linux), nothing is said.
func (d *Debugger) checkExposure() {
	if !d.cfg.console || d.guard == nil || d.access.Container.In() {
		return
	}
	addrs, err := procfs.ListeningAddrs(os.Getpid())
	if err != nil {
		return
	}
	for _, a := range addrs {
		if a.Addr().Unmap().IsLoopback() {
			continue
		}
		d.cfg.logger.Warn(fmt.Sprintf("panicroom: this app listens on %s, which other machines can reach, with the console on. "+
			"The console runs code on request: only the PIN and the address rule (loopback, PANICROOM_ALLOW, WithAllow) keep them out of it. "+
			"Listen on localhost while developing (http.ListenAndServe(\"localhost:%d\", ...)), or build with -tags panicroom_off where the console is not for you", a, a.Port()),
			slog.String("addr", a.String()))
		return
	}
}
