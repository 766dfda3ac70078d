package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A read's request that nobody got is sent again until it is answered or
// the read's time is up; any other failure is not retried (it may have
// been received).
func TestRetryNoResponders(t *testing.T) {
	calls := 0
	err := retryNoResponders(context.Background(), func() error {
		calls++
		if calls < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)

	calls = 0
	err = retryNoResponders(context.Background(), func() error { calls++; return nats.ErrTimeout })
	assert.ErrorIs(t, err, nats.ErrTimeout)
	assert.Equal(t, 1, calls, "a timeout is not retried")

	ctx, cancel := context.WithTimeout(context.Background(), 5*noResponderPause)
	defer cancel()
	start := time.Now()
	err = retryNoResponders(ctx, func() error { return nats.ErrNoResponders })
	assert.True(t, errors.Is(err, nats.ErrNoResponders), "%v", err)
	assert.Less(t, time.Since(start), 2*time.Second, "gives up when ctx ends")
}
