package cluster_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
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
	flappingBanHolds(t, nodes[0], cid)
}

// A device in a crash loop registers and is gone before its node's next
// flush: the record that reaches the other nodes is already disconnected.
// It is a registration all the same, and counts toward --flap-limit on
// every node. Before, only a record still connected when it reached a
// node was counted, so a crash loop across two nodes took twice the limit.
func TestFlappingCountsRegistrationsGoneBeforeTheFlush(t *testing.T) {
	url := runNATS(t)
	// A flush interval long against the client's register-and-close, so
	// that the record every flush carries is the disconnected one.
	opts := []node.Option{node.WithIdentityOptions(identity.WithFlapping(4, time.Minute, time.Minute)),
		node.WithRegistryOptions(registry.WithFlushInterval(300 * time.Millisecond))}
	nodes := []*testNode{startNodeOpts(t, url, "flc-1", opts...), startNodeOpts(t, url, "flc-2", opts...)}
	const cid = "flc-dev"
	for i := range 4 { // the fourth reaches the limit and is still admitted
		at, other := nodes[i%2], nodes[(i+1)%2]
		c := register(t, at.srv.Addr(), cid)
		port := strconv.Itoa(c.Conn.LocalAddr().(*net.TCPAddr).Port)
		require.NoError(t, c.Conn.Close())
		eventually(t, func() bool {
			for _, r := range other.listAll(t, "", 0) {
				if r.CID == cid && r.Node == at.id && r.CPort == port {
					return !r.CStatus
				}
			}
			return false
		}, "registration %d on %s reaches %s, disconnected", i+1, at.id, other.id)
	}
	flappingBanHolds(t, nodes[0], cid)
}

// A registration reaches the other nodes twice, connected and then ended
// (the same registration's revision, from its holder): it is counted
// once. Counted at its end too, two registrations on fle-1 took fle-2 to
// the limit of four with its own next one, the third.
func TestFlappingCountsARegistrationNotItsEnd(t *testing.T) {
	url := runNATS(t)
	flap := node.WithIdentityOptions(identity.WithFlapping(4, time.Minute, time.Minute))
	n1, n2 := startNodeOpts(t, url, "fle-1", flap), startNodeOpts(t, url, "fle-2", flap)
	const cid = "fle-dev"
	for i := range 2 {
		c := register(t, n1.srv.Addr(), cid)
		port := strconv.Itoa(c.Conn.LocalAddr().(*net.TCPAddr).Port)
		seen := func(connected bool) func() bool {
			return func() bool {
				for _, r := range n2.listAll(t, "", 0) {
					if r.CID == cid && r.CPort == port {
						return r.CStatus == connected
					}
				}
				return false
			}
		}
		eventually(t, seen(true), "registration %d on fle-1 reaches fle-2", i+1)
		require.NoError(t, c.Conn.Close())
		eventually(t, seen(false), "registration %d's end reaches fle-2", i+1)
	}
	register(t, n2.srv.Addr(), cid) // the third: its ban is held at once if it reached the limit
	assert.False(t, hasFlappingBan(t, n2, cid), "fle-2 counted each registration's end as one more")
}

// flappingBanHolds waits for n to hold a flapping ban of cid, and checks
// that a fifth registration there is refused.
func flappingBanHolds(t *testing.T, n *testNode, cid string) {
	t.Helper()
	eventually(t, func() bool { return hasFlappingBan(t, n, cid) }, "the flapping ban holds on %s", n.id)
	_, line := answer(t, n.srv.Addr(), testPassword, cid)
	assert.Equal(t, "190 "+protocol.ReasonBanned.String(), line, "a fifth registration")
}

// hasFlappingBan is whether n lists a flapping ban of cid.
func hasFlappingBan(t *testing.T, n *testNode, cid string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bans, err := n.api.ListBans(ctx, identity.KindCID, 0, "")
	require.NoError(t, err)
	for _, b := range bans.Bans {
		if b.Value == cid && b.By == identity.ByFlapping {
			return true
		}
	}
	return false
}
