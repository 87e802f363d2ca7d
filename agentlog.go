//go:build !panicroom_off

package panicroom

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
)

// The debugger's helper is the process's, and its events (attached, died
// and restarted, a long stop of the app) concern every Debugger: each goes
// to the logger of every open one, once per distinct logger, rather than
// only to the first New's.

// agentLoggers are the loggers of the open Debuggers, oldest first. It is
// not under shared.mu: the agent logs while that lock is held (at Start,
// and while it stops in dropAgent).
var agentLoggers atomic.Pointer[[]*slog.Logger]

// setAgentLoggers records the loggers of open, without repeats.
func setAgentLoggers(open []*Debugger) {
	var ls []*slog.Logger
	for _, d := range open {
		if !slices.Contains(ls, d.cfg.logger) {
			ls = append(ls, d.cfg.logger)
		}
	}
	agentLoggers.Store(&ls)
}

// agentLog is the agent's slog.Handler. ops are the WithAttrs and
// WithGroup calls made on it, replayed on each logger's handler.
type agentLog struct {
	ops []func(slog.Handler) slog.Handler
}

func (h *agentLog) targets(ctx context.Context, level slog.Level) []slog.Handler {
	p := agentLoggers.Load()
	if p == nil {
		return nil
	}
	var out []slog.Handler
	for _, l := range *p {
		if t := l.Handler(); t.Enabled(ctx, level) {
			out = append(out, t)
		}
	}
	return out
}

func (h *agentLog) Enabled(ctx context.Context, level slog.Level) bool {
	return len(h.targets(ctx, level)) > 0
}

func (h *agentLog) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, t := range h.targets(ctx, r.Level) {
		for _, op := range h.ops {
			t = op(t)
		}
		if err := t.Handle(ctx, r.Clone()); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *agentLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &agentLog{ops: append(slices.Clip(h.ops), func(t slog.Handler) slog.Handler { return t.WithAttrs(as) })}
}

func (h *agentLog) WithGroup(name string) slog.Handler {
	return &agentLog{ops: append(slices.Clip(h.ops), func(t slog.Handler) slog.Handler { return t.WithGroup(name) })}
}
