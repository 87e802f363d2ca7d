package pin

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var pinLine = regexp.MustCompile(`^panicroom: debugger PIN (\d{3}-\d{3}-\d{3}) \(enter it in the browser to open a console\)\n$`)

func TestPINSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first := newFixture(t, Config{Dir: dir})
	second := newFixture(t, Config{Dir: dir})
	first.g.Print()
	second.g.Print()
	m1, m2 := pinLine.FindStringSubmatch(first.out.String()), pinLine.FindStringSubmatch(second.out.String())
	if m1 == nil || m2 == nil {
		t.Fatalf("printed %q and %q", first.out, second.out)
	}
	if m1[1] != m2[1] {
		t.Errorf("PIN changed across restart: %s then %s", m1[1], m2[1])
	}

	c := signIn(t, first.g)
	r := httptest.NewRequest("GET", "/__panicroom__/eval", nil)
	r.AddCookie(c)
	if err := second.g.CheckCookie(r); err != nil {
		t.Errorf("cookie from before the restart: %v", err)
	}
	if first.g.Secret() == second.g.Secret() {
		t.Error("the page secret survived a restart")
	}
	// The secret travels as a WebSocket subprotocol name, which must be an
	// HTTP token; base32 is one.
	if s := first.g.Secret(); strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" || len(s) < 20 {
		t.Errorf("the page secret %q is not a usable subprotocol name", s)
	}

	other := newFixture(t, Config{Dir: dir, App: "/home/dev/bin/otherapp"})
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 4 {
		t.Errorf("two apps made files %q; want a .pin and a .key each", files)
	}
	if other.g.cookieName == first.g.cookieName {
		t.Error("two apps share a cookie name")
	}
}

func TestConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	guards := make([]*Guard, 8)
	var wg sync.WaitGroup
	for i := range guards {
		wg.Go(func() {
			g, err := New(Config{Dir: dir, App: "app", Output: &syncBuffer{}})
			if err != nil {
				t.Error(err)
				return
			}
			guards[i] = g
		})
	}
	wg.Wait()
	for _, g := range guards[1:] {
		if g == nil || guards[0] == nil {
			t.FailNow()
		}
		if g.pin != guards[0].pin || string(g.key) != string(guards[0].key) {
			t.Fatal("processes starting together ended up with different PINs or keys")
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(tmp) != 0 {
		t.Errorf("left temporary files: %q", tmp)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits")
	}
	dir := filepath.Join(t.TempDir(), "config", "panicroom")
	newFixture(t, Config{Dir: dir})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode %v; want 0700", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 {
		t.Fatalf("files %q; want a .pin and a .key", files)
	}
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v; want 0600", filepath.Base(name), got)
		}
		if strings.HasSuffix(name, ".key") && fi.Size() != keySize {
			t.Errorf("key file has %d bytes", fi.Size())
		}
	}
}

func TestRefusesBadFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits")
	}
	for _, tt := range []struct {
		name  string
		ext   string
		spoil func(path string) error
		want  string
	}{
		{"readable PIN file", ".pin", func(p string) error { return os.Chmod(p, 0o644) }, "other users may have read it"},
		{"readable key file", ".key", func(p string) error { return os.Chmod(p, 0o640) }, "other users may have read it"},
		{"short PIN", ".pin", func(p string) error { return os.WriteFile(p, []byte("12345678\n"), 0o600) }, "not a 9-digit PIN"},
		{"letters", ".pin", func(p string) error { return os.WriteFile(p, []byte("12345678x"), 0o600) }, "not a 9-digit PIN"},
		{"short key", ".key", func(p string) error { return os.WriteFile(p, []byte("short"), 0o600) }, "key is 5 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			newFixture(t, Config{Dir: dir})
			files, _ := filepath.Glob(filepath.Join(dir, "*"+tt.ext))
			if err := tt.spoil(files[0]); err != nil {
				t.Fatal(err)
			}
			_, err := New(Config{Dir: dir, App: "/home/dev/bin/testapp"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "delete") {
				t.Errorf("New = %v; want an error about %q that says to delete the file", err, tt.want)
			}
		})
	}
}

func TestEditedPINFile(t *testing.T) {
	dir := t.TempDir()
	newFixture(t, Config{Dir: dir})
	files, _ := filepath.Glob(filepath.Join(dir, "*.pin"))
	if err := os.WriteFile(files[0], []byte(" 123-456 789\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if g := newFixture(t, Config{Dir: dir}).g; g.pin != "123456789" {
		t.Errorf("PIN %q from a hand-edited file", g.pin)
	}
}

func TestEnvPIN(t *testing.T) {
	for _, v := range []string{"123-456-789", "123456789", " 123 456 789 ", "123 - 456 - 789"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(EnvVar, v)
			dir := t.TempDir()
			f := newFixture(t, Config{Dir: dir})
			if f.g.pin != "123456789" {
				t.Errorf("PIN %q", f.g.pin)
			}
			f.g.Print()
			if want := "panicroom: debugger PIN 123-456-789 (from PANICROOM_PIN; enter it in the browser to open a console)\n"; f.out.String() != want {
				t.Errorf("printed %q; want %q", f.out, want)
			}
			if pins, _ := filepath.Glob(filepath.Join(dir, "*.pin")); len(pins) != 0 {
				t.Errorf("wrote a PIN file although the PIN came from the environment")
			}
			if keys, _ := filepath.Glob(filepath.Join(dir, "*.key")); len(keys) != 1 {
				t.Errorf("no key file; cookies would not survive a restart")
			}
		})
	}
}

func TestEnvPINInvalid(t *testing.T) {
	for _, v := range []string{"12345678", "1234567890", "12345678x", "123.456.789", "１２３４５６７８９", "on", "0ff"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(EnvVar, v)
			_, err := New(Config{Dir: t.TempDir(), App: "app"})
			if err == nil || !strings.Contains(err.Error(), "PANICROOM_PIN must be 9 digits") {
				t.Errorf("New = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("the error repeats the value, which might be a real PIN with a typo: %v", err)
			}
		})
	}
}

func TestEnvOff(t *testing.T) {
	for _, v := range []string{"off", "OFF", " Off "} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(EnvVar, v)
			dir := filepath.Join(t.TempDir(), "panicroom")
			f := newFixture(t, Config{Dir: dir})
			if !f.g.Off() {
				t.Fatal("Off() = false")
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("made %s although the PIN is off", dir)
			}
			if err := f.g.Verify(t.Context(), ""); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if err := f.g.CheckCookie(httptest.NewRequest("GET", "/", nil)); err != nil {
				t.Errorf("CheckCookie = %v", err)
			}
			rec := httptest.NewRecorder()
			f.g.SetCookie(rec, httptest.NewRequest("POST", "/", nil))
			if c := rec.Result().Cookies(); len(c) != 0 {
				t.Errorf("SetCookie set %v", c)
			}
			f.g.Print()
			if !strings.HasPrefix(f.out.String(), "panicroom: debugger PIN off (PANICROOM_PIN=off)") {
				t.Errorf("printed %q", f.out)
			}
		})
	}
}

func TestPrintRateLimit(t *testing.T) {
	f := newFixture(t, Config{})
	if !f.g.Print() {
		t.Fatal("the first Print printed nothing")
	}
	f.clock.Advance(reprintInterval - time.Millisecond)
	if f.g.Print() {
		t.Error("printed again within the interval")
	}
	f.clock.Advance(time.Millisecond)
	if !f.g.Print() {
		t.Error("did not print again after the interval")
	}
	lines := strings.SplitAfter(f.out.String(), "\n")
	if len(lines) != 3 || lines[2] != "" || lines[0] != lines[1] || !pinLine.MatchString(lines[0]) {
		t.Errorf("printed %q", lines)
	}
}

func TestPrintLocked(t *testing.T) {
	f := newFixture(t, Config{})
	lock(t, f.g)
	f.clock.Advance(time.Hour)
	f.g.Print()
	want := lockedLine + "\n" + lockedLine + "\n" // once on locking, once on asking
	if f.out.String() != want {
		t.Errorf("printed %q; want %q", f.out, want)
	}
}

func TestNewPIN(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p, err := newPIN()
		if err != nil {
			t.Fatal(err)
		}
		if q, ok := normalize(p); !ok || q != p {
			t.Fatalf("newPIN() = %q", p)
		}
		seen[p] = true
	}
	if len(seen) < 99 {
		t.Errorf("%d distinct PINs out of 100", len(seen))
	}
}

func TestTrustedHostsConfig(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		want    string // "" for valid
	}{
		{"devbox.test", ""},
		{"*.devbox.test", ""},
		{"192.168.1.20", ""},
		{"fe80::1", ""},
		{"[fe80::1]", ""},
		{"DEVBOX.test", ""},
		{"devbox.test:8080", "has no port"},
		{"*", "replace the authorization function"},
		{"*.", "replace the authorization function"},
		{"a.*.test", "replace the authorization function"},
		{"bücher.test", "xn--"},
		{"", "not a host name"},
		{"[fe80::1%eth0]", "not a host name"},
	} {
		_, err := New(Config{Dir: t.TempDir(), App: "app", TrustedHosts: []string{tt.pattern}})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("TrustedHosts %q: %v", tt.pattern, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("TrustedHosts %q: %v; want an error with %q", tt.pattern, err, tt.want)
		}
	}
}

func TestAppIdentity(t *testing.T) {
	for _, tt := range []struct {
		exe  string
		want bool
	}{
		{"/tmp/go-build1322485328/b001/exe/myapp", true},
		{"/home/dev/.cache/go-build/bc/bca00dcacc699a5dcf254ceecb02b180fa0bef0679ff71d3fa991c632b81acb9-d/myapp", true},
		{`C:\Users\dev\AppData\Local\Temp\go-build123\b001\exe\myapp.exe`, runtime.GOOS == "windows"},
		{"/home/dev/go/bin/myapp", false},
		{"/usr/local/bin/go-builder", false},
	} {
		if got := builtByGoCommand(tt.exe); got != tt.want {
			t.Errorf("builtByGoCommand(%q) = %t", tt.exe, got)
		}
	}
	id, err := appIdentity()
	if err != nil {
		t.Fatal(err)
	}
	// This test binary's main package is the pin package's test main.
	if !strings.HasPrefix(id, "app github.com/panicroom/panicroom/pin") {
		t.Errorf("appIdentity() = %q", id)
	}
}

func TestFileStem(t *testing.T) {
	for _, tt := range []struct{ app, prefix string }{
		{"/home/dev/bin/myapp", "myapp-"},
		{"go run example.com/cmd/my app", "myapp-"},
		{`C:/bin/tool.exe`, "toolexe-"},
		{"/", "app-"},
		{"/bin/" + strings.Repeat("x", 100), strings.Repeat("x", 32) + "-"},
	} {
		got := fileStem(tt.app)
		if !strings.HasPrefix(got, tt.prefix) || len(got) != len(tt.prefix)+16 {
			t.Errorf("fileStem(%q) = %q", tt.app, got)
		}
	}
	if fileStem("/a/myapp") == fileStem("/b/myapp") {
		t.Error("two apps of the same name share files")
	}
}

func TestGuardDoesNotPrintPIN(t *testing.T) {
	g := newFixture(t, Config{}).g
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if s := fmt.Sprintf(verb, g); strings.Contains(s, g.pin) {
			t.Errorf("%s shows the PIN: %s", verb, s)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("os.UserConfigDir reads XDG_CONFIG_HOME on Linux only")
	}
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	if _, err := New(Config{App: "app", Output: &syncBuffer{}}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(config, "panicroom", "app-*")); len(files) != 2 {
		t.Errorf("files in the default directory: %q", files)
	}

	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if _, err := New(Config{App: "app"}); err == nil || !strings.Contains(err.Error(), "set PANICROOM_PIN") {
		t.Errorf("New without a config directory = %v", err)
	}
	t.Setenv(EnvVar, "off")
	if _, err := New(Config{App: "app"}); err != nil {
		t.Errorf("New with the PIN off needs no directory, but: %v", err)
	}
}

func TestAnnounceDoesNotDelayPrint(t *testing.T) {
	var out bytes.Buffer
	g, err := New(Config{Dir: t.TempDir(), App: "announce", Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	g.Announce()
	if !g.Print() {
		t.Fatal("Print right after Announce printed nothing: a browser asking for the PIN at start-up would see no line")
	}
	if g.Print() {
		t.Fatal("a second Print within the interval printed again")
	}
	if n := strings.Count(out.String(), "debugger PIN"); n != 2 {
		t.Errorf("%d PIN lines, want 2:\n%s", n, out.String())
	}
}
