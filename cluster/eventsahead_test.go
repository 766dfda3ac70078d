package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/node"
)

// A cursor past the stream's newest seq is another log's (the stream
// made anew under its readers): a cluster node asks the stream's leader,
// and answers 410 with "newest", as a single node does. A cursor its own
// copy has not reached but the stream has is not one: the node waits.
// Before, every cluster node answered such a cursor empty, a long-poll
// waited out its wait, and `cliser events tail` sat silent (cluster audit).
func TestClusterEventsGoneForACursorPastTheStreamsNewest(t *testing.T) {
	url := runNATS(t)
	n1 := startNodeOpts(t, url, "ea-1", node.WithEventRetention(1000))
	register(t, n1.srv.Addr(), "ea-dev")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := eventsOfCID(t, ctx, n1.api, "ea-dev", 1)
	newest := got[len(got)-1].Seq

	page, err := n1.api.Events(ctx, &newest, 10, admin.EventsFilter{}, 0)
	require.NoError(t, err, "a cursor at the newest is no other log's")
	assert.Empty(t, page.Events)
	past := newest + 1000
	_, err = n1.api.Events(ctx, &past, 10, admin.EventsFilter{}, 0)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "a cursor past the stream's newest: %v", err)
	assert.True(t, gone.Ahead)
	assert.Equal(t, newest, gone.Newest)
}
