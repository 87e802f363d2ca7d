package pin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/testapp"
)

// testNow is an arbitrary fixed instant, so that cookie times are exact.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sleeper records the delays Verify asks for instead of waiting them out,
// and how many attempts were ever waiting at once.
type sleeper struct {
	mu        sync.Mutex
	slept     []time.Duration
	active    int
	maxActive int
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.slept = append(s.slept, d)
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	time.Sleep(time.Millisecond) // give overlapping attempts a chance to show
	s.mu.Lock()
	s.active--
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Slept() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.slept...)
}

// syncBuffer is the terminal: Guard serializes its own writes, but tests
// read while other goroutines may write.
type syncBuffer = testapp.Buffer

type fixture struct {
	g     *Guard
	clock *clock
	sleep *sleeper
	out   *syncBuffer
}

// TestMain keeps a developer's own PANICROOM_PIN out of the tests; tests
// about it set it with t.Setenv.
func TestMain(m *testing.M) {
	os.Unsetenv(EnvVar)
	os.Exit(m.Run())
}

// newFixture makes a Guard with fake time, in a fresh directory unless c
// names one.
func newFixture(t *testing.T, c Config) fixture {
	t.Helper()
	f := fixture{clock: &clock{now: testNow}, sleep: &sleeper{}, out: &syncBuffer{}}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if c.App == "" {
		c.App = "/home/dev/bin/testapp"
	}
	if c.Path == "" {
		c.Path = "/__panicroom__/"
	}
	c.Output = f.out
	c.Now = f.clock.Now
	c.Sleep = f.sleep.Sleep
	g, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.g = g
	return f
}

// signIn returns the cookie SetCookie gives a browser.
func signIn(t *testing.T, g *Guard) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	g.SetCookie(rec, httptest.NewRequest("POST", "/__panicroom__/pin", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("SetCookie set %d cookies, want 1", len(cs))
	}
	return cs[0]
}

func lock(t *testing.T, g *Guard) {
	t.Helper()
	wrong := "000000000"
	if g.pin == wrong {
		wrong = "000000001"
	}
	for range maxFailures {
		g.Verify(context.Background(), wrong)
	}
	if !g.Locked() {
		t.Fatal("not locked after 10 wrong PINs")
	}
}
