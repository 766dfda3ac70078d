package node_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// On a single node every client event names the node (EVENTS.md: "node",
// the node that held the session), and so do the sessions of a client's
// history; they named none, history said "node": "".
func TestSingleNodeEventsNameTheNode(t *testing.T) {
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(100), node.WithNodeID("n1"))
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	ctx := context.Background()

	first := testkit.Dial(t, n.Addr())
	first.Register(nodetest.Password, "named-1")
	second := testkit.Dial(t, n.Addr())
	second.Register(nodetest.Password, "named-1") // a takeover: the first's "replaced"
	first.ExpectClosed("190 replaced")
	_, err = api.Shutdown(ctx, "named-1", "for the test")
	require.NoError(t, err)
	second.Expect("130 shutdown for the test")
	second.Send("130 ok\n")
	second.ExpectClosed()

	var evs []events.Event
	require.Eventually(t, func() bool {
		zero := uint64(0)
		page, err := api.Events(ctx, &zero, 100, admin.EventsFilter{}, 0)
		evs = page.Events
		return err == nil && len(evs) >= 6
	}, 5*time.Second, 5*time.Millisecond, "the six events never reached the log")
	types := map[string]bool{}
	connected := map[string]time.Time{} // by session
	for _, ev := range evs {
		types[ev.Type] = true
		assert.Equal(t, "n1", ev.Node, "%s %d", ev.Type, ev.Seq)
		if ev.Type == events.TypeConnected {
			connected[ev.Session] = ev.Time
		}
	}
	// Each end says when its session began (EVENTS.md: connected_at,
	// reason); only an allocation test caught its loss (mutation audit).
	var reasons []string
	for _, ev := range evs {
		if ev.Type != events.TypeDisconnected {
			continue
		}
		require.NotNil(t, ev.ConnectedAt, "%d", ev.Seq)
		require.NotNil(t, ev.Reason, "%d", ev.Seq)
		assert.WithinDuration(t, connected[ev.Session], *ev.ConnectedAt, time.Second, "%d", ev.Seq)
		reasons = append(reasons, *ev.Reason)
	}
	assert.Equal(t, []string{"replaced", "shutdown"}, reasons)
	for _, typ := range []string{events.TypeConnected, events.TypeDisconnected, events.TypeShutdownSent, events.TypeShutdownAcked} {
		assert.True(t, types[typ], "no %s event", typ)
	}

	h, err := api.History(ctx, "named-1", 0)
	require.NoError(t, err)
	require.Len(t, h.Sessions, 2)
	for _, s := range h.Sessions {
		assert.Equal(t, "n1", s.Node)
	}
}

// A ban's events carry kind, value, by and reason, its deletion's too
// (EVENTS.md: `ban.created`, `ban.deleted`: kind, value, by, reason).
// Mutation audit: identityEvent dropping ban.deleted's reason survived
// every test; the binary's test checks ban.created's only.
func TestBanDeletedEventKeepsItsReason(t *testing.T) {
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(100))
	base := "http://" + n.AdminAddr()
	status, body := testkit.HTTPDo(t, http.MethodPost, base+"/v1/bans", `{"kind": "ip", "value": "192.0.2.9", "reason": "scanner"}`, nil)
	require.Less(t, status, 300, body)
	status, body = testkit.HTTPDo(t, http.MethodDelete, base+"/v1/bans/ip/192.0.2.9", "", nil)
	require.Less(t, status, 300, body)

	api, err := admin.NewClient(base, "", 5*time.Second)
	require.NoError(t, err)
	var evs []events.Event
	require.Eventually(t, func() bool {
		zero := uint64(0)
		page, err := api.Events(context.Background(), &zero, 10, admin.EventsFilter{}, 0)
		evs = page.Events
		return err == nil && len(evs) >= 2
	}, 5*time.Second, 5*time.Millisecond, "the ban's two events never reached the log")
	require.Equal(t, events.TypeBanCreated, evs[0].Type)
	require.Equal(t, events.TypeBanDeleted, evs[1].Type)
	for _, ev := range evs[:2] {
		assert.Equal(t, "ip", ev.Kind, ev.Type)
		assert.Equal(t, "192.0.2.9", ev.Value, ev.Type)
		assert.Equal(t, "operator", ev.By, ev.Type)
		if assert.NotNil(t, ev.Reason, ev.Type) {
			assert.Equal(t, "scanner", *ev.Reason, ev.Type)
		}
	}
}
