package pin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

const (
	// freeFailures wrong PINs cost nothing more than retyping; every
	// attempt after them waits first.
	freeFailures = 5
	// maxFailures wrong PINs lock the PIN until the process restarts.
	maxFailures = 10

	firstDelay = time.Second
	maxDelay   = 10 * time.Second
)

var (
	// ErrWrongPIN is returned by [Guard.Verify] for a PIN that does not
	// match.
	ErrWrongPIN = errors.New("wrong PIN")
	// ErrLocked is returned by [Guard.Verify] once 10 wrong PINs have been
	// entered, whatever it is given, until the process restarts.
	ErrLocked = errors.New("PIN locked after 10 wrong attempts; restart the app to unlock it")
)

// delay is how long an attempt waits when failures wrong PINs came before
// it: nothing for the first five, then 1s, 2s, 4s, 8s, 10s.
func delay(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	d := firstDelay
	for i := freeFailures; i < failures && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// Verify checks pin, in which dashes and spaces are ignored, against the
// PIN. It returns nil for the right PIN, and always nil when the PIN is off.
//
// A right PIN resets the count of wrong ones. After five wrong PINs each
// attempt first waits (1s, 2s, 4s, 8s, then 10s). The tenth wrong PIN
// locks the PIN: Verify answers it, and everything after it until the
// process restarts, with [ErrLocked], and writes the lock to the Output. Attempts are taken one at a
// time, so concurrent guesses queue behind each other's delays rather than
// sharing them. If ctx ends first, Verify returns ctx.Err() and the attempt
// does not count.
//
// Input that is not nine digits is refused with an error wrapping
// [ErrWrongPIN] without counting as an attempt: it cannot be the PIN, so
// refusing it teaches a guesser nothing, and a typo should not bring the
// lock nearer.
func (g *Guard) Verify(ctx context.Context, pin string) error {
	if g.Off() {
		return nil
	}
	if g.Locked() {
		return ErrLocked
	}
	guess, ok := normalize(pin)
	if !ok {
		return fmt.Errorf("%w: a PIN is 9 digits", ErrWrongPIN)
	}

	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.turn }()

	g.mu.Lock()
	failures := g.failures
	g.mu.Unlock()
	if failures >= maxFailures {
		return ErrLocked
	}
	// Wait before comparing, so that the delay says nothing about the guess.
	if d := delay(failures); d > 0 {
		if err := g.sleep(ctx, d); err != nil {
			return err
		}
	}

	right := subtle.ConstantTimeCompare([]byte(guess), []byte(g.pin)) == 1
	g.mu.Lock()
	defer g.mu.Unlock()
	if right {
		g.failures = 0
		return nil
	}
	g.failures++
	if g.failures == maxFailures {
		fmt.Fprintln(g.out, lockedLine)
		return ErrLocked
	}
	return ErrWrongPIN
}
