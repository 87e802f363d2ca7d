package devrun

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// A held request's dial to an app that does not listen yet, but will in a
// moment, waits for it instead of failing with a refusal.
func TestDialRetryWaitsForTheApp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Skip("the freed port was taken by another process")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Skipf("a closed port answers %v here, not a refusal", err)
	}
	ready := make(chan net.Listener, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
		}
		ready <- ln
	}()
	c, err := dialRetry(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dialRetry: %v", err)
	}
	c.Close()
	if ln := <-ready; ln != nil {
		ln.Close()
	}

	// A request whose client went away stops trying.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dialRetry(ctx, "tcp", addr); err == nil {
		t.Error("dialRetry with a canceled context succeeded")
	}
}
