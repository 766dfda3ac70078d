package client

import (
	"context"
	"time"

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
