package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panicroom/panicroom/internal/debugapi"
)

// A timeout seen through the API is the context's own error, as callers
// test for it with errors.Is; the message stays what the page shows.
func TestErrorKeepsItsCause(t *testing.T) {
	a := &Client{panics: map[string]*record{"p1": {snapDone: make(chan struct{})}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err := a.Snapshot(ctx, "p1")
	var e *debugapi.Error
	if !errors.As(err, &e) || e.Code != debugapi.CodeTimeout {
		t.Fatalf("Snapshot past its deadline: %v, want a *Error with code %s", err, debugapi.CodeTimeout)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	if e.Msg != "waiting for the snapshot: context deadline exceeded" {
		t.Errorf("message %q", e.Msg)
	}
	if err := debugapi.Errorf(debugapi.CodeEval, "no cause: %v", "x"); err.Unwrap() != nil {
		t.Errorf("an error made without %%w has cause %v", err.Unwrap())
	}
}
