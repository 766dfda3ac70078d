package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// Nodes with different --event-retention: the stream keeps what the last
// one to open it set, and every node answers by that, not by its own flag:
// no 410 for events the stream has, no gap answered as if whole.
func TestStreamRetentionIsTheStreamsNotTheFlags(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	core, logs := observer.New(zap.WarnLevel)
	open := func(keep int) *events.Stream {
		return openStream(t, nc, []events.Option{events.WithRetention(keep), events.WithLogger(zap.New(core))})
	}
	small := open(5)
	large := open(1000) // the stream keeps 1000 now
	for i := range 20 {
		small.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("k-%d", i), Node: "a"})
	}
	waitNewest(t, small, 20)
	waitNewest(t, large, 20)
	ctx := context.Background()
	evs, err := small.Read(ctx, 0, 100)
	require.NoError(t, err, "the stream still has all 20")
	assert.Len(t, evs, 20)
	assert.Equal(t, uint64(1), small.Oldest())

	assert.Equal(t, 1, logs.FilterMessageSnippet("--event-retention differs").Len(), "the second node's start says so")
	open(5) // the stream keeps 5 now: 16..20
	// Oldest asks NATS nothing (the webhook's lag reads it): the stream's
	// announcement of its update is what tells a following node.
	require.Eventually(t, func() bool { return large.Oldest() == 16 }, 5*time.Second, 10*time.Millisecond,
		"a node of --event-retention 1000 goes by what the stream keeps")
	_, err = large.Read(ctx, 0, 100)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "%v", err)
	assert.Equal(t, uint64(16), gone.Oldest)
	evs, err = large.Read(ctx, 15, 100)
	require.NoError(t, err)
	require.Len(t, evs, 5)
	assert.Equal(t, uint64(16), evs[0].Seq)
}
