//go:build linux && !panicroom_off

package panicroom

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/panicroom/panicroom/internal/testapp"
)

// A LAN client that sends "Host: localhost" to an app bound beyond
// loopback reads nothing: not the in-line page of a panic it caused, not a
// page by its id, not the session. The client is real: another network
// namespace, over a veth link.
func TestPagesRefuseARemoteClient(t *testing.T) {
	remote := testapp.NewRemote(t)
	for _, allow := range []bool{false, true} {
		d, _ := newTestDebugger(t, WithAllowRemote(allow))
		srv := httptest.NewUnstartedServer(d.Wrap(http.HandlerFunc(panicky)))
		srv.Listener.Close()
		srv.Listener = remote.Listen(t)
		srv.Start()
		t.Cleanup(srv.Close)

		fetch := func(path string, hdr ...string) (int, string) {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Host = "localhost"
			req.Header.Set("Accept", "text/html")
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := remote.Client.Do(req)
			if err != nil {
				t.Fatalf("GET %s from %s: %v", path, remote.ClientAddr, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}

		status, body := fetch("/cart")
		recs := d.registry.list()
		if status != 500 || len(recs) != 1 {
			t.Fatalf("allow=%v: the panic answered %d, %d records", allow, status, len(recs))
		}
		id := recs[0].panic.ID
		if !allow {
			if strings.Contains(body, "lookupUser") || strings.Contains(body, d.guard.Secret()) || strings.Contains(body, id) {
				t.Errorf("the panic's own response showed a remote client its source, secret or page:\n%s", body)
			}
			if !strings.Contains(body, "not a loopback address") || !strings.Contains(body, "PANICROOM_ALLOW="+remote.ClientAddr) {
				t.Errorf("the refusal does not say why and what to do:\n%s", body)
			}
			for _, path := range []string{Prefix, Prefix + "panic/" + id, Prefix + "session", Prefix + "console?id=" + id} {
				status, body := fetch(path, "X-Panicroom-Secret", d.guard.Secret())
				if status != 403 || strings.Contains(body, "lookupUser") || !strings.Contains(body, remote.ClientAddr) {
					t.Errorf("GET %s from %s: %d, want 403 naming the address:\n%.300s", path, remote.ClientAddr, status, body)
				}
			}
			continue
		}
		if !strings.Contains(body, "lookupUser") {
			t.Errorf("with WithAllowRemote(true) the remote client did not get the page:\n%.300s", body)
		}
		if status, page := fetch(Prefix + "panic/" + id); status != 200 || !strings.Contains(page, "lookupUser") {
			t.Errorf("with WithAllowRemote(true), GET the page: %d\n%.300s", status, page)
		}
	}
}
