package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// IDENTITY.md: DELETE of a credential or a ban answers 204, or 404. Two
// operators deleting one key through two nodes at once: one delete, one
// 404 and one event, as on one node. Before, both answered 204 and the
// log had the delete twice.
func TestConcurrentDeletesThroughTwoNodesDeleteOnce(t *testing.T) {
	url := runNATS(t)
	nodes := []*testNode{
		startNodeOpts(t, url, "do-1", node.WithEventRetention(10000)),
		startNodeOpts(t, url, "do-2", node.WithEventRetention(10000)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	both := func(del func(*testNode) error) (deleted, notFound int) {
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { errs[i] = del(n) })
		}
		wg.Wait()
		for _, err := range errs {
			var status *admin.StatusError
			switch {
			case err == nil:
				deleted++
			case errors.As(err, &status) && status.Status == http.StatusNotFound:
				notFound++
			default:
				t.Errorf("neither deleted nor not found: %v", err)
			}
		}
		return deleted, notFound
	}
	const rounds = 10
	for i := range rounds {
		cid := "do-cred-" + strconv.Itoa(i)
		cred, err := nodes[0].api.CreateCredential(ctx, cid, "")
		require.NoError(t, err)
		eventually(t, func() bool {
			_, err := nodes[1].api.GetCredential(ctx, cid)
			return err == nil
		}, "do-2 holds %s's credential", cid)
		// Its session, on either node, ends once, after the delete's event
		// (the node whose delete lost closes as for another node's change).
		c, line := answer(t, nodes[i%2].srv.Addr(), cred.Secret, cid)
		requireConnected(t, line)
		t0 := time.Now()
		deleted, notFound := both(func(n *testNode) error { return n.api.DeleteCredential(ctx, cid) })
		assert.Equal(t, [2]int{1, 1}, [2]int{deleted, notFound}, "round %d: deleted, not found", i)
		closedWithin(t, c, "190 "+protocol.ReasonRevoked.String(), t0, 2*time.Second)
		ev := nodetest.EventsOf(t, ctx, nodes[0].api, cid, identity.EventCredentialDeleted, events.TypeDisconnected)
		assert.Less(t, ev[identity.EventCredentialDeleted].Seq, ev[events.TypeDisconnected].Seq,
			"round %d: the disconnect came before the delete that caused it", i)
	}
	for i := range rounds {
		cid := "do-ban-" + strconv.Itoa(i)
		_, err := nodes[0].api.CreateBan(ctx, admin.BanRequest{Kind: identity.KindCID, Value: cid})
		require.NoError(t, err)
		eventually(t, func() bool {
			_, ok := nodes[1].n.Identity().Ban(identity.BanKey{Kind: identity.KindCID, Value: cid})
			return ok
		}, "do-2 holds %s's ban", cid)
		deleted, notFound := both(func(n *testNode) error { return n.api.DeleteBan(ctx, identity.KindCID, cid) })
		assert.Equal(t, [2]int{1, 1}, [2]int{deleted, notFound}, "round %d: deleted, not found", i)
	}
	for i := range rounds {
		for prefix, typ := range map[string]string{"do-cred-": identity.EventCredentialDeleted, "do-ban-": identity.EventBanDeleted} {
			cid := prefix + strconv.Itoa(i)
			evs := eventsOfCID(t, ctx, nodes[0].api, cid, 2)
			if prefix == "do-cred-" {
				evs = eventsOfCID(t, ctx, nodes[0].api, cid, 4) // and its session's connect and disconnect
			}
			n := 0
			for _, ev := range evs {
				if ev.Type == typ {
					n++
				}
			}
			assert.Equal(t, 1, n, "%s events of %s: %v", typ, cid, evs)
		}
	}
	for _, n := range nodes {
		assert.Zero(t, n.n.Identity().StoreErrors(), "%s: a 404 is not a store fault", n.id)
	}
}
