package client

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// Helpers for the tests of Run, shared by the scripted-server tests
// (run_test.go) and the real-reactor tests (reactor_test.go).

// eventLog collects Run's events for assertions.
type eventLog struct{ testkit.List[Event] }

func (l *eventLog) connected() (n int) {
	for _, e := range l.All() {
		if _, ok := e.(Connected); ok {
			n++
		}
	}
	return n
}

func (l *eventLog) retries() (in []time.Duration) {
	for _, e := range l.All() {
		if r, ok := e.(Retrying); ok {
			in = append(in, r.In)
		}
	}
	return in
}

// runAsync starts Run and returns a channel with its result.
func runAsync(ctx context.Context, cfg Config, b Backoff, l *eventLog) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, b, l.Add) }()
	return done
}

// runWarning runs Run with cfg, its warnings observed, until until holds
// of them (polled within within), then stops it; it returns the warnings,
// Run's events and its result.
func runWarning(t *testing.T, cfg Config, b Backoff, within time.Duration, until func(*observer.ObservedLogs) bool) (
	*observer.ObservedLogs, *eventLog, error) {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	cfg.Logger = zap.New(core)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, cfg, b, &l)
	require.Eventually(t, func() bool { return until(logs) }, within, 5*time.Millisecond)
	cancel()
	return logs, &l, <-done
}

// retriesOf runs Run against addr until it has waited n times (within
// the deadline), stops it, and returns its waits.
func retriesOf(t *testing.T, addr string, b Backoff, n int, within time.Duration) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, testConfig(addr), b, &l)
	require.Eventually(t, func() bool { return len(l.retries()) >= n }, within, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	return l.retries()
}
