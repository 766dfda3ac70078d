package testkit

import (
	"context"
	"testing"
	"time"
)

// StopTimeout is how long a server a test started may take to stop when
// the test ends.
const StopTimeout = 5 * time.Second

// StopAtEnd calls stop when the test ends, with StopTimeout to finish. Its
// error is dropped: a test that checks how a server stops calls stop
// itself (a second Stop is then a no-op).
func StopAtEnd(t testing.TB, stop func(context.Context) error) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		_ = stop(ctx)
	})
}

// Context returns a context that ends after d, or when the test ends if
// that is sooner: the bound of one whole run a test makes.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
