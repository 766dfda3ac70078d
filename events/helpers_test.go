package events_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// logPath is where a test's own event log goes: events.FileName in a
// fresh temp dir.
func logPath(t testing.TB) string { return filepath.Join(t.TempDir(), events.FileName) }

// openStream opens a node's view of the event stream over nc, closed when
// the test ends.
func openStream(t testing.TB, nc *nats.Conn, opts []events.Option, sopts ...events.StreamOption) *events.Stream {
	t.Helper()
	s, err := events.OpenStream(nc, opts, sopts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waiting runs r.Wait(after) on a goroutine of its own, bounded at 10s, and
// hands back its result: the test appends, then reads the channel.
func waiting(r events.Reader, after uint64) <-chan error {
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got <- r.Wait(ctx, after)
	}()
	return got
}
