package nodetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// EventsOf waits up to 10 s for one event of each of types among cid's in
// the log api reads, and returns them by type; an event of a type that
// comes twice fails the test at the deadline (events are not taken back).
// The checks go to a CollectT: the condition runs on a goroutine of its
// own, where t's FailNow must not be called.
func EventsOf(t testing.TB, ctx context.Context, api *admin.Client, cid string, types ...string) map[string]events.Event {
	t.Helper()
	var got map[string]events.Event
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		page, err := api.Events(ctx, nil, 100, admin.EventsFilter{CID: cid, Types: types}, 0)
		require.NoError(c, err)
		got = map[string]events.Event{}
		for _, e := range page.Events {
			_, twice := got[e.Type]
			require.False(c, twice, "two %s of %s: %v", e.Type, cid, page.Events)
			got[e.Type] = e
		}
		assert.Len(c, got, len(types), "the events of %s: %v", cid, got)
	}, 10*time.Second, 10*time.Millisecond)
	return got
}
