package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// EVENTS.md: "Events of one client ID appear in the order they
// happened." An operator's ban of a live client's ID, or the deletion of
// its credential, is what closes its session: its ban.created (or
// credential.deleted) must come before that session's client.disconnected.
// The service closed the session before it reported the change, and the
// disconnect took the lower seq in 8 to 12 of 20 tries.
func TestIdentityEventsComeBeforeTheDisconnectsTheyCause(t *testing.T) {
	const rounds = 20
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(100000),
		node.WithIdentityOptions(identity.WithFlapping(3, time.Minute, time.Minute)))
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for i := range rounds {
		cid := fmt.Sprintf("order-ban-%d", i)
		c := testkit.Dial(t, n.Addr())
		c.Register(nodetest.Password, cid)
		_, err := api.CreateBan(ctx, admin.BanRequest{Kind: identity.KindCID, Value: cid, Reason: "order test"})
		require.NoError(t, err)
		c.ExpectClosed("190 " + protocol.ReasonBanned.String())
		byType := nodetest.EventsOf(t, ctx, api, cid, identity.EventBanCreated, events.TypeDisconnected)
		assert.Equal(t, protocol.ReasonBanned.String(), *byType[events.TypeDisconnected].Reason)
		assert.Less(t, byType[identity.EventBanCreated].Seq, byType[events.TypeDisconnected].Seq,
			"round %d: the disconnect came before the ban that caused it", i)
	}
	for i := range rounds {
		cid := fmt.Sprintf("order-cred-%d", i)
		cred, err := api.CreateCredential(ctx, cid, "")
		require.NoError(t, err)
		c := testkit.Dial(t, n.Addr())
		c.Register(cred.Secret, cid)
		require.NoError(t, api.DeleteCredential(ctx, cid))
		c.ExpectClosed("190 " + protocol.ReasonRevoked.String())
		byType := nodetest.EventsOf(t, ctx, api, cid, identity.EventCredentialDeleted, events.TypeDisconnected)
		assert.Equal(t, protocol.ReasonRevoked.String(), *byType[events.TypeDisconnected].Reason)
		assert.Less(t, byType[identity.EventCredentialDeleted].Seq, byType[events.TypeDisconnected].Seq,
			"round %d: the disconnect came before the delete that caused it", i)
	}

	// A flapping ban closes nothing: the third registration (each one
	// replacing the one before) is admitted, starts the ban and stays
	// connected; its ban.created comes before its client.connected.
	const cid = "order-flapper"
	for range 3 {
		testkit.Dial(t, n.Addr()).Register(nodetest.Password, cid)
	}
	var evs []events.Event
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		page, err := api.Events(ctx, nil, 100, admin.EventsFilter{CID: cid}, 0)
		if !assert.NoError(c, err) {
			return
		}
		evs = page.Events
		assert.True(c, count(evs, events.TypeConnected) == 3 && count(evs, events.TypeDisconnected) == 2,
			"the flapper's events: %v", evs)
	}, 5*time.Second, 10*time.Millisecond, "3 connects and 2 disconnects of the flapper")
	var banSeq, connectedSeq uint64
	for _, e := range evs {
		switch e.Type {
		case identity.EventBanCreated:
			assert.Equal(t, identity.ByFlapping, e.By)
			banSeq = e.Seq
		case events.TypeConnected:
			connectedSeq = e.Seq // the last
		case events.TypeDisconnected:
			assert.Equal(t, protocol.ReasonReplaced.String(), *e.Reason, "only takeovers end its sessions")
		}
	}
	require.NotZero(t, banSeq, "no flapping ban: %v", evs)
	assert.Less(t, banSeq, connectedSeq, "the ban starts with the registration that reached the limit")
	rec, ok := n.Registry().Get(cid)
	require.True(t, ok)
	assert.True(t, rec.CStatus, "the flapping ban left the connected session alone")
	_, line := dialAndAnswer(t, n.Addr(), cid)
	assert.Equal(t, "190 "+protocol.ReasonBanned.String(), line, "a new registration is refused")
}

func count(evs []events.Event, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// dialAndAnswer sends both handshake answers at once and returns the line
// after "120 id".
func dialAndAnswer(t *testing.T, addr, cid string) (*testkit.RawClient, string) {
	t.Helper()
	c := testkit.Dial(t, addr)
	c.Send("110 " + nodetest.Password + "\n120 " + cid + "\n")
	c.Expect("110 password")
	c.Expect("120 id")
	return c, c.ReadLine()
}
