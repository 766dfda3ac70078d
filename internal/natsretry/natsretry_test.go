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
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
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

// Setup tries again a stream seen half made ("not found" just after its
// create, or its name taken by a create that crossed this one's), and a
// try that ran out of time; any other error ends it at once.
func TestSetupTriesAgainAStreamBeingPlaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, placing := range []error{jetstream.ErrStreamNotFound, jetstream.ErrStreamNameAlreadyInUse,
		fmt.Errorf("info: %w", jetstream.ErrStreamNotFound), context.DeadlineExceeded,
		&jetstream.APIError{Code: 404, ErrorCode: jetstream.JSErrCodeStreamNotFound, Description: "stream not found"}} {
		calls := 0
		v, err := Setup(ctx, func(context.Context) (int, error) {
			if calls++; calls < 3 {
				return 0, placing
			}
			return 7, nil
		})
		require.NoError(t, err, "%v", placing)
		assert.Equal(t, 7, v)
		assert.Equal(t, 3, calls, "%v", placing)
	}

	calls := 0
	_, err := Setup(ctx, func(context.Context) (int, error) { calls++; return 0, jetstream.ErrBucketExists })
	assert.ErrorIs(t, err, jetstream.ErrBucketExists)
	assert.Equal(t, 1, calls, "another error is the caller's")

	calls = 0
	_, err = Setup(context.Background(), func(context.Context) (int, error) { calls++; return 0, jetstream.ErrStreamNotFound })
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound)
	assert.Equal(t, 1, calls, "without a deadline, one try")

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	_, err = Setup(short, func(context.Context) (int, error) { return 0, jetstream.ErrStreamNotFound })
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound, "ctx's end gives the last error")
}

// Each try again is logged to SetupContext's logger, with its number and
// why, so a slow start says what it waits for (a node was silent for 23 s
// between "cluster: joined" and ready); a first try that works, or one
// that fails for good, logs nothing here (its caller says why).
func TestSetupLogsEachTryAgain(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	ctx, cancel := SetupContext(context.Background(), zap.New(core))
	defer cancel()
	deadline, ok := ctx.Deadline()
	require.True(t, ok)
	assert.InDelta(t, float64(SetupTimeout), float64(time.Until(deadline)), float64(time.Second))

	calls := 0
	_, err := Setup(ctx, func(context.Context) (int, error) {
		if calls++; calls < 3 {
			return 0, context.DeadlineExceeded
		}
		return 1, nil
	})
	require.NoError(t, err)
	tries := logs.FilterMessageSnippet("trying again").All()
	require.Len(t, tries, 2)
	for i, e := range tries {
		assert.Equal(t, zapcore.InfoLevel, e.Level)
		assert.EqualValues(t, i+1, e.ContextMap()["try"])
		assert.Equal(t, context.DeadlineExceeded.Error(), e.ContextMap()["error"])
	}

	_, err = Setup(ctx, func(context.Context) (int, error) { return 0, jetstream.ErrBucketExists })
	require.Error(t, err)
	_, err = Setup(ctx, func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, 2, logs.Len(), "only tries again are logged")
}
