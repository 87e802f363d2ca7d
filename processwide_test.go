//go:build !panicroom_off

package panicroom

import (
	"strings"
	"testing"
)

// TestLaterDebuggerSaysWhatCannotApply: the console's guard and agent are
// made once per process, by the first New. A later New whose trusted hosts
// differ must say, in its own log, that they apply to its pages only,
// rather than leave its console following another rule in silence.
func TestLaterDebuggerSaysWhatCannotApply(t *testing.T) {
	newTestDebugger(t) // makes sure some Debugger came first
	_, logs := newTestDebugger(t, WithTrustedHosts("later-only.test"), WithAllow("192.0.2.7"))
	out := logs.String()
	for _, want := range []string{"level=WARN", "WithTrustedHosts", "WithAllow", "pages only", "Pass the same options to every New"} {
		if !strings.Contains(out, want) {
			t.Errorf("the later Debugger's log lacks %q:\n%s", want, out)
		}
	}
	_, same := newTestDebugger(t, WithTrustedHosts(guardConfig.TrustedHosts...))
	if strings.Contains(same.String(), "pages only") && strings.Contains(same.String(), "WithTrustedHosts") {
		t.Errorf("a Debugger with the first one's trusted hosts was warned about them:\n%s", same.String())
	}
}
