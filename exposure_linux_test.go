//go:build linux && !panicroom_off

package panicroom

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panicroom/panicroom/pin"
)

// TestWarnsWhenListeningBeyondLoopback serves a Debugger on loopback, then
// on every address: only the second says, once, that other machines can
// reach the app and its console, naming the address and the fix.
func TestWarnsWhenListeningBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		t.Run(tc.listen, func(t *testing.T) {
			d, logs := newTestDebugger(t)
			// This machine may itself look like a container, where the
			// warning is not given: the rule outside one is the subject.
			d.access.Container = pin.Container{}
			ln, err := net.Listen("tcp", tc.listen)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: d.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))}
			go srv.Serve(ln)
			defer srv.Close()
			port := ln.Addr().(*net.TCPAddr).Port
			for i := 0; i < 2; i++ {
				resp, err := http.Get("http://127.0.0.1:" + itoa(port) + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			const said = "which other machines can reach"
			deadline := time.Now().Add(5 * time.Second)
			for tc.warn && !strings.Contains(logs.String(), said) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !tc.warn {
				time.Sleep(300 * time.Millisecond) // the check runs beside the first request
			}
			out := logs.String()
			switch {
			case tc.warn && (strings.Count(out, said) != 1 || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "-tags panicroom_off") || !strings.Contains(out, "localhost:"+itoa(port))):
				t.Errorf("listening on every address, the log says:\n%s\nwant one warning naming the address and the fix", out)
			case !tc.warn && strings.Contains(out, said):
				t.Errorf("listening on loopback only, the log warns:\n%s", out)
			}
		})
	}
}
