package pin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerifyForms(t *testing.T) {
	t.Setenv(EnvVar, "123456789")
	g := newFixture(t, Config{}).g
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"123456789", nil},
		{"123-456-789", nil},
		{" 123 456 789 ", nil},
		{"1-2-3-4-5-6-7-8-9", nil},
		{"123456780", ErrWrongPIN},
		{"987-654-321", ErrWrongPIN},
		{"", ErrWrongPIN},
		{"12345678", ErrWrongPIN},
		{"1234567890", ErrWrongPIN},
		{"123456789 0", ErrWrongPIN},
		{"12345678x", ErrWrongPIN},
		{"123.456.789", ErrWrongPIN},
		{"１２３４５６７８９", ErrWrongPIN},
		{"123\t456\t789", ErrWrongPIN},
		{strings.Repeat("-", 1000) + "123456789", ErrWrongPIN},
	} {
		if err := g.Verify(t.Context(), tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Verify(%q) = %v; want %v", tt.in, err, tt.want)
		}
		if g.Locked() {
			t.Fatal("locked by the form test")
		}
	}
}

func TestLockoutAtTen(t *testing.T) {
	f := newFixture(t, Config{})
	g := f.g
	wrong := otherPIN(g.pin)
	for i := 1; i < maxFailures; i++ {
		if err := g.Verify(t.Context(), wrong); err != ErrWrongPIN {
			t.Fatalf("wrong PIN %d: %v; want ErrWrongPIN", i, err)
		}
		if g.Locked() {
			t.Fatalf("locked after %d wrong PINs", i)
		}
	}
	if f.out.String() != "" {
		t.Errorf("printed %q before the lock", f.out)
	}
	if err := g.Verify(t.Context(), wrong); err != ErrLocked {
		t.Fatalf("wrong PIN 10: %v; want ErrLocked", err)
	}
	if !g.Locked() {
		t.Fatal("not locked after 10 wrong PINs")
	}
	if f.out.String() != lockedLine+"\n" {
		t.Errorf("printed %q on locking; want %q", f.out, lockedLine+"\n")
	}
	sleeps := len(f.sleep.Slept())
	for _, in := range []string{g.pin, wrong, "garbage"} {
		if err := g.Verify(t.Context(), in); err != ErrLocked {
			t.Errorf("Verify(%q) after the lock = %v; want ErrLocked", in, err)
		}
	}
	if len(f.sleep.Slept()) != sleeps {
		t.Error("a locked PIN still makes attempts wait")
	}
	if strings.Count(f.out.String(), "\n") != 1 {
		t.Errorf("the lock was announced more than once: %q", f.out)
	}
}

func TestDelaySchedule(t *testing.T) {
	f := newFixture(t, Config{})
	wrong := otherPIN(f.g.pin)
	for range maxFailures {
		f.g.Verify(t.Context(), wrong)
	}
	s := time.Second
	if got, want := f.sleep.Slept(), []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 10 * s}; !slices.Equal(got, want) {
		t.Errorf("delays %v; want %v", got, want)
	}

	for failures, want := range map[int]time.Duration{0: 0, 4: 0, 5: s, 6: 2 * s, 7: 4 * s, 8: 8 * s, 9: 10 * s, 10: 10 * s, 70: 10 * s, 1 << 30: 10 * s} {
		if got := delay(failures); got != want {
			t.Errorf("delay(%d) = %v; want %v", failures, got, want)
		}
	}
}

func TestRightPINResetsCount(t *testing.T) {
	f := newFixture(t, Config{})
	g := f.g
	wrong := otherPIN(g.pin)
	for range maxFailures - 1 {
		g.Verify(t.Context(), wrong)
	}
	// The right PIN waits like any attempt: skipping the wait would tell a
	// guesser which guesses were right.
	if err := g.Verify(t.Context(), format(g.pin)); err != nil {
		t.Fatalf("right PIN after 9 wrong ones: %v", err)
	}
	if got := f.sleep.Slept(); len(got) != 5 || got[4] != 10*time.Second {
		t.Errorf("delays %v; want the right PIN to wait 10s too", got)
	}
	for i := range maxFailures - 1 {
		if err := g.Verify(t.Context(), wrong); err != ErrWrongPIN {
			t.Fatalf("wrong PIN %d after the reset: %v", i+1, err)
		}
	}
	if g.Locked() {
		t.Error("the right PIN did not reset the count")
	}
}

func TestMalformedPINNotCounted(t *testing.T) {
	f := newFixture(t, Config{})
	for range 3 * maxFailures {
		if err := f.g.Verify(t.Context(), "1234"); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("Verify(1234) = %v", err)
		}
	}
	if f.g.Locked() || len(f.sleep.Slept()) != 0 {
		t.Error("input that cannot be a PIN counted as an attempt")
	}
}

func TestVerifyCanceled(t *testing.T) {
	f := newFixture(t, Config{})
	wrong := otherPIN(f.g.pin)
	for range freeFailures {
		f.g.Verify(t.Context(), wrong)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 10 {
		if err := f.g.Verify(ctx, wrong); !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify with a canceled context = %v", err)
		}
	}
	if f.g.Locked() {
		t.Error("abandoned attempts counted")
	}
	f.g.mu.Lock()
	failures := f.g.failures
	f.g.mu.Unlock()
	if failures != freeFailures {
		t.Errorf("%d failures; want %d", failures, freeFailures)
	}
}

func TestDefaultSleep(t *testing.T) {
	start := time.Now()
	if err := sleep(t.Context(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("sleep returned %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("sleep with a canceled context = %v", err)
	}
}

// Concurrent guesses must not get more than ten tries between them, nor
// share their delays.
func TestConcurrentGuesses(t *testing.T) {
	f := newFixture(t, Config{})
	wrong := otherPIN(f.g.pin)
	var (
		mu      sync.Mutex
		results = map[error]int{}
		wg      sync.WaitGroup
	)
	for range 100 {
		wg.Go(func() {
			err := f.g.Verify(context.Background(), wrong)
			mu.Lock()
			results[err]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if results[ErrWrongPIN] != maxFailures-1 || results[ErrLocked] != 100-(maxFailures-1) {
		t.Errorf("results %v; want 9 wrong and 91 locked", results)
	}
	s := time.Second
	if got, want := f.sleep.Slept(), []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 10 * s}; !slices.Equal(got, want) {
		t.Errorf("delays %v; want %v", got, want)
	}
	if f.sleep.maxActive != 1 {
		t.Errorf("%d attempts waited at once", f.sleep.maxActive)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Config{})
	g := f.g
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := g.Verify(context.Background(), g.pin); err != nil {
				t.Errorf("right PIN: %v", err)
			}
			if i%10 == 0 {
				g.Verify(context.Background(), otherPIN(g.pin))
			}
			g.Locked()
			g.Print()
			signIn(t, g)
		})
	}
	wg.Wait()
	if g.Locked() {
		t.Error("locked although right PINs kept resetting the count")
	}
}
