package natsretry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request nobody got is sent again until it is answered or the time is
// up; any other failure is not retried (it may have been received).
func TestNoResponders(t *testing.T) {
	calls := 0
	err := NoResponders(context.Background(), func() error {
		calls++
		if calls < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)

	calls = 0
	err = NoResponders(context.Background(), func() error {
		calls++
		if calls < 2 {
			return fmt.Errorf("heartbeat: %w", jetstream.ErrNoStreamResponse)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "a publish that found no stream is sent again")

	calls = 0
	err = NoResponders(context.Background(), func() error { calls++; return nats.ErrTimeout })
	assert.ErrorIs(t, err, nats.ErrTimeout)
	assert.Equal(t, 1, calls, "a timeout is not retried")

	ctx, cancel := context.WithTimeout(context.Background(), 5*Pause)
	defer cancel()
	start := time.Now()
	err = NoResponders(ctx, func() error { return nats.ErrNoResponders })
	assert.True(t, errors.Is(err, nats.ErrNoResponders), "%v", err)
	assert.Less(t, time.Since(start), 2*time.Second, "gives up when ctx ends")
}
