package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// A client ID bouncing between two nodes (two devices on one ID behind a
// balancer) is banned at --flap-limit registrations in the cluster, as on
// one node: each node counts the others' registrations as their records
// reach it (IDENTITY.md: "registrations of one client ID within
// --flap-window"). Counted per node, it took twice the limit here, N
// times on N nodes.
func TestFlappingCountsTheClustersRegistrations(t *testing.T) {
	url := runNATS(t)
	flap := node.WithIdentityOptions(identity.WithFlapping(4, time.Minute, time.Minute))
	nodes := []*testNode{startNodeOpts(t, url, "fl-1", flap), startNodeOpts(t, url, "fl-2", flap)}
	const cid = "fl-dev"
	for i := range 4 { // the fourth reaches the limit and is still admitted
		at, other := nodes[i%2], nodes[(i+1)%2]
		register(t, at.srv.Addr(), cid)
		eventually(t, func() bool {
			for _, r := range other.listAll(t, "connected", 0) {
				if r.CID == cid && r.Node == at.id {
					return true
				}
			}
			return false
		}, "registration %d on %s reaches %s", i+1, at.id, other.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eventually(t, func() bool {
		bans, err := nodes[0].api.ListBans(ctx, identity.KindCID, 0, "")
		require.NoError(t, err)
		for _, b := range bans.Bans {
			if b.Value == cid && b.By == identity.ByFlapping {
				return true
			}
		}
		return false
	}, "the flapping ban holds on %s", nodes[0].id)
	_, line := answer(t, nodes[0].srv.Addr(), testPassword, cid)
	assert.Equal(t, "190 "+protocol.ReasonBanned.String(), line, "a fifth registration")
}
