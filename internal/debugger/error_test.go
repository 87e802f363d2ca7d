package debugger

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A timeout seen through the API is the context's own error, as callers
// test for it with errors.Is; the message stays what the page shows.
func TestErrorKeepsItsCause(t *testing.T) {
	a := &Agent{panics: map[string]*record{"p1": {snapDone: make(chan struct{})}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err := a.Snapshot(ctx, "p1")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTimeout {
		t.Fatalf("Snapshot past its deadline: %v, want a *Error with code %s", err, CodeTimeout)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	if e.Msg != "waiting for the snapshot: context deadline exceeded" {
		t.Errorf("message %q", e.Msg)
	}
	if err := errorf(CodeEval, "no cause: %v", "x"); err.Unwrap() != nil {
		t.Errorf("an error made without %%w has cause %v", err.Unwrap())
	}
}
